"""The mos.ru side of the emulator: an OpenID Connect provider under ``/sps/`` (ESIA.md,
"mos.ru"): authorize ``/sps/oauth/ae`` with PKCE S256, token ``/sps/oauth/te`` with HTTP Basic
client authentication, userinfo ``/sps/oauth/me``, keys ``/sps/oauth/jwks``. The callback
carries ``iss`` (RFC 9207). Profile claims: e-mail, mobile phone, СНИЛС, name.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from joserfc import jwt

from .misbehaviour import iat_ahead
from .state import State

bp = Blueprint("mosru", __name__, url_prefix="/sps")

CODE_TTL = 300
TOKEN_TTL = 3600


@dataclass
class OidcClient:
    client_id: str
    secret: str
    redirect_uris: frozenset[str]
    issuer: str


def _config():
    return current_app.config["MOSRU"]


def _store() -> State:
    return current_app.extensions["emulator_state"]


def _error_page(message: str, status: int = 400):
    return render_template("error.html", error=message), status


def _back(redirect_uri: str, state: str, **params):
    return redirect(f"{redirect_uri}?{urlencode({**params, 'state': state})}")


@bp.get("/oauth/ae")
def authorize():
    args = request.args.to_dict()
    client = _config()["clients"].get(args.get("client_id", ""))
    if client is None:
        return _error_page("invalid_client: неизвестная система")
    if args.get("redirect_uri") not in client.redirect_uris:
        return _error_page("invalid_request: адрес перенаправления не зарегистрирован")
    state = args.get("state", "")
    problems = []
    if args.get("response_type") != "code":
        problems.append("response_type must be code")
    if "openid" not in args.get("scope", "").split():
        problems.append("scope must include openid")
    if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
        problems.append("PKCE S256 is required")
    if problems:
        return _back(args["redirect_uri"], state, error="invalid_request",
                     error_description="; ".join(problems), iss=client.issuer)  # fmt: skip
    request_id = _store().begin(args, CODE_TTL)
    return redirect(url_for("mosru.picker", request_id=request_id))


@bp.get("/login/<request_id>")
def picker(request_id: str):
    _store().waiting(request_id)
    accounts = current_app.config["PERSONAS"].mosru.values()
    return render_template("mosru_picker.html", request_id=request_id, accounts=accounts)


@bp.post("/login/<request_id>")
def choose(request_id: str):
    pending = _store().waiting(request_id)
    account = current_app.config["PERSONAS"].mosru.get(request.form.get("persona", ""))
    if account is None:
        abort(400)
    client = _config()["clients"][pending["client_id"]]
    code = secrets.token_urlsafe(32)
    if _store().pop("login", request_id) is None:  # finished twice: one code only
        abort(404)
    _store().put("code", code, {**pending, "sub": account.sub}, CODE_TTL)
    return _back(pending["redirect_uri"], pending.get("state", ""), code=code, iss=client.issuer)


def _client_from_basic_auth() -> OidcClient | None:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return None
    client = _config()["clients"].get(auth.username or "")
    if client is None or not secrets.compare_digest(client.secret, auth.password or ""):
        return None
    return client


def _token_error(error: str, description: str, status: int = 400):
    return jsonify(error=error, error_description=description), status


@bp.post("/oauth/te")
def token():
    client = _client_from_basic_auth()
    if client is None:
        return _token_error("invalid_client", "client authentication failed", 401)
    form = request.form
    grant = _store().claim("code", form.get("code", ""))
    if grant is None:
        return _token_error("invalid_grant", "code unknown, used or expired")
    if grant["client_id"] != client.client_id or grant["redirect_uri"] != form.get("redirect_uri"):
        return _token_error("invalid_grant", "code issued to another client or redirect_uri")
    verifier = form.get("code_verifier", "").encode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
    if not verifier or challenge != grant["code_challenge"]:
        return _token_error("invalid_grant", "PKCE verification failed")
    now = int(time.time())
    claims = {"iss": client.issuer, "aud": client.client_id, "sub": grant["sub"],
              "iat": now + iat_ahead(),
              "exp": now + TOKEN_TTL, "auth_time": now}  # fmt: skip
    if grant.get("nonce"):
        claims["nonce"] = grant["nonce"]
    key, kid = _config()["signing_key"], _config()["kid"]
    rotated = current_app.extensions["misbehaviour"].signing_key
    if rotated is not None:
        key, kid = rotated, rotated.kid
    id_token = jwt.encode({"alg": "RS256", "typ": "JWT", "kid": kid}, claims, key)
    access_token = secrets.token_urlsafe(32)
    _store().put("token", access_token, {"sub": grant["sub"]}, TOKEN_TTL)
    return jsonify(access_token=access_token, id_token=id_token, token_type="Bearer",
                   expires_in=TOKEN_TTL, scope=grant.get("scope", ""))  # fmt: skip


@bp.get("/oauth/me")
def userinfo():
    header = request.headers.get("Authorization", "")
    grant = _store().get("token", header[7:]) if header.startswith("Bearer ") else None
    if grant is None:
        return _token_error("invalid_token", "unknown or expired token", 401)
    account = current_app.config["PERSONAS"].by_sub(grant["sub"])
    human = account.human
    claims = {"sub": account.sub, "family_name": human.last, "given_name": human.first,
              "middle_name": human.middle, "birthdate": human.birth_date.isoformat(),
              "snils": human.snils}  # fmt: skip
    if account.email:
        claims.update(email=account.email, email_verified=True)
    if account.phone:
        claims.update(phone_number=account.phone, phone_number_verified=True)
    return jsonify(claims)


@bp.get("/oauth/jwks")
def jwks():
    published = current_app.extensions["misbehaviour"].published_keys
    if published is not None:
        return jsonify(keys=[{**key.as_dict(private=False), "use": "sig", "alg": "RS256"}
                             for key in published])  # fmt: skip
    public = _config()["signing_key"].as_dict(private=False)
    return jsonify(keys=[{**public, "kid": _config()["kid"], "use": "sig", "alg": "RS256"}])

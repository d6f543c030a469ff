"""The ESIA (Госуслуги) side of the emulator: ESIA's endpoints, its checks and its errors.

It verifies what the real ESIA verifies — the client's certificate hash, the GOST signature in
``client_secret``, the request time, the registered ``redirect_uri``, one-time codes — and
answers with ESIA's error codes (ESIA.md). Its login is a persona picker, and the first
login of a persona to a system shows the rights screen «Предоставление прав доступа».
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry

from app.identity.esia import protocol
from app.identity.esia.gost import certificate_hash

from .misbehaviour import iat_ahead
from .personas import EsiaAccount
from .state import FOREVER, State

bp = Blueprint("esia", __name__)

JWS = JWSRegistry(strict_check_header=False, algorithms=["RS256"])
CODE_TTL = 300
TOKEN_TTL = 3600
AUTHORIZE_REQUIRED = (
    "client_id", "client_secret", "redirect_uri", "scope", "response_type", "state",
    "timestamp", "client_certificate_hash",
)  # fmt: skip
TOKEN_REQUIRED = (
    "client_id", "code", "grant_type", "client_certificate_hash", "client_secret", "state",
    "redirect_uri", "scope", "timestamp", "token_type",
)  # fmt: skip

# The rights screen lists each scope in the seeds' words (000); the rest in the same manner.
SCOPE_RIGHTS = {
    "email": "Просмотр вашего адреса электронной почты",
    "openid": "Проведение входа в систему",
    "inn": "Просмотр вашего ИНН",
    "kid_inn": "Просмотр ИНН ребенка",
    "snils": "Просмотр вашего СНИЛС",
    "fullname": "Просмотр вашей фамилии, имени и отчества",
    "kid_birthdate": "Просмотр даты рождения ребёнка",
    "kid_snils": "Просмотр СНИЛС ребёнка",
    "kid_fullname": "Просмотр фамилии, имени, отчества (при наличии) ребёнка",
    "mobile": "Просмотр номера вашего мобильного телефона",
    "birthdate": "Просмотр вашей даты рождения",
    "gender": "Просмотр вашего пола",
    "contacts": "Просмотр ваших контактных данных",
    "birth_cert_doc": "Просмотр данных вашего свидетельства о рождении",
    "kid_birth_cert_doc": "Просмотр данных свидетельства о рождении ребёнка",
}
DEFAULT_SYSTEM_NAME = (
    'Комплексная информационная система "Государственные услуги в сфере образования '
    'в электронном виде"'
)


@dataclass
class Client:
    client_id: str
    certificate: bytes
    redirect_uris: frozenset[str]
    name: str = DEFAULT_SYSTEM_NAME
    certificate_hash: str = ""

    def __post_init__(self):
        self.certificate_hash = certificate_hash(self.certificate)


@dataclass
class Grant:
    client_id: str
    oid: str
    scopes: tuple[str, ...]
    redirect_uri: str
    session_id: str
    expires: float
    used: bool = False
    # PKCE (RFC 7636): the challenge the authorization request carried, if any.
    code_challenge: str | None = None


def _config():
    return current_app.config["ESIA"]


def _store() -> State:
    return current_app.extensions["emulator_state"]


def _rights_key(client_id: str, oid: str) -> str:
    return f"{client_id} {oid}"


class EsiaError(Exception):
    def __init__(self, code: str, oauth_error: str = "invalid_request"):
        self.code, self.oauth_error = code, oauth_error
        super().__init__(protocol.error_description(code))


def _check_time(timestamp: str) -> None:
    try:
        moment = protocol.parse_timestamp(timestamp)
    except ValueError:
        raise EsiaError("007015") from None
    if abs((datetime.now(UTC) - moment).total_seconds()) > _config()["max_skew_seconds"]:
        raise EsiaError("007015")


def _check_signed(client: Client, params: dict[str, str], message: bytes) -> None:
    presented = params["client_certificate_hash"]
    if len(presented) == 40:  # a SHA-1 thumbprint instead of Streebog-256
        raise EsiaError("007053", "invalid_client")
    if presented != client.certificate_hash:
        raise EsiaError("007002", "invalid_client")
    _check_time(params["timestamp"])
    try:
        signature = protocol.b64url_decode(params["client_secret"])
    except ValueError:
        raise EsiaError("007053", "invalid_client") from None
    if not current_app.extensions["gost_verifier"].verify(client.certificate, message, signature):
        raise EsiaError("007053", "invalid_client")


def _client(client_id: str) -> Client:
    client = _config()["clients"].get(client_id)
    if client is None:
        raise EsiaError("007002", "invalid_client")
    return client


def _back_to_client(redirect_uri: str, state: str, **params: str):
    return redirect(f"{redirect_uri}?{urlencode({**params, 'state': state})}")


def _error_page(error: EsiaError, status: int = 400):
    return render_template("error.html", error=error), status


# --- authorization ------------------------------------------------------------------------


@bp.get("/aas/oauth2/v2/ac")
def authorize():
    params = request.args.to_dict()
    params.setdefault("scope_org", "")
    try:
        if any(not params.get(name) for name in AUTHORIZE_REQUIRED):
            raise EsiaError("007014")
        client = _client(params["client_id"])
        if params["redirect_uri"] not in client.redirect_uris:
            raise EsiaError("007023")
    except EsiaError as error:
        # Without a registered redirect_uri there is nobody to send the error back to.
        return _error_page(error)
    try:
        if params["response_type"] != "code" or not protocol.is_state(params["state"]):
            raise EsiaError("007014")
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            raise EsiaError("007014")
        _check_signed(client, params, protocol.authorize_message(params))
    except EsiaError as error:
        return _back_to_client(
            params["redirect_uri"],
            params.get("state", ""),
            error=error.oauth_error,
            error_description=str(error),
        )
    request_id = _store().begin(params, CODE_TTL)
    if session.get("oid"):
        return _after_login(request_id)
    return redirect(url_for("esia.picker", request_id=request_id))


@bp.get("/login/<request_id>")
def picker(request_id: str):
    _store().waiting(request_id)
    personas = current_app.config["PERSONAS"].esia.values()
    return render_template("picker.html", request_id=request_id, personas=personas)


@bp.post("/login/<request_id>")
def choose(request_id: str):
    _store().waiting(request_id)
    account = current_app.config["PERSONAS"].esia.get(request.form.get("persona", ""))
    if account is None:
        abort(400)
    session.clear()
    session["oid"] = account.oid
    session["sid"] = secrets.token_hex(16)
    return _after_login(request_id)


def _account() -> EsiaAccount:
    account = current_app.config["PERSONAS"].by_oid(session.get("oid", ""))
    if account is None:
        abort(401)
    return account


def _after_login(request_id: str):
    params = _store().waiting(request_id)
    if _store().get("rights", _rights_key(params["client_id"], session["oid"])) is None:
        return redirect(url_for("esia.rights", request_id=request_id))
    return _issue_code(request_id)


@bp.get("/rights/<request_id>")
def rights(request_id: str):
    params = _store().waiting(request_id)
    client = _client(params["client_id"])
    rights = [SCOPE_RIGHTS.get(scope, scope) for scope in params["scope"].split()]
    return render_template(
        "rights.html", request_id=request_id, system=client.name, rights=rights, account=_account()
    )


@bp.post("/rights/<request_id>")
def decide(request_id: str):
    params = _store().waiting(request_id)
    account = _account()
    if request.form.get("decision") != "grant":
        _store().pop("login", request_id)
        return _back_to_client(
            params["redirect_uri"],
            params["state"],
            error="access_denied",
            error_description=protocol.error_description("007004"),
        )
    _store().put("rights", _rights_key(params["client_id"], account.oid), {}, FOREVER)
    return _issue_code(request_id)


def _issue_code(request_id: str):
    account = _account()
    params = _store().pop("login", request_id)
    if params is None:  # the same login finished twice (a double click): one code only
        abort(404)
    code = secrets.token_urlsafe(32)
    grant = Grant(
        client_id=params["client_id"],
        oid=account.oid,
        scopes=tuple(params["scope"].split()),
        redirect_uri=params["redirect_uri"],
        session_id=session["sid"],
        expires=time.time() + CODE_TTL,
        code_challenge=params.get("code_challenge") or None,
    )
    _store().put("code", code, asdict(grant), CODE_TTL)
    return _back_to_client(params["redirect_uri"], params["state"], code=code)


# --- token --------------------------------------------------------------------------------


def _token_error(error: EsiaError, status: int = 400):
    return jsonify(error=error.oauth_error, error_description=str(error)), status


@bp.post("/aas/oauth2/v3/te")
def token():
    params = request.form.to_dict()
    params.setdefault("scope_org", "")
    try:
        if any(not params.get(name) for name in TOKEN_REQUIRED):
            raise EsiaError("007014")
        if params["grant_type"] != "authorization_code" or not protocol.is_state(params["state"]):
            raise EsiaError("007014")
        client = _client(params["client_id"])
        _check_signed(client, params, protocol.token_message(params))
        claimed = _store().claim("code", params["code"])  # unknown, used or expired: None
        if claimed is None:
            raise EsiaError("007011", "invalid_grant")
        grant = Grant(**{**claimed, "scopes": tuple(claimed["scopes"]), "used": True})
        if grant.client_id != client.client_id:
            raise EsiaError("007011", "invalid_grant")
        if grant.redirect_uri != params["redirect_uri"]:
            raise EsiaError("007023", "invalid_grant")
        if grant.code_challenge is not None:
            verifier = params.get("code_verifier", "")
            if not verifier:
                raise EsiaError("007014")
            if protocol.pkce_challenge(verifier) != grant.code_challenge:
                raise EsiaError("007011", "invalid_grant")
    except EsiaError as error:
        return _token_error(error)
    account = current_app.config["PERSONAS"].by_oid(grant.oid)
    access_token, id_token = _tokens(client, account, grant)
    return jsonify(
        access_token=access_token,
        id_token=id_token,
        refresh_token=secrets.token_urlsafe(32),
        state=params["state"],
        token_type="Bearer",
        expires_in=TOKEN_TTL,
    )


def _sign(header_sbt: str, claims: dict) -> str:
    header = {"ver": 1, "typ": "JWT", "sbt": header_sbt, "alg": "RS256", "kid": _config()["kid"]}
    return jwt.encode(header, claims, _config()["signing_key"], registry=JWS)


def _tokens(client: Client, account: EsiaAccount, grant: Grant) -> tuple[str, str]:
    now = int(time.time())
    issuer = _config()["issuer"]
    access = _sign(
        "access",
        {
            "nbf": now,
            "exp": now + TOKEN_TTL,
            "iat": now + iat_ahead(),
            "iss": issuer,
            "urn:esia:sid": grant.session_id,
            "urn:esia:sbj_id": int(account.oid),
            "client_id": client.client_id,
            "scope": " ".join(f"{scope}?oid={account.oid}" for scope in grant.scopes),
        },
    )
    subject = {
        "urn:esia:sbj:typ": "P",
        "urn:esia:sbj:oid": int(account.oid),
        "urn:esia:sbj:lvl": account.level,
    }
    if account.confirmed:
        subject["urn:esia:sbj:is_tru"] = True
    id_token = _sign(
        "id",
        {
            "aud": client.client_id,
            "sub": int(account.oid),
            "nbf": now,
            "exp": now + TOKEN_TTL,
            "iat": now + iat_ahead(),
            "auth_time": now,
            "amr": "PWD",
            "iss": issuer,
            "urn:esia:sid": grant.session_id,
            "urn:esia:sbj": subject,
        },
    )
    return access, id_token


# --- REST: /rs/prns -------------------------------------------------------------------------


def _bearer(oid: str) -> set[str]:
    """The scopes the bearer token grants for ``oid``; 401/403 as ESIA would."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(401)
    try:
        token = jwt.decode(header[7:], _config()["signing_key"], registry=JWS)
    except (JoseError, ValueError):
        abort(401)
    claims = token.claims
    if token.header.get("sbt") != "access" or claims.get("exp", 0) < time.time():
        abort(401)
    if str(claims.get("urn:esia:sbj_id")) != oid:
        abort(403)
    return {item.split("?", 1)[0] for item in claims.get("scope", "").split()}


def _need(scopes: set[str], *any_of: str) -> None:
    if not scopes.intersection(any_of):
        abort(403)


def _collection(elements: list[dict], base: str) -> dict:
    if request.args.get("embed", "").startswith("(elements"):
        return {"stateFacts": ["hasSize"], "size": len(elements), "elements": elements}
    urls = [f"{base}/{element['id']}" for element in elements]
    return {"stateFacts": ["hasSize"], "size": len(urls), "elements": urls}


def _person_json(human, scopes: set[str], *, kid: bool = False) -> dict:
    prefix = "kid_" if kid else ""
    data: dict = {"trusted": True}
    if prefix + "fullname" in scopes:
        data.update(firstName=human.first, lastName=human.last, middleName=human.middle)
    if prefix + "birthdate" in scopes:
        data["birthDate"] = human.birth_date.strftime("%d.%m.%Y")
    if "gender" in scopes:
        data["gender"] = human.gender
    if prefix + "snils" in scopes:
        data["snils"] = human.snils
    return data


def _account_for(oid: str) -> EsiaAccount:
    account = current_app.config["PERSONAS"].by_oid(oid)
    if account is None:
        abort(404)
    return account


@bp.get("/rs/prns/<oid>")
def person(oid: str):
    scopes = _bearer(oid)
    account = _account_for(oid)
    data = _person_json(account.human, scopes)
    data.update(trusted=account.confirmed, status="REGISTERED", eTag=account.oid)
    return jsonify(data)


@bp.get("/rs/prns/<oid>/ctts")
def contacts(oid: str):
    scopes = _bearer(oid)
    _need(scopes, "email", "mobile", "contacts")
    account = _account_for(oid)
    elements = []
    if account.email and scopes & {"email", "contacts"}:
        elements.append({"id": 1, "type": "EML", "vrfStu": "VERIFIED", "value": account.email})
    if account.mobile and scopes & {"mobile", "contacts"}:
        elements.append({"id": 2, "type": "MBT", "vrfStu": "VERIFIED", "value": account.mobile})
    return jsonify(_collection(elements, request.base_url))


@bp.get("/rs/prns/<oid>/docs")
def documents(oid: str):
    """The person's own documents: a passport for adults, a birth certificate for children."""
    scopes = _bearer(oid)
    _need(scopes, "id_doc", "birth_cert_doc")
    account = _account_for(oid)
    number = account.human.snils.replace("-", "").replace(" ", "")
    elements = []
    if account.level == "KD" and "birth_cert_doc" in scopes:
        elements.append({"id": 1, "type": "RF_BRTH_CERT", "series": "VII-МЮ",
                         "number": number[:6], "vrfStu": "VERIFIED"})  # fmt: skip
    if account.level != "KD" and "id_doc" in scopes:
        elements.append({"id": 2, "type": "RF_PASSPORT", "series": number[:4],
                         "number": number[4:10], "vrfStu": "VERIFIED" if account.confirmed
                         else "NOT_VERIFIED"})  # fmt: skip
    return jsonify(_collection(elements, request.base_url))


def _kid_id(index: int) -> int:
    return 500 + index


def _kid_documents(kid) -> list[dict]:
    status = "VERIFIED" if kid.birth_cert_verified else "NOT_VERIFIED"
    number = kid.human.snils.replace("-", "").replace(" ", "")[:6]
    return [{"id": 1, "type": "RF_BRTH_CERT", "series": "VII-МЮ", "number": number,
             "vrfStu": status}]  # fmt: skip


@bp.get("/rs/prns/<oid>/kids")
def kids(oid: str):
    scopes = _bearer(oid)
    _need(scopes, "kid_fullname", "kid_birthdate", "kid_snils")
    account = _account_for(oid)
    elements = []
    for index, kid in enumerate(account.kids):
        element = {"id": _kid_id(index), **_person_json(kid.human, scopes, kid=True)}
        if "kid_birth_cert_doc" in scopes:
            documents = _kid_documents(kid)
            element["documents"] = {"stateFacts": ["hasSize"], "size": len(documents),
                                    "elements": documents}  # fmt: skip
        elements.append(element)
    return jsonify(_collection(elements, request.base_url))


@bp.get("/rs/prns/<oid>/kids/<int:kid_id>/docs")
def kid_documents(oid: str, kid_id: int):
    scopes = _bearer(oid)
    _need(scopes, "kid_birth_cert_doc")
    account = _account_for(oid)
    index = kid_id - _kid_id(0)
    if not 0 <= index < len(account.kids):
        abort(404)
    return jsonify(_collection(_kid_documents(account.kids[index]), request.base_url))


# --- logout -------------------------------------------------------------------------------


@bp.get("/idp/ext/Logout")
def logout():
    client = _config()["clients"].get(request.args.get("client_id", ""))
    target = request.args.get("redirect_url", "")
    session.clear()
    allowed = {urlsplit(uri)[:2] for uri in client.redirect_uris} if client else set()
    if target and urlsplit(target)[:2] in allowed:
        return redirect(target)
    return render_template("logged_out.html")

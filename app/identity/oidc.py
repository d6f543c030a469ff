"""Any OpenID Connect provider (mos.ru among them), configured per region.

Authlib speaks the protocol (authorization URL with PKCE S256, the token request with the
configured client authentication); our own layer checks what Authlib does not
(SECURITY.md, "Relying party"): the discovery document's issuer, the pinned signing
algorithms (never ``none``), ``aud`` containing us whatever ``azp`` says, ``iat``, the nonce,
the callback's ``iss`` (RFC 9207) and the userinfo ``sub``. Clients, metadata and keys are
cached per (region, configuration version), so a changed configuration takes effect; an
unknown ``kid`` fetches the keys once more (key rotation).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app, redirect, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry, extract_compact

from app.identity import (
    ExternalIdentity,
    FullName,
    IdentityProvider,
    LoginFailed,
    ProviderUnavailable,
    register,
)
from app.identity.types import normalize_snils

CLOCK_LEEWAY = 60
_lock = threading.Lock()


@dataclass
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str
    iss_parameter_supported: bool = False


@dataclass
class ClientState:
    """What is cached per (region, configuration version)."""

    metadata: Metadata
    keys: KeySet | None = None


def _http_get(url: str, timeout: float) -> requests.Response:
    try:
        response = requests.get(url, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
    if response.status_code >= 500:
        raise ProviderUnavailable(f"{url}: HTTP {response.status_code}")
    return response


@register
class OidcProvider(IdentityProvider):
    kind = "oidc"

    # --- per-version state ----------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        cache = current_app.extensions.setdefault("oidc_clients", {})
        key = (self.tenant.slug, self.tenant.version)
        with _lock:
            if key not in cache:
                cache[key] = ClientState(self._metadata())
            return cache[key]

    def _metadata(self) -> Metadata:
        c = self.config
        if c.discovery_url is None:
            return Metadata(c.issuer, c.authorization_endpoint, c.token_endpoint,
                            c.userinfo_endpoint, c.jwks_uri)  # fmt: skip
        response = _http_get(c.discovery_url, c.timeout_seconds)
        try:
            document = response.json()
        except ValueError:
            raise LoginFailed("provider_error", "discovery document is not JSON") from None
        if document.get("issuer") != c.issuer:
            raise LoginFailed(
                "invalid_metadata", f"discovery names issuer {document.get('issuer')!r}"
            )
        try:
            return Metadata(
                issuer=document["issuer"],
                authorization_endpoint=c.authorization_endpoint
                or document["authorization_endpoint"],
                token_endpoint=c.token_endpoint or document["token_endpoint"],
                userinfo_endpoint=c.userinfo_endpoint or document.get("userinfo_endpoint"),
                jwks_uri=c.jwks_uri or document["jwks_uri"],
                iss_parameter_supported=bool(
                    document.get("authorization_response_iss_parameter_supported")
                ),
            )
        except KeyError as missing:
            raise LoginFailed("invalid_metadata", f"discovery lacks {missing}") from None

    def _keys(self, *, refresh: bool = False) -> KeySet:
        state = self.state
        if state.keys is None or refresh:
            response = _http_get(state.metadata.jwks_uri, self.config.timeout_seconds)
            try:
                state.keys = KeySet.import_key_set(response.json())
            except (ValueError, JoseError) as exc:
                raise LoginFailed("provider_error", f"JWKS: {exc}") from None
        return state.keys

    def _session(self, **kwargs) -> OAuth2Session:
        secret = (
            self.env.get(self.config.client_secret_env) if self.config.client_secret_env else None
        )
        if self.config.token_endpoint_auth_method != "none" and not secret:
            raise LoginFailed("misconfigured", f"{self.config.client_secret_env} is not set")
        return OAuth2Session(
            client_id=self.config.client_id,
            client_secret=secret,
            token_endpoint_auth_method=self.config.token_endpoint_auth_method,
            scope=" ".join(self.config.scopes),
            redirect_uri=url_for("auth.callback", kind=self.kind, _external=True),
            code_challenge_method="S256",
            default_timeout=self.config.timeout_seconds,
            **kwargs,
        )

    # --- the login ------------------------------------------------------------------------

    def start_login(self):
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url, _ = self._session().create_authorization_url(
            self.state.metadata.authorization_endpoint, state=state, nonce=nonce,
            code_verifier=verifier,
        )  # fmt: skip
        self.remember_pending(state, nonce=nonce, verifier=verifier)
        return redirect(url)

    def finish_login(self, args: Mapping[str, str]) -> ExternalIdentity:
        pending = self.take_pending(args)
        metadata = self.state.metadata
        # RFC 9207: a code from another provider (mix-up) names that provider here.
        if "iss" in args and args["iss"] != metadata.issuer:
            raise LoginFailed("mix_up", f"callback iss {args['iss']!r}")
        if "iss" not in args and metadata.iss_parameter_supported:
            raise LoginFailed("mix_up", "callback without iss")
        if args.get("error"):
            reason = "refused" if args["error"] == "access_denied" else "provider_error"
            raise LoginFailed(reason, args.get("error_description", args["error"]))
        if not args.get("code"):
            raise LoginFailed("provider_error", "no code in the callback")
        client = self._session(state=pending["state"])
        try:
            token = client.fetch_token(
                metadata.token_endpoint, code=args["code"], code_verifier=pending["verifier"],
            )  # fmt: skip
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ProviderUnavailable(f"token endpoint: {type(exc).__name__}") from None
        except Exception as exc:
            raise LoginFailed("provider_error", f"token endpoint: {exc}") from None
        claims = self.verify_id_token(token.get("id_token"), pending["nonce"])
        profile = self._userinfo(client, claims["sub"]) if metadata.userinfo_endpoint else {}
        return self._identity({**claims, **profile})

    # --- our checks -----------------------------------------------------------------------

    def verify_id_token(self, id_token: str | None, nonce: str) -> dict[str, Any]:
        if not id_token:
            raise LoginFailed("invalid_token", "no id_token")
        registry = JWSRegistry(algorithms=list(self.config.id_token_algorithms))
        try:
            decoded = self._decode(id_token, registry)
        except (JoseError, ValueError) as exc:
            raise LoginFailed("invalid_token", f"id_token: {exc}") from None
        claims, now = decoded.claims, time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        checks = [
            (claims.get("iss") == self.state.metadata.issuer, "iss is not our provider"),
            (bool(claims.get("sub")), "no sub"),
            (self.config.client_id in audiences, "aud does not name us"),
            (len(audiences) == 1 or claims.get("azp") == self.config.client_id, "azp is not us"),
            (isinstance(claims.get("iat"), int), "no iat"),
            (isinstance(claims.get("exp"), int) and claims["exp"] > now - CLOCK_LEEWAY, "expired"),
            (claims.get("nbf", 0) <= now + CLOCK_LEEWAY, "not yet valid"),
            (claims.get("nonce") == nonce, "nonce does not match"),
        ]
        for ok, problem in checks:
            if not ok:
                raise LoginFailed("invalid_token", f"id_token: {problem}")
        return claims

    def _decode(self, id_token: str, registry: JWSRegistry):
        header = extract_compact(id_token.encode()).protected
        if header.get("alg") not in self.config.id_token_algorithms:
            raise LoginFailed("invalid_token", f"id_token: alg {header.get('alg')!r} not allowed")
        keys = self._keys()
        kid = header.get("kid")
        if kid is None and len(keys.keys) > 1:
            raise LoginFailed("invalid_token", "id_token: no kid and several keys")
        if kid is not None and not any(key.kid == kid for key in keys.keys):
            keys = self._keys(refresh=True)  # rotated: fetch the keys once more
        return jwt.decode(id_token, keys, registry=registry)

    def _userinfo(self, client: OAuth2Session, subject: str) -> dict[str, Any]:
        try:
            response = client.get(self.state.metadata.userinfo_endpoint)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ProviderUnavailable(f"userinfo: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise LoginFailed("provider_error", f"userinfo: HTTP {response.status_code}")
        try:
            profile = response.json()
        except ValueError:
            raise LoginFailed("provider_error", "userinfo is not JSON") from None
        if profile.get("sub") != subject:
            raise LoginFailed("invalid_token", "userinfo sub differs from the id_token's")
        return profile

    def _identity(self, claims: Mapping[str, Any]) -> ExternalIdentity:
        try:
            born = date.fromisoformat(claims["birthdate"]) if claims.get("birthdate") else None
        except ValueError:
            born = None
        return ExternalIdentity(
            issuer=self.state.metadata.issuer,
            subject=str(claims["sub"]),
            full_name=FullName(
                claims.get("family_name", ""),
                claims.get("given_name", ""),
                claims.get("middle_name", ""),
            ),
            birth_date=born,
            snils=normalize_snils(claims.get("snils")),
            email=claims.get("email"),
            email_verified=bool(claims.get("email_verified")),
            phone=claims.get("phone_number"),
            phone_verified=bool(claims.get("phone_number_verified")),
            account_level="OIDC",
            confirmed=True,
        )

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

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from flask import redirect, url_for
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry, extract_compact
from pydantic import Field, StringConstraints, model_validator

from app.identity.base import IdentityProvider, LoginFailed, ProviderUnavailable, register
from app.identity.types import (
    ExternalIdentity,
    FullName,
    ProviderNames,
    ProviderTraits,
    normalize_snils,
    numeric_date,
)
from app.settings import SettingsError, secret
from app.tenants.schema import Emulator, EnvName, ProviderConfig, Url

if TYPE_CHECKING:
    from app.tenants import Tenant

CLOCK_LEEWAY = 60
# Out of turn (an unknown kid, a signature that fails), the keys are fetched again at most
# once in this many seconds: a flood of forged tokens cannot make us hammer the provider.
FORCED_REFETCH_INTERVAL = 30.0
MAX_AGE_RE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.IGNORECASE)


def keys_lifetime(cache_control: str | None, ceiling: int) -> int:
    """How long fetched keys may be used: the provider's max-age, never beyond ``ceiling``;
    no-store or no-cache: only for this login."""
    directives = (cache_control or "").lower()
    if "no-store" in directives or "no-cache" in directives:
        return 0
    found = MAX_AGE_RE.search(directives)
    return min(int(found.group(1)), ceiling) if found else ceiling


class OidcConfig(ProviderConfig):
    """Any OpenID Connect provider: discovery, or explicit endpoints when it has none."""

    kind: Literal["oidc"]
    issuer: Url
    discovery_url: Url | None = None
    authorization_endpoint: Url | None = None
    token_endpoint: Url | None = None
    userinfo_endpoint: Url | None = None
    jwks_uri: Url | None = None
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    client_secret_env: EnvName | None = None
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "none"] = (
        "client_secret_basic"
    )
    scopes: list[str] = Field(default=["openid"], min_length=1)
    id_token_algorithms: list[Literal["RS256", "ES256", "PS256"]] = Field(default=["RS256"])
    # The provider's name on the region's pages («Вы вошли через …»); the login button's
    # words when not given.
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    # The provider's keys are used at most this long before they are fetched again (its
    # Cache-Control max-age, when shorter, wins): a withdrawn key stops validating in time.
    jwks_max_age_seconds: int = Field(default=600, ge=0, le=86400)

    @model_validator(mode="after")
    def _endpoints_known(self) -> OidcConfig:
        if self.discovery_url is None:
            missing = [
                name
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    "without discovery_url these endpoints are required: " + ", ".join(missing)
                )
        if self.token_endpoint_auth_method != "none" and self.client_secret_env is None:
            raise ValueError(
                f"token_endpoint_auth_method {self.token_endpoint_auth_method} "
                "needs client_secret_env"
            )
        if "openid" not in self.scopes:
            raise ValueError("scopes must include openid")
        return self

    def emulated(self, emulator: Emulator) -> OidcConfig:
        """The emulator's mos.ru profile, by explicit endpoints."""
        base = emulator.server
        return self.model_copy(update={
            "discovery_url": None,
            "authorization_endpoint": f"{emulator.browser}/sps/oauth/ae",
            "token_endpoint": f"{base}/sps/oauth/te",
            "userinfo_endpoint": f"{base}/sps/oauth/me",
            "jwks_uri": f"{base}/sps/oauth/jwks",
        })  # fmt: skip


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
    # Monotonic times: when the keys go stale, and when they were last fetched out of turn.
    keys_expire: float = 0.0
    forced_at: float = -FORCED_REFETCH_INTERVAL


@register
class OidcProvider(IdentityProvider):
    kind = "oidc"
    config_model = OidcConfig
    # The person keeps e-mail and phone in their mos.ru profile; the school's links name the
    # children.
    traits = ProviderTraits(contacts_in_profile=True)

    # --- per-version state ----------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self.cached("client", lambda: ClientState(self._metadata()))

    def _get(self, url: str) -> requests.Response:
        return self.call("get", url, down_on_5xx=True)

    @classmethod
    def names(cls, tenant: Tenant) -> ProviderNames:
        display = tenant.config.identity_provider.display_name
        return ProviderNames.indeclinable(display) if display else super().names(tenant)

    # --- operating it ---------------------------------------------------------------------

    @classmethod
    def probe(cls, config: OidcConfig) -> tuple[str, bool]:
        return (config.discovery_url or config.jwks_uri), True

    @classmethod
    def environment_problems(cls, config: OidcConfig, env: Mapping[str, str]) -> list[str]:
        name = config.client_secret_env
        try:
            found = secret(env, name) if name else "not needed"
        except SettingsError as exc:
            return [str(exc)]
        return [] if found else [f"{name} (or {name}_FILE) is not set"]

    demo_personas = "mosru"

    @classmethod
    def demo_environment(cls, tenant: Tenant, directory: Path) -> dict:
        """A client secret made once and kept (mode 600) under the demo's key folder."""
        config = tenant.config.identity_provider
        if not config.client_secret_env:
            return {}
        secret_file = directory / tenant.slug / "client-secret"
        if not secret_file.exists():
            secret_file.parent.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secrets.token_urlsafe(32))
            secret_file.chmod(0o600)
        return {config.client_secret_env: secret_file.read_text()}

    def _metadata(self) -> Metadata:
        c = self.config
        if c.discovery_url is None:
            return Metadata(c.issuer, c.authorization_endpoint, c.token_endpoint,
                            c.userinfo_endpoint, c.jwks_uri)  # fmt: skip
        response = self._get(c.discovery_url)
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

    def _keys(self, *, out_of_turn: bool = False) -> KeySet:
        """The provider's keys: fetched when stale; ``out_of_turn`` (a key we do not know, a
        signature that fails) fetches them again unless that was done a moment ago."""
        state, now = self.state, time.monotonic()
        if out_of_turn:
            if now - state.forced_at < FORCED_REFETCH_INTERVAL:
                return state.keys
            state.forced_at = now
        elif state.keys is not None and now < state.keys_expire:
            return state.keys
        response = self._get(state.metadata.jwks_uri)
        try:
            keys = KeySet.import_key_set(response.json())
        except (ValueError, JoseError) as exc:
            raise LoginFailed("provider_error", f"JWKS: {exc}") from None
        lifetime = keys_lifetime(response.headers.get("Cache-Control"),
                                 self.config.jwks_max_age_seconds)  # fmt: skip
        state.keys, state.keys_expire = keys, now + lifetime
        return keys

    def _session(self, **kwargs) -> OAuth2Session:
        name = self.config.client_secret_env
        try:
            client_secret = secret(self.env, name) if name else None
        except SettingsError as exc:
            raise LoginFailed("misconfigured", str(exc)) from None
        if self.config.token_endpoint_auth_method != "none" and not client_secret:
            raise LoginFailed("misconfigured", f"{name} is not set")
        client = OAuth2Session(
            client_id=self.config.client_id,
            client_secret=client_secret,
            token_endpoint_auth_method=self.config.token_endpoint_auth_method,
            scope=" ".join(self.config.scopes),
            redirect_uri=url_for("auth.callback", kind=self.kind, _external=True),
            code_challenge_method="S256",
            default_timeout=self.config.timeout_seconds,
            **kwargs,
        )
        # One login's client, over the provider's pooled connections.
        for prefix, adapter in self.http.adapters.items():
            client.mount(prefix, adapter)
        return client

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
            # A redirect is not followed: a 307 would send the code, its verifier and the
            # client's secret wherever it pointed.
            token = client.fetch_token(
                metadata.token_endpoint, code=args["code"], code_verifier=pending["verifier"],
                allow_redirects=False,
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
        iat, exp, nbf = (numeric_date(claims.get(name)) for name in ("iat", "exp", "nbf"))
        azp = claims.get("azp")
        checks = [
            (claims.get("iss") == self.state.metadata.issuer, "iss is not our provider"),
            (bool(claims.get("sub")), "no sub"),
            (self.config.client_id in audiences, "aud does not name us"),
            (len(audiences) == 1 or azp is not None, "azp is not us"),
            (azp is None or azp == self.config.client_id, "azp is not us"),
            (iat is not None, "no iat"),
            (iat is None or iat <= now + CLOCK_LEEWAY, "issued in the future"),
            (exp is not None and exp > now - CLOCK_LEEWAY, "expired"),
            ("nbf" not in claims or (nbf is not None and nbf <= now + CLOCK_LEEWAY),
             "not yet valid"),
            (claims.get("nonce") == nonce, "nonce does not match"),
        ]  # fmt: skip
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
            keys = self._keys(out_of_turn=True)  # rotated: fetch the keys once more
        try:
            return jwt.decode(id_token, keys, registry=registry)
        except BadSignatureError:
            # A key rotated under the same kid: once more with fresh keys, if not just fetched.
            fresh = self._keys(out_of_turn=True)
            if fresh is keys:
                raise
            return jwt.decode(id_token, fresh, registry=registry)

    def _userinfo(self, client: OAuth2Session, subject: str) -> dict[str, Any]:
        try:
            response = client.get(self.state.metadata.userinfo_endpoint, allow_redirects=False)
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

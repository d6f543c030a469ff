"""Госуслуги (ESIA) as an identity provider: the real protocol, our own checks.

The authorization and token requests are signed with the region's GOST key (``client_secret``),
the echoed ``state`` is checked, both tokens are verified with ESIA's configured certificate
(signature, ``iss``, ``aud``, times), and the person, contacts and children are read from
ESIA's REST API — only the resources whose scope was granted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import redirect, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry

from app.i18n import N_, pgettext
from app.i18n import lazy_gettext as _l
from app.identity.base import IdentityProvider, LoginFailed, register
from app.identity.types import (
    ExternalChild,
    ExternalIdentity,
    FullName,
    ProviderNames,
    ProviderTraits,
    normalize_snils,
    numeric_date,
)

from . import protocol
from .config import EsiaConfig
from .gost import (
    GostError,
    Signer,
    certificate_hash,
    make_signer,
    make_test_certificate,
    make_verifier,
)

if TYPE_CHECKING:
    from app.tenants import Tenant

CLOCK_LEEWAY = 60
KID_SCOPES = {"kid_fullname", "kid_birthdate", "kid_snils"}
CONTACT_SCOPES = {"email", "mobile", "contacts"}


@dataclass(frozen=True)
class Credentials:
    """What a region holds to talk to ESIA: its GOST signer and certificate, ESIA's key."""

    signer: Signer
    certificate_hash: str
    provider_key: RSAKey


def _read(env: Mapping[str, str], name: str) -> bytes:
    path = env.get(name)
    if not path:
        raise LoginFailed("misconfigured", f"environment variable {name} is not set")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise LoginFailed("misconfigured", f"{name}: {exc.strerror}") from None


def load_credentials(config, env: Mapping[str, str]) -> Credentials:
    """The region's key, its certificate's hash and ESIA's token key; a file that is not what
    it should be is a misconfiguration (the branded 503 and an audit row, never a 500)."""
    certificate = _read(env, config.client_certificate_file_env)
    key_pem = _read(env, config.private_key_file_env)
    provider_pem = _read(env, config.provider_certificate_file_env)
    try:
        provider_cert = x509.load_pem_x509_certificate(provider_pem)
        public_pem = provider_cert.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        )
        return Credentials(
            signer=make_signer(config.signer, key_pem),
            certificate_hash=certificate_hash(certificate),
            provider_key=RSAKey.import_key(public_pem),
        )
    except (GostError, ValueError, TypeError, JoseError, UnsupportedAlgorithm) as exc:
        raise LoginFailed("misconfigured", f"the keys do not load: {type(exc).__name__}") from None


PAIR_CHECK = b"myschool: does this key belong to this certificate?"


def credential_problems(config, env: Mapping[str, str], now: datetime | None = None) -> list[str]:
    """What ``flask qa check`` says of a region's key and certificates: each file read and
    parsed, the key and the certificate a pair, neither certificate expired."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    files: dict[str, bytes] = {}
    for name in config.key_file_envs:
        try:
            files[name] = _read(env, name)
        except LoginFailed as exc:
            problems.append(exc.detail)
    key_name, cert_name = config.private_key_file_env, config.client_certificate_file_env
    esia_name = config.provider_certificate_file_env
    signer = None
    if key_name in files:
        try:
            signer = make_signer(config.signer, files[key_name])
        except (GostError, ValueError, TypeError):
            problems.append(f"{key_name}: not a GOST private key")
    for name in (cert_name, esia_name):
        if name not in files:
            continue
        try:
            cert = x509.load_pem_x509_certificate(files[name])
        except ValueError:
            problems.append(f"{name}: not a PEM certificate")
            files.pop(name)
            continue
        if cert.not_valid_after_utc < now:
            problems.append(f"{name}: expired on {cert.not_valid_after_utc:%d.%m.%Y}")
        elif cert.not_valid_before_utc > now:
            problems.append(f"{name}: valid only from {cert.not_valid_before_utc:%d.%m.%Y}")
        if name == esia_name:
            try:
                RSAKey.import_key(cert.public_key().public_bytes(
                    Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
            except (ValueError, TypeError, JoseError, UnsupportedAlgorithm):
                problems.append(f"{name}: its key cannot check ESIA's tokens (RSA expected)")
    if signer is not None and cert_name in files:
        signature = signer.sign(PAIR_CHECK)
        if not make_verifier().verify(files[cert_name], PAIR_CHECK, signature):
            problems.append(f"{key_name} and {cert_name} are not a key and its certificate")
    return problems


def _parse_date(value: str | None) -> date | None:
    try:
        return datetime.strptime(value, "%d.%m.%Y").date() if value else None
    except ValueError:
        return None


@register
class EsiaProvider(IdentityProvider):
    kind = "esia"
    config_model = EsiaConfig
    # The seeds' button (000) when regions.yaml gives none: configuration, as every label is.
    default_label = N_("Госуслуги")  # translated when shown (TenantConfig.in_language)
    traits = ProviderTraits(grades_accounts=True, lists_children=True, email_policy=True)
    demo_personas = "esia"
    refused_message = _l(
        "Вы нажали «Отказаться» на странице «Предоставление прав доступа», поэтому вход не "
        "выполнен. Чтобы войти, нажмите «Госуслуги» ещё раз и выберите «Предоставить»."
    )

    @classmethod
    def names(cls, tenant: Tenant) -> ProviderNames:
        """«Госуслуги» in the case each slot of a Russian sentence needs; in another language
        each case is its own message (most often the name as it is: the sentence around it is
        translated whole)."""
        return ProviderNames(
            # Translators: the name where a Russian sentence has «вошли через Госуслуги»; in
            # another language the name as it is (the sentence around it is translated whole).
            pgettext("nominative", "Госуслуги"),
            # Translators: the name where a Russian sentence has «из Госуслуг».
            pgettext("genitive", "Госуслуг"),
            # Translators: the name where a Russian sentence has «на Госуслугах».
            pgettext("prepositional", "Госуслугах"),
            # Translators: the name where a Russian sentence has «с Госуслугами».
            pgettext("instrumental", "Госуслугами"),
        )

    # --- the two signed requests ----------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """Loaded once per region and configuration version, then reused by every login."""
        return self.cached("credentials", lambda: load_credentials(self.config, self.env))

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def redirect_uri(self) -> str:
        return url_for("auth.callback", kind=self.kind, _external=True)

    def _signed(self, params: dict[str, str], message: bytes) -> dict[str, str]:
        signature = self.credentials.signer.sign(message)
        return {**params, "client_secret": protocol.b64url(signature)}

    def _base_params(self, state: str) -> dict[str, str]:
        return {
            "client_id": self.config.client_id,
            "scope": " ".join(self.config.scopes),
            "scope_org": self.config.scope_org,
            "timestamp": protocol.format_timestamp(datetime.now(UTC).astimezone()),
            "state": state,
            "redirect_uri": self.redirect_uri(),
            "client_certificate_hash": self.credentials.certificate_hash,
        }

    def start_login(self):
        state = protocol.new_state()
        params = self._base_params(state)
        params.update(response_type="code", access_type="online")
        params = self._signed(params, protocol.authorize_message(params))
        secrets_of_the_login = {}
        if self.config.pkce:
            verifier = protocol.new_pkce_verifier()
            params.update(code_challenge=protocol.pkce_challenge(verifier),
                          code_challenge_method="S256")  # fmt: skip
            secrets_of_the_login["verifier"] = verifier
        self.remember_pending(state, **secrets_of_the_login)
        authorize = self.config.people_url + self.config.authorize_path
        return redirect(f"{authorize}?{urlencode(params)}")

    def finish_login(self, args: Mapping[str, str]) -> ExternalIdentity:
        pending = self.take_pending(args)
        if args.get("error"):
            reason = "refused" if args["error"] == "access_denied" else "provider_error"
            raise LoginFailed(reason, args.get("error_description", args["error"]))
        if not args.get("code"):
            raise LoginFailed("provider_error", "no code in the callback")
        tokens = self._exchange(args["code"], pending.get("verifier"))
        subject, scopes, sid, level, confirmed = self._verify(tokens)
        return self._identity(tokens["access_token"], subject, scopes, sid, level, confirmed)

    def _exchange(self, code: str, verifier: str | None) -> dict[str, Any]:
        state = protocol.new_state()
        params = self._base_params(state)
        params.update(code=code, grant_type="authorization_code", token_type="Bearer")
        params = self._signed(params, protocol.token_message(params))
        if verifier:
            params["code_verifier"] = verifier
        response = self.call("post", self._url(self.config.token_path), data=params)
        try:
            body = response.json()
        except ValueError:
            raise LoginFailed(
                "provider_error", f"token endpoint said {response.status_code}"
            ) from None
        if response.status_code != 200 or "error" in body:
            raise LoginFailed("provider_error", str(body.get("error_description", body)))
        if body.get("state") != state:
            raise LoginFailed("bad_state", "the token response did not echo our state")
        return body

    # --- tokens ----------------------------------------------------------------------------

    def _decode(self, token: str, sbt: str) -> dict[str, Any]:
        registry = JWSRegistry(strict_check_header=False, algorithms=self.config.token_algorithms)
        try:
            decoded = jwt.decode(token, self.credentials.provider_key, registry=registry)
        except (JoseError, ValueError) as exc:
            raise LoginFailed("invalid_token", f"{sbt} token: {exc}") from None
        if decoded.header.get("sbt") != sbt:
            raise LoginFailed("invalid_token", f"expected an {sbt} token")
        claims = decoded.claims
        now = time.time()
        if claims.get("iss") != self.config.issuer:
            raise LoginFailed("invalid_token", f"{sbt} token from another issuer")
        exp, iat, nbf = (numeric_date(claims.get(name)) for name in ("exp", "iat", "nbf"))
        if exp is None or exp < now - CLOCK_LEEWAY:
            raise LoginFailed("invalid_token", f"{sbt} token expired")
        if iat is None or iat > now + CLOCK_LEEWAY:
            raise LoginFailed("invalid_token", f"{sbt} token without a valid iat")
        if "nbf" in claims and (nbf is None or nbf > now + CLOCK_LEEWAY):
            raise LoginFailed("invalid_token", f"{sbt} token not yet valid")
        return claims

    def _verify(self, tokens: Mapping[str, Any]):
        if not tokens.get("id_token") or not tokens.get("access_token"):
            raise LoginFailed("invalid_token", "missing token")
        id_claims = self._decode(tokens["id_token"], "id")
        access = self._decode(tokens["access_token"], "access")
        if id_claims.get("aud") != self.config.client_id:
            raise LoginFailed("invalid_token", "id token for another system")
        if access.get("client_id") != self.config.client_id:
            raise LoginFailed("invalid_token", "access token for another system")
        subject = str(id_claims.get("sub", ""))
        sbj = id_claims.get("urn:esia:sbj") or {}
        if not subject or str(access.get("urn:esia:sbj_id")) != subject:
            raise LoginFailed("invalid_token", "tokens name different subjects")
        if str(sbj.get("urn:esia:sbj:oid", subject)) != subject:
            raise LoginFailed("invalid_token", "id token subject mismatch")
        scopes = {item.split("?", 1)[0] for item in str(access.get("scope", "")).split()}
        return (
            subject,
            scopes,
            id_claims.get("urn:esia:sid"),
            sbj.get("urn:esia:sbj:lvl", "P"),
            bool(sbj.get("urn:esia:sbj:is_tru")),
        )

    # --- REST -----------------------------------------------------------------------------

    def _rest(self, token: str, path: str, *, embed: bool = False) -> dict[str, Any]:
        url = self._url(f"{self.config.rest_path}/prns/{path}")
        params = {"embed": "(elements)"} if embed else None
        response = self.call(
            "get", url, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 200:
            raise LoginFailed("provider_error", f"{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise LoginFailed("provider_error", f"{path}: not JSON") from None

    def _identity(self, token, subject, scopes, sid, level, confirmed) -> ExternalIdentity:
        person = self._rest(token, subject)
        contacts = (
            self._rest(token, f"{subject}/ctts", embed=True).get("elements", [])
            if scopes & CONTACT_SCOPES
            else []
        )
        kids = (
            self._rest(token, f"{subject}/kids", embed=True).get("elements", [])
            if scopes & KID_SCOPES
            else []
        )

        def contact(kind: str) -> tuple[str | None, bool]:
            found = next((c for c in contacts if c.get("type") == kind), None)
            return (found["value"], found.get("vrfStu") == "VERIFIED") if found else (None, False)

        email, email_verified = contact("EML")
        phone, phone_verified = contact("MBT")
        return ExternalIdentity(
            issuer=self.config.issuer,
            subject=subject,
            full_name=FullName(
                person.get("lastName", ""),
                person.get("firstName", ""),
                person.get("middleName", ""),
            ),
            birth_date=_parse_date(person.get("birthDate")),
            snils=normalize_snils(person.get("snils")),
            email=email,
            email_verified=email_verified,
            phone=phone,
            phone_verified=phone_verified,
            account_level=level,
            confirmed=confirmed and bool(person.get("trusted", True)),
            children=tuple(self._child(kid) for kid in kids if isinstance(kid, dict)),
            provider_session=sid,
        )

    @staticmethod
    def _child(kid: Mapping[str, Any]) -> ExternalChild:
        documents = (kid.get("documents") or {}).get("elements", [])
        verified = any(
            isinstance(doc, dict)
            and doc.get("type") == "RF_BRTH_CERT"
            and doc.get("vrfStu") == "VERIFIED"
            for doc in documents
        )
        return ExternalChild(
            full_name=FullName(
                kid.get("lastName", ""), kid.get("firstName", ""), kid.get("middleName", "")
            ),
            birth_date=_parse_date(kid.get("birthDate")),
            snils=normalize_snils(kid.get("snils")),
            birth_cert_verified=verified,
        )

    def logout_url(self, identity_session: str | None, return_to: str) -> str:
        query = urlencode({"client_id": self.config.client_id, "redirect_url": return_to})
        return f"{self.config.people_url}{self.config.logout_path}?{query}"

    # --- operating it ---------------------------------------------------------------------

    @classmethod
    def probe(cls, config: EsiaConfig) -> tuple[str, bool]:
        """The authorize endpoint without parameters: any live ESIA answers it (with an error
        page), so any answer below 500 counts."""
        return config.base_url.rstrip("/") + config.authorize_path, False

    @classmethod
    def environment_problems(cls, config: EsiaConfig, env: Mapping[str, str]) -> list[str]:
        problems = []
        for name in config.key_file_envs:
            value = env.get(name)
            if not value:
                problems.append(f"{name} is not set")
            elif not Path(value).is_file():
                problems.append(f"{name}: no file at that path")
        return problems or credential_problems(config, env)

    @classmethod
    def demo_environment(cls, tenant: Tenant, directory: Path) -> dict:
        """The region's own GOST key and certificate (made once), and the emulator's
        certificate as ESIA's."""
        config, slug = tenant.config.identity_provider, tenant.slug
        if not (directory / slug / "cert.pem").exists():
            subject = f"Моя школа ({tenant.name})"  # i18n-exempt: a demo certificate's name
            make_test_certificate(directory / slug, subject)
        return {
            config.client_certificate_file_env: str((directory / slug / "cert.pem").resolve()),
            config.private_key_file_env: str((directory / slug / "key.pem").resolve()),
            config.provider_certificate_file_env: str(
                (directory / "emulator" / "cert.pem").resolve()
            ),
        }

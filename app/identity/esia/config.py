"""The ``identity_provider`` block of a Госуслуги (ЕСИА) region: endpoints from ESIA.md,
secrets by environment variable name."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from app.tenants.schema import Emulator, EnvName, ProviderConfig, Url

from .protocol import ISSUER


class EsiaConfig(ProviderConfig):
    kind: Literal["esia"]
    base_url: Url
    # Where people are sent (authorization, logout) when that differs from where the portal
    # calls ESIA; set only for the emulator in a development stack (deploy/compose.dev.yaml).
    browser_url: Url | None = None
    issuer: str = ISSUER
    authorize_path: str = "/aas/oauth2/v2/ac"
    token_path: str = "/aas/oauth2/v3/te"
    rest_path: str = "/rs"
    logout_path: str = "/idp/ext/Logout"
    client_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    scopes: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")]] = Field(min_length=1)
    scope_org: str = ""
    client_certificate_file_env: EnvName
    private_key_file_env: EnvName
    provider_certificate_file_env: EnvName
    signer: Literal["openssl", "python"] = "openssl"
    token_algorithms: list[Literal["RS256", "GOST3410_2012_256"]] = Field(default=["RS256"])
    # PKCE (RFC 7636, S256) binds the code to the login that asked for it, so a code obtained
    # elsewhere signs nobody in. ESIA's recommendations describe it; whether a given
    # connection requires it is the region's to say (docs/esia.md).
    pkce: bool = True

    @field_validator("scopes")
    @classmethod
    def _openid_first(cls, scopes: list[str]) -> list[str]:
        if "openid" not in scopes:
            raise ValueError("must include openid (the id_token carries the account level)")
        return scopes

    def emulated(self, emulator: Emulator) -> EsiaConfig:
        browser = emulator.browser if emulator.browser != emulator.server else None
        return self.model_copy(update={"base_url": emulator.server, "browser_url": browser})

    @property
    def people_url(self) -> str:
        """The address people are sent to."""
        return (self.browser_url or self.base_url).rstrip("/")

    @property
    def key_file_envs(self) -> list[str]:
        return [
            self.client_certificate_file_env,
            self.private_key_file_env,
            self.provider_certificate_file_env,
        ]

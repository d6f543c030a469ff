"""The typed schema of ``config/regions.yaml``.

Every model here is strict (unknown keys are errors) and frozen: a tenant's configuration is
a value. Cross-field rules that concern one region live on :class:`TenantConfig`; rules that
span regions (a host claimed twice) live on :class:`RegionsFile`. Turning validation errors
into one line per problem is :mod:`app.tenants.loader`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_SUFFIXES = (".svg", ".png", ".webp")
UPLOAD_RE = re.compile(r"^upload:[0-9a-f]{64}\.(svg|png|webp)$")
# White text sits on the primary colour (buttons, header): WCAG AA for normal text.
MIN_CONTRAST_ON_WHITE = 4.5


def _hostname(value: str) -> str:
    if value != value.lower():
        raise ValueError("a host name is written in lower case")
    if not HOSTNAME_RE.match(value):
        raise ValueError("not a host name (no scheme, port or path)")
    return value


def _colour(value: str) -> str:
    if not COLOUR_RE.match(value):
        raise ValueError("not a colour (write it as #rrggbb)")
    return value.lower()


def _timezone(value: str) -> str:
    """An IANA time zone name that this machine's time zone database knows."""
    problem = "not a time zone (write an IANA name such as Europe/Moscow)"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*", value):
        raise ValueError(problem)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(problem) from None
    return value


def _https_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
        raise ValueError("not an http(s) URL")
    return value


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,30}$")]
Hostname = Annotated[str, AfterValidator(_hostname)]
Colour = Annotated[str, AfterValidator(_colour)]
Url = Annotated[str, AfterValidator(_https_url)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def relative_luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(colour: str) -> float:
    return 1.05 / (relative_luminance(colour) + 0.05)


# --- identity providers and login methods ---------------------------------------------------


class ProviderConfig(Strict):
    """What every ``identity_provider`` block has. Each kind extends it with its own fields
    (``config_model`` on its class in ``app/identity``) and registers it here."""

    kind: str
    timeout_seconds: float = Field(default=5.0, gt=0, le=10)

    def emulated(self, emulator: Emulator) -> ProviderConfig:
        """This block pointed at the identity-provider emulator (development and tests); a
        kind the emulator does not speak stays as it is."""
        return self


@dataclass(frozen=True)
class Emulator:
    """Where the identity-provider emulator answers (development and tests): ``browser``, the
    address people are sent to; ``server``, the one the portal calls itself. They differ in a
    stack whose portals reach the emulator inside their own network (deploy/compose.dev.yaml)."""

    browser: str
    server: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Emulator | None:
        url = config.get("IDP_EMULATOR_URL")
        if not url:
            return None
        return cls(url.rstrip("/"), (config.get("IDP_EMULATOR_BACKCHANNEL_URL") or url).rstrip("/"))


@dataclass(frozen=True)
class ProviderKind:
    """A login method kind as the schema knows it: its configuration block, if it needs one
    (a school-issued login needs none), and its button's default label."""

    config_model: type[ProviderConfig] | None
    default_label: str | None


PROVIDER_KINDS: dict[str, ProviderKind] = {}


def register_kind(
    kind: str, config_model: type[ProviderConfig] | None, default_label: str | None
) -> None:
    """Called by ``app.identity.register`` for each provider class."""
    PROVIDER_KINDS[kind] = ProviderKind(config_model, default_label)


def _one_of(names: list[str]) -> str:
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else "none"


class LoginMethod(Strict):
    kind: str
    label: Text | None = None

    @field_validator("kind")
    @classmethod
    def _registered(cls, kind: str) -> str:
        if kind not in PROVIDER_KINDS:
            raise ValueError(f"must be one of: {_one_of(sorted(PROVIDER_KINDS))}")
        return kind

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _labelled(self) -> LoginMethod:
        known = PROVIDER_KINDS[self.kind]
        if self.label is None:
            if known.default_label is None:
                raise ValueError(f"a {self.kind} method needs a label (the button's text)")
            object.__setattr__(self, "label", known.default_label)
        return self


# --- branding and policy ------------------------------------------------------------------


class Support(Strict):
    phone: Annotated[str, StringConstraints(pattern=r"^[+0-9 ()-]{5,30}$")]
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    hours: Text


class Branding(Strict):
    full_name: Text
    short_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ]
    logo: str
    primary_color: Colour
    accent_color: Colour
    support: Support
    footer_text: Text

    @field_validator("logo")
    @classmethod
    def _logo_file(cls, logo: str, info: ValidationInfo) -> str:
        if UPLOAD_RE.match(logo):
            return logo  # a logo an administrator uploaded, kept in the database
        path = Path(logo)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("must be a path inside the static folder, such as branding/x.svg")
        if path.suffix.lower() not in LOGO_SUFFIXES:
            raise ValueError("must be an .svg, .png or .webp file")
        static_dir = (info.context or {}).get("static_dir")
        if static_dir is not None and not (Path(static_dir) / path).is_file():
            raise ValueError(f"file not found in the static folder: {logo}")
        return logo

    @field_validator("primary_color")
    @classmethod
    def _readable(cls, colour: str) -> str:
        ratio = contrast_with_white(colour)
        if ratio < MIN_CONTRAST_ON_WHITE:
            raise ValueError(
                f"too light for white text on it (contrast {ratio:.1f}:1, "
                f"at least {MIN_CONTRAST_ON_WHITE}:1 needed)"
            )
        return colour


class TrustedPersonsPolicy(Strict):
    enabled: bool = False
    # Seeds (003): access «будет обеспечен в течение суток».
    activation_delay_hours: int = Field(default=24, ge=0, le=168)
    # An unanswered invitation lapses this many days after it was sent (fixed when sent).
    invitation_days: int = Field(default=7, ge=1, le=90)


class SessionPolicy(Strict):
    idle_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    absolute_timeout_hours: int = Field(default=12, ge=1, le=72)

    @model_validator(mode="after")
    def _idle_within_absolute(self) -> SessionPolicy:
        if self.idle_timeout_minutes > self.absolute_timeout_hours * 60:
            raise ValueError("idle_timeout_minutes is longer than absolute_timeout_hours")
        return self


MatchField = Literal["full_name", "snils", "birth_date", "email", "phone"]


class Policy(Strict):
    require_email: bool = True
    parent_consent_under_age: int = Field(default=18, ge=0, le=18)
    self_registration_min_age: int = Field(default=14, ge=0, le=18)
    match_fields: list[MatchField] = Field(min_length=1)
    trusted_persons: TrustedPersonsPolicy = TrustedPersonsPolicy()
    session: SessionPolicy = SessionPolicy()

    @model_validator(mode="after")
    def _ages(self) -> Policy:
        if self.self_registration_min_age > self.parent_consent_under_age:
            raise ValueError("self_registration_min_age is above parent_consent_under_age")
        if len(set(self.match_fields)) != len(self.match_fields):
            raise ValueError("match_fields lists a field twice")
        return self


# --- a region and the whole file ----------------------------------------------------------


Language = Literal["ru", "tt", "en"]  # those app/translations has catalogues for
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class Translation(Strict):
    """A region's own texts in one of its other languages. Each is optional: a text without a
    translation is shown in the region's default language (docs/languages.md)."""

    name: Text | None = None
    full_name: Text | None = None
    short_name: ShortName | None = None
    footer_text: Text | None = None
    support_hours: Text | None = None
    # A login method's button, by the method's kind.
    labels: dict[str, Text] = {}


def _translated_label(method: LoginMethod, language: str, translation: Translation | None):
    label = translation.labels.get(method.kind) if translation else None
    if label is None and method.label == PROVIDER_KINDS[method.kind].default_label:
        from app.i18n import force_language, gettext

        with force_language(language):
            label = gettext(method.label)  # the kind's own default, in the catalogues
    return method if label is None else method.model_copy(update={"label": label})


class TenantConfig(Strict):
    name: Text
    # The languages the region's pages are offered in, its default first (app/i18n.py).
    languages: list[Language] = Field(default=["ru", "en"], min_length=1)
    hosts: list[Hostname] = Field(min_length=1)
    identity_provider: SerializeAsAny[ProviderConfig]
    login_methods: list[LoginMethod] = Field(min_length=1)
    branding: Branding
    policy: Policy
    # Times are stored in UTC and shown to the region's people in its own zone.
    timezone: TimeZoneName = "Europe/Moscow"
    # The texts above in the region's other languages (name, branding, labels).
    translations: dict[Language, Translation] = {}

    @field_validator("identity_provider", mode="wrap")
    @classmethod
    def _provider_of_its_kind(
        cls, value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> ProviderConfig:
        """Validate the block by the schema of the kind it names."""
        if isinstance(value, ProviderConfig):
            return value
        kind = value.get("kind") if isinstance(value, dict) else None
        known = PROVIDER_KINDS.get(kind) if isinstance(kind, str) else None
        if known is None or known.config_model is None:
            kinds = sorted(k for k, known in PROVIDER_KINDS.items() if known.config_model)
            raise ValueError(f"kind must be one of: {', '.join(kinds)}")
        return known.config_model.model_validate(value, context=info.context)

    @field_validator("languages")
    @classmethod
    def _each_once(cls, languages: list[str]) -> list[str]:
        if len(set(languages)) != len(languages):
            raise ValueError("languages lists a language twice")
        return languages

    @model_validator(mode="after")
    def _methods_fit_provider(self) -> TenantConfig:
        kinds = [method.kind for method in self.login_methods]
        if len(set(kinds)) != len(kinds):
            raise ValueError("login_methods lists a method twice")
        for kind in kinds:
            needs_provider = PROVIDER_KINDS[kind].config_model is not None
            if needs_provider and kind != self.identity_provider.kind:
                raise ValueError(
                    f"login method {kind} needs identity_provider.kind {kind}, "
                    f"not {self.identity_provider.kind}"
                )
        return self

    @model_validator(mode="after")
    def _translations_of_its_languages(self) -> TenantConfig:
        for language, translation in self.translations.items():
            if language not in self.languages[1:]:
                raise ValueError(
                    f"translations.{language}: not one of the region's other languages "
                    f"({', '.join(self.languages[1:]) or 'none'})"
                )
            kinds = {method.kind for method in self.login_methods}
            for kind in translation.labels:
                if kind not in kinds:
                    raise ValueError(f"translations.{language}.labels.{kind}: no such method")
        return self

    def in_language(self, language: str) -> TenantConfig:
        """The region as its pages in ``language`` show it: its own translated texts, and its
        methods' default labels as the catalogues translate them. Its default language (and a
        language it does not offer) is the configuration as written."""
        if language == self.languages[0] or language not in self.languages:
            return self
        translation = self.translations.get(language)
        texts = translation.model_dump(exclude_none=True, exclude={"labels"}) if translation else {}
        support = self.branding.support
        if "support_hours" in texts:
            support = support.model_copy(update={"hours": texts.pop("support_hours")})
        name = texts.pop("name", self.name)
        branding = self.branding.model_copy(update={**texts, "support": support})
        methods = [_translated_label(m, language, translation) for m in self.login_methods]
        return self.model_copy(
            update={"name": name, "branding": branding, "login_methods": methods}
        )

    def emulated(self, emulator: Emulator) -> TenantConfig:
        """The region pointed at the identity-provider emulator (development and tests)."""
        provider = self.identity_provider.emulated(emulator)
        return self.model_copy(update={"identity_provider": provider})


class PortalConfig(Strict):
    name: Text = "Моя школа"  # i18n-exempt: configuration data (the portal's name)
    # The portal's name in other languages, by language.
    names: dict[Language, Text] = {}

    def in_language(self, language: str) -> PortalConfig:
        name = self.names.get(language)
        return self if name is None else self.model_copy(update={"name": name})

    apex_hosts: list[Hostname] = Field(min_length=1)
    # In development every region is also served on <slug>.<dev_domain>.
    dev_domain: Hostname = "localhost"


class RegionsFile(Strict):
    portal: PortalConfig
    regions: dict[Slug, TenantConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _hosts_unique(self) -> RegionsFile:
        owner: dict[str, str] = {host: "portal.apex_hosts" for host in self.portal.apex_hosts}
        clashes = []
        for slug, tenant in self.regions.items():
            for host in tenant.hosts:
                if host in owner:
                    clashes.append(f"{host} (regions.{slug}.hosts and {owner[host]})")
                owner[host] = f"regions.{slug}.hosts"
        if clashes:
            raise ValueError("a host belongs to one place only: " + "; ".join(clashes))
        return self

    def emulated(self, emulator: Emulator) -> RegionsFile:
        """Every region pointed at the identity-provider emulator (development and tests)."""
        changed = {slug: tenant.emulated(emulator) for slug, tenant in self.regions.items()}
        return self.model_copy(update={"regions": changed})

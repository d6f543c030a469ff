"""What every identity provider hands the access decision: a normalized person."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date


def normalize_snils(value: str | None) -> str | None:
    """``112-233-445 95`` → ``11223344595``; anything else than 11 digits is no СНИЛС."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) == 11 else None


def format_snils(digits: str) -> str:
    """``54771278218`` → ``547-712-782 18``, as printed on the card."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}" if len(digits) == 11 else digits


def mask_snils(value: str | None) -> str:
    """``54771278218`` → ``***-***-*** 18``: enough to recognise one's own, nothing more."""
    digits = normalize_snils(value) or ""
    return f"***-***-*** {digits[9:]}" if digits else ""


def mask_email(value: str | None) -> str:
    """``inna.p@example.test`` → ``i***@example.test``."""
    if not value or "@" not in value:
        return ""
    name, domain = value.rsplit("@", 1)
    return f"{name[:1]}***@{domain}"


def mask_phone(value: str | None) -> str:
    """``79170000707`` → ``+7 *** ***-**-07``."""
    digits = re.sub(r"\D", "", value or "")
    return f"+7 *** ***-**-{digits[-2:]}" if len(digits) >= 4 else ""


def mask_date(value: date | str | None) -> str:
    """A birth date with only its year: ``**.**.2010``."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if value else None
    return f"**.**.{value.year}" if value else ""


def normalize_phone(value: str | None) -> str | None:
    """``8 (916) 000-00-01``, ``+7 916 000 00 01`` → ``79160000001``."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits[0] in "78":
        return "7" + digits[1:]
    if len(digits) == 10:
        return "7" + digits
    return digits or None


def normalize_name(value: str | None) -> str:
    """Case, extra spaces and ё/е do not change who a person is."""
    return " ".join((value or "").split()).casefold().replace("ё", "е")  # i18n-exempt: letters


def numeric_date(value: object) -> float | None:
    """A token's time claim as RFC 7519's NumericDate: a JSON number of seconds, fractions
    allowed; anything else (a string, a boolean, nothing) is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def normalize_email(value: str | None) -> str | None:
    return value.strip().casefold() if value and value.strip() else None


@dataclass(frozen=True)
class FullName:
    last: str
    first: str
    middle: str = ""

    def __str__(self) -> str:
        return " ".join(part for part in (self.last, self.first, self.middle) if part)

    @property
    def key(self) -> tuple[str, str, str]:
        return (normalize_name(self.last), normalize_name(self.first), normalize_name(self.middle))


@dataclass(frozen=True)
class ExternalChild:
    """A child as the provider knows it; kinship counts only once the ЗАГС check passed."""

    full_name: FullName
    birth_date: date | None
    snils: str | None
    birth_cert_verified: bool


@dataclass(frozen=True)
class ExternalIdentity:
    issuer: str
    subject: str
    full_name: FullName
    birth_date: date | None = None
    snils: str | None = None
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None
    phone_verified: bool = False
    # ESIA: "PR" confirmed, "P" simplified or standard, "KD" a child's account.
    account_level: str = "P"
    confirmed: bool = False
    children: tuple[ExternalChild, ...] = field(default_factory=tuple)
    # The provider's session, to end it at logout (ESIA's urn:esia:sid).
    provider_session: str | None = None

    @property
    def is_child_account(self) -> bool:
        return self.account_level == "KD"

    def age_on(self, today: date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class ProviderNames:
    """A provider's name in the cases Russian sentences need («вошли через Госуслуги», «из
    Госуслуг», «на Госуслугах», «с Госуслугами»). A name that does not decline (mos.ru) is the
    same in each. In another language each case is that language's word for the slot (a
    message per case, its context the case's name), most often the name as it is: the
    sentence around it is translated whole."""

    nominative: str
    genitive: str
    prepositional: str
    instrumental: str

    @classmethod
    def indeclinable(cls, name: str) -> ProviderNames:
        return cls(name, name, name, name)

    def __str__(self) -> str:
        return self.nominative


@dataclass(frozen=True)
class ProviderTraits:
    """What the access decision must know of the provider a person came through. Each provider
    class declares its own; the decision reads these, never the provider's kind."""

    # The identity is the school's own record (a school-issued login): compare only the fields
    # that record holds, and a guardian consents for a minor as for a child's account.
    school_issued: bool = False
    # The provider grades accounts (ESIA: simplified, standard, confirmed): an unconfirmed
    # account is told so, and cannot act as a parent, a teacher or an administrator.
    grades_accounts: bool = False
    # The provider lists the person's children with the registry office's check (ESIA): a
    # guardian's children are those the school links *and* the provider confirms. Otherwise
    # the school's links alone count, as in Moscow.
    lists_children: bool = False
    # The region's ``require_email`` applies: the account may lack an e-mail, and the page for
    # that says how to add one at the provider.
    email_policy: bool = False
    # The person keeps e-mail and phone in their own profile at the provider (mos.ru): when the
    # region matches on them and they are missing, the person is told which and how to add them.
    contacts_in_profile: bool = False

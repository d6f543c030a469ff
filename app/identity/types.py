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
    return " ".join((value or "").split()).casefold().replace("ё", "е")


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

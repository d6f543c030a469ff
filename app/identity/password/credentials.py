"""School-issued logins and passwords («Вход по логину»): issuing, checking, changing.

argon2id (argon2-cffi's defaults meet ASVS 5.0). An unknown login costs the same hash
verification as a wrong password, so neither the answer nor its timing tells them apart.
Passwords are 8 to 128 characters, with no composition rules; the 30 000 most common
passwords (zxcvbn's list) and the person's own login or name are refused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.i18n import gettext as _
from app.i18n import ngettext
from app.models import PasswordCredential, Person, User
from app.sessions import end_sessions

# The issuer of the identities a school-issued login gives: the user's subject is the
# credential's id.
ISSUER = "urn:myschool:password"

MIN_LENGTH, MAX_LENGTH = 8, 128
# Letters and digits that cannot be mistaken for one another on a printed slip.
SLIP_ALPHABET = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
INITIAL_LENGTH = 12
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",  # i18n-exempt: a transliteration table
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n",
                     "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y",
                     "", "e", "yu", "ya"], strict=True))  # fmt: skip

hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    return hasher.hash(secrets.token_urlsafe(16))


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, login: str = "", person: Person | None = None) -> list[str]:
    """Why a new password is refused, in words for the person choosing it; [] if it is fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(
            ngettext(
                "Пароль должен быть не короче %(num)d символа.",
                "Пароль должен быть не короче %(num)d символов.",
                MIN_LENGTH,
            )
        )
    if len(password) > MAX_LENGTH:
        problems.append(
            ngettext(
                "Пароль должен быть не длиннее %(num)d символа.",
                "Пароль должен быть не длиннее %(num)d символов.",
                MAX_LENGTH,
            )
        )
    lowered = password.casefold()
    if lowered in common_passwords() or re.fullmatch(r"(.)\1+|0?1234567890?|\d{8,}", lowered):
        problems.append(
            _("Этот пароль слишком распространён: его легко подобрать. Выберите другой.")
        )
    own = {login.casefold()} | (
        {person.last_name.casefold(), person.first_name.casefold()} if person else set()
    )
    if lowered in own - {""}:
        problems.append(_("Пароль не должен совпадать с логином или именем."))
    return problems


def _matches(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check(tenant: str, login: str, password: str) -> PasswordCredential | None:
    """The credential if the login exists and the password is right; None either way else."""
    credential = db.session.scalar(
        select(PasswordCredential).filter_by(tenant=tenant, login=login.strip().casefold())
    )
    matches = _matches(credential.password_hash if credential else _dummy_hash(), password)
    if credential is None or not matches:
        return None
    if hasher.check_needs_rehash(credential.password_hash):
        credential.password_hash = hasher.hash(password)
        db.session.commit()
    return credential


def _login_for(tenant: str, person: Person) -> str:
    base = "".join(TRANSLIT.get(c, c) for c in person.last_name.casefold() if c.isalpha())
    base = re.sub(r"[^a-z]", "", base)[:20] or "student"
    while True:
        login = f"{base}.{secrets.randbelow(9000) + 1000}"
        taken = db.session.scalar(
            select(PasswordCredential.id).filter_by(tenant=tenant, login=login)
        )
        if taken is None:
            return login


@dataclass(frozen=True)
class IssuedCredential:
    """What the school prints on the slip: shown once, never stored in the clear."""

    login: str
    initial_password: str
    student: str
    reset: bool


def issue(tenant: str, person: Person, *, by: User | None) -> IssuedCredential:
    """Issue a login and a one-time initial password, or reset the password of an existing one.
    Resetting ends the student's sessions; either way the student must choose a new password."""
    initial = "".join(secrets.choice(SLIP_ALPHABET) for _ in range(INITIAL_LENGTH))
    credential = db.session.scalar(select(PasswordCredential).filter_by(person_id=person.id))
    reset = credential is not None
    if credential is None:
        credential = PasswordCredential(
            tenant=tenant, login=_login_for(tenant, person), person_id=person.id
        )
        db.session.add(credential)
    credential.password_hash = hasher.hash(initial)
    credential.must_change = True
    credential.issued_at = datetime.now(UTC)
    credential.issued_by = by.id if by else None
    db.session.flush()
    audit.record("credentials_reset" if reset else "credentials_issued", tenant=tenant,
                 actor_id=by.id if by else None, commit=False, student_id=person.id,
                 login=credential.login)  # fmt: skip
    db.session.commit()
    if reset:
        _end_sessions_of(credential, reason="password_reset")
    return IssuedCredential(credential.login, initial, person.full_name, reset)


class PasswordRefused(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


def change(credential: PasswordCredential, new_password: str, *, keep_sid: str | None) -> None:
    """Set a password the student chose; every other session of theirs ends (ASVS 7.4.2)."""
    problems = password_problems(new_password, login=credential.login, person=credential.person)
    if not problems and _matches(credential.password_hash, new_password):
        problems = [_("Новый пароль должен отличаться от прежнего.")]
    if problems:
        raise PasswordRefused(problems)
    credential.password_hash = hasher.hash(new_password)
    credential.must_change = False
    credential.changed_at = datetime.now(UTC)
    audit.record("password_changed", tenant=credential.tenant, commit=False, login=credential.login)
    db.session.commit()
    _end_sessions_of(credential, reason="password_changed", keep_sid=keep_sid)


def change_from_form(
    credential: PasswordCredential,
    data: Mapping[str, str | None],
    *,
    keep_sid: str | None,
    current_required: bool,
) -> list[str]:
    """The data of the password-change form of both the first login and the account page,
    a field not posted being None: [] on success, otherwise why not, in the person's words."""
    if current_required and not _matches(credential.password_hash, data.get("current") or ""):
        return [_("Текущий пароль введён неверно.")]
    new = data.get("password") or ""
    if new != (data.get("password_again") or ""):
        return [_("Пароли не совпадают.")]
    try:
        change(credential, new, keep_sid=keep_sid)
    except PasswordRefused as refused:
        return refused.problems
    return []


def credential(credential_id: int) -> PasswordCredential | None:
    return db.session.get(PasswordCredential, credential_id)


def credential_of(user: User) -> PasswordCredential | None:
    """The credential behind a user who logs in with a school-issued login, if any."""
    if user.issuer != ISSUER or not user.subject.isdigit():
        return None
    found = credential(int(user.subject))
    return found if found is not None and found.tenant == user.tenant else None


def _end_sessions_of(credential: PasswordCredential, *, reason: str, keep_sid: str | None = None):
    user = db.session.scalar(
        select(User).filter_by(tenant=credential.tenant, issuer=ISSUER, subject=str(credential.id))
    )
    if user is not None:
        end_sessions(user, keep_sid=keep_sid, reason=reason)

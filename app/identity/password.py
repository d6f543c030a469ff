"""«Вход по логину»: the school-issued login and password as an identity provider.

The identity it returns is the school's own record of the student, so the access decision
matches it with certainty; consent rules apply as to a child's account.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template

from app import passwords
from app.extensions import db
from app.identity import ExternalIdentity, FullName, IdentityProvider, LoginFailed, register
from app.models import PasswordCredential

ISSUER = "urn:myschool:password"


class PasswordChangeRequired(Exception):
    """The password is right but school-issued: the student chooses their own first."""

    def __init__(self, credential: PasswordCredential):
        self.credential = credential


@register
class PasswordProvider(IdentityProvider):
    kind = "password"

    def start_login(self):
        return render_template("auth/password.html", login="", error=None)

    def finish_login(self, args: Mapping[str, str]) -> ExternalIdentity:
        login, password = args.get("login", ""), args.get("password", "")
        credential = passwords.check(self.tenant.slug, login, password)
        if credential is None:
            raise LoginFailed("wrong_credentials", login[:64])
        if credential.must_change:
            raise PasswordChangeRequired(credential)
        return identity_of(credential)


def identity_of(credential: PasswordCredential) -> ExternalIdentity:
    person = credential.person
    return ExternalIdentity(
        issuer=ISSUER,
        subject=str(credential.id),
        full_name=FullName(person.last_name, person.first_name, person.middle_name),
        birth_date=person.birth_date,
        snils=person.snils,
        email=person.email,
        phone=person.phone,
        account_level="SCHOOL",
        confirmed=True,
    )


def credential(credential_id: int) -> PasswordCredential | None:
    return db.session.get(PasswordCredential, credential_id)


def credential_of(user) -> PasswordCredential | None:
    """The credential behind a user who logs in with a school-issued login, if any."""
    if user.issuer != ISSUER or not user.subject.isdigit():
        return None
    found = credential(int(user.subject))
    return found if found is not None and found.tenant == user.tenant else None

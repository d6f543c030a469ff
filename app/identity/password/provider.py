"""«Вход по логину»: the school-issued login and password as an identity provider.

The identity it returns is the school's own record of the student, so the access decision
matches it with certainty; consent rules apply as to a child's account.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template

from app.i18n import N_
from app.identity.base import IdentityProvider, LoginFailed, register
from app.identity.types import ExternalIdentity, FullName, ProviderTraits
from app.models import PasswordCredential

from .credentials import ISSUER, check


class PasswordChangeRequired(Exception):
    """The password is right but school-issued: the student chooses their own first."""

    def __init__(self, credential: PasswordCredential):
        self.credential = credential


@register
class PasswordProvider(IdentityProvider):
    kind = "password"
    # The seeds' words (000): a method's label is configuration, given in each language there.
    default_label = N_("Вход по логину")  # translated when shown (TenantConfig.in_language)
    traits = ProviderTraits(school_issued=True)

    @classmethod
    def issuer_of(cls, config) -> str:
        return ISSUER

    def start_login(self):
        return render_template("auth/password.html", login="", error=None)

    def finish_login(self, args: Mapping[str, str]) -> ExternalIdentity:
        login, password = args.get("login", ""), args.get("password", "")
        credential = check(self.tenant.slug, login, password)
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

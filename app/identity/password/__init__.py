"""The school-issued login and password («Вход по логину»): the provider that signs a
student in with it (``provider``), and the credentials a school issues, the student changes
and the portal checks (``credentials``)."""

from .provider import PasswordChangeRequired, PasswordProvider, identity_of

__all__ = ["PasswordChangeRequired", "PasswordProvider", "identity_of"]

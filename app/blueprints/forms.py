"""Forms that more than one blueprint parses (no blueprint imports another): the
password-change form of both pages that change a school-issued password, the first login
(``auth``) and the account page (``account``).

The form only reads the post: the rules and their words (too short, too common, not the
same twice, wrong current password) are ``credentials``'s, so no field here refuses anything.
"""

from flask_wtf import FlaskForm
from wtforms import PasswordField

from app.i18n import lazy_gettext as _l


class PasswordChangeForm(FlaskForm):
    """A new password typed twice, and the current one where ``asks_current``: the account
    page asks for it; the first login does not, its slip's password having just been checked."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST; the template carries the token

    current = PasswordField(_l("Текущий пароль"))
    password = PasswordField(_l("Новый пароль"))
    password_again = PasswordField(_l("Новый пароль ещё раз"))

    def __init__(self, *args, asks_current: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.asks_current = asks_current
        if not asks_current:
            del self.current

"""The Flask extension objects, created here and wired by ``create_app``."""

from flask import current_app
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
htmx = HTMX()
# Storage comes from RATELIMIT_STORAGE_URI: Redis when configured (shared by every worker and
# instance), memory otherwise.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class _LoginManager(LoginManager):
    def _session_protection_failed(self) -> bool:
        """Flask-Login hashes the client's address and browser (SHA-512) on every request
        before it looks whether session protection is on; here it is off."""
        if not current_app.config.get("SESSION_PROTECTION", self.session_protection):
            return False
        return super()._session_protection_failed()


login_manager = _LoginManager()
login_manager.login_view = "auth.login"
# No flashed message: it would start a session for every anonymous visit of a page behind
# the login. The login page says it itself when it is given ``next``.
login_manager.login_message = None
login_manager.session_protection = None  # sessions are rotated at login and checked per tenant

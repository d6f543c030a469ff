"""School administration: the school administrator issues and resets students' logins."""

from flask import Blueprint

bp = Blueprint("school", __name__, url_prefix="/school")

from . import routes  # noqa: E402, F401  (routes attach to bp)

"""«Доверенные лица»: a parent's four-step invitation, and both sides' lists of grants."""

from flask import Blueprint

bp = Blueprint("trusted", __name__, url_prefix="/trusted")

from . import routes  # noqa: E402, F401  (routes attach to bp)

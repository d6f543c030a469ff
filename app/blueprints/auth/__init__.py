"""Auth: a region's login page with its methods in the configured order, and their start."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402, F401  (routes attach to bp)

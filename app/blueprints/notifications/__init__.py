"""Notifications: the notification centre (consent requests now; invitations, decisions later)."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from . import routes  # noqa: E402, F401  (routes attach to bp)

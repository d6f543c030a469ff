"""Notifications: the notification centre (consent requests now; invitations, decisions later)."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

"""«Доверенные лица»: a parent's four-step invitation, and both sides' lists of grants."""

from flask import Blueprint

bp = Blueprint("trusted", __name__, url_prefix="/trusted")

"""Administration: the regional administrator's pages, on their own region's host only."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

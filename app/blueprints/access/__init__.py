"""Access: the page for each outcome of the access decision, consent on the spot, role choice."""

from flask import Blueprint

bp = Blueprint("access", __name__, url_prefix="/access")

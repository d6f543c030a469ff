"""School administration: the school administrator issues and resets students' logins."""

from flask import Blueprint

bp = Blueprint("school", __name__, url_prefix="/school")

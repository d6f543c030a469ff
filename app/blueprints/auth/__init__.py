"""Auth: a region's login page with its methods in the configured order, and their start."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

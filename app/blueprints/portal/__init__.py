"""Portal: the apex host's region chooser, each region's home and its branding stylesheet."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

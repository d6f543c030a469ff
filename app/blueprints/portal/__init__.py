"""Portal: the apex host's region chooser, each region's home and its branding stylesheet,
and the switch to the version for the visually impaired that every page carries."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

"""Portal: the apex host's region chooser, each region's home and its branding stylesheet,
and the switch to the version for the visually impaired that every page carries."""

from flask import Blueprint

bp = Blueprint("portal", __name__)


@bp.after_app_request
def _pages_differ_by_the_vision_cookie(response):
    """Every page comes in two versions, by the visitor's cookie: no shared cache may give
    one visitor's version to another."""
    if response.mimetype == "text/html":
        response.vary.add("Cookie")
    return response

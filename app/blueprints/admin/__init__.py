"""Administration: the regional administrator's pages, on their own region's host only.

The views live in ``routes`` (the region's configuration, drafts, erasure) and one module per
page family (accounts, audit, checks, imports, stats); ``register_blueprints`` imports them
all, so this package imports none of them.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

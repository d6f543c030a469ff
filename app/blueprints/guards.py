"""Guards for pages of a role: on the role's region host, signed in, and holding the role
now (checked against the database on every request, so a revoked role ends at once).
A refusal is a 403 and an audit row."""

from collections.abc import Callable
from functools import wraps

from flask import abort, render_template, request
from flask_login import current_user, login_required

from app import audit
from app.extensions import htmx
from app.tenants import tenant_required


def requires(holds_role: Callable[[object], object]):
    def decorator(view):
        @wraps(view)
        @tenant_required
        @login_required
        def wrapped(*args, **kwargs):
            if not holds_role(current_user):
                audit.record("forbidden", actor_id=current_user.id, path=request.path)
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def confirmed() -> bool:
    """A destructive action acts only on a POST that says so (``confirm=yes``); the first one
    asks — as a page without JavaScript, swapped in place with htmx: the same server step."""
    return request.form.get("confirm") == "yes"


def ask_first(confirm: dict):
    """The question a destructive action asks before it acts (``confirm``: id, title,
    question, effect, yes, action, back, and optionally fields to ``keep``): swapped in place
    with htmx, a page of its own without JavaScript."""
    if htmx and not htmx.boosted:
        return render_template("confirm/_question.html", confirm=confirm, in_place=True)
    return render_template("confirm/page.html", confirm=confirm)

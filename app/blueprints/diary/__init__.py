"""Diary: the e-diary a person reaches once the access decision lets them in."""

from functools import lru_cache

from flask import Blueprint, current_app
from markupsafe import Markup

bp = Blueprint("diary", __name__, url_prefix="/diary")

# Rendered diary bodies kept per worker (each some tens of kB).
BODIES_KEPT = 256


def _render_body(page, role: str, today, idp, language: str) -> Markup:
    """``language``: the page's, which the body's words and dates are in (part of the key: a
    body is never served in another language than it was rendered in)."""
    from app.diary.calendar import human_date, week_param

    template = current_app.jinja_env.get_template("diary/_diary.html")
    return Markup(template.render(page=page, role=role, today=today, idp=idp,  # noqa: S704
                                  week_param=week_param, human_date=human_date))  # fmt: skip


@bp.record_once
def _keep_bodies(state) -> None:
    """The diary's part of a page is a function of its values alone: the page (student,
    children, week, marks: immutable), the role, the day, the provider's name and the page's
    language. Each worker keeps the last bodies it rendered, keyed by those values, so a page
    seen again (a parent switching back to a child, a week revisited, a reload) costs no
    rendering, and changed data is another key: never a stale page."""
    state.app.extensions["diary_bodies"] = lru_cache(maxsize=BODIES_KEPT)(_render_body)

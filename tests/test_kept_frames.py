"""The kept frame around a signed-in person's page (``app.page_cache.framed``, the diary): the
same bytes as the page rendered whole, for anyone, at any address, in any language, look and
role; shared between people and addresses, never holding anything of one person; and not kept
when the page shows a flash or a draft."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from flask import flash, g, get_flashed_messages, render_template, session
from flask_login import login_user
from jinja2 import ChoiceLoader, DictLoader
from markupsafe import Markup

from app import notifications, page_cache, signin
from app.access import ROLE_LABELS
from app.extensions import db
from app.models import User
from tests.test_page_cache import save_elsewhere

TEMPLATE = "diary/home.html"
# The content a frame is filled with: a diary body, with what could confuse a filler.
CONTENT = Markup('<div id="diary"><p>frame content csrf name unread next</p></div>')
PATHS = (
    "/diary/",
    "/diary/?week=2026-W49&child=6",
    "/diary/?week=2026-W49&child=<script>alert('x')</script>",
    '/diary/?week=неделя&child=6 7&x="1"',
)
COOKIES = ("", "lang=en", "lang=tt", "vision=on", "lang=en; vision=on")


@pytest.fixture
def people(app):
    with app.app_context():
        names = ("Образцова Анна Петровна", 'О\'Тестова <b>Мария</b> & "Сын"')
        users = [User(tenant=slug, issuer="urn:test", subject=f"frame-{slug}-{n}",
                      display_name=name, surname_key="тест")
                 for slug in ("mosreg", "tatarstan") for n, name in enumerate(names)]  # fmt: skip
        db.session.add_all(users)
        db.session.commit()
        return {(user.tenant, user.display_name): user.id for user in users}


@pytest.fixture
def unread(monkeypatch):
    """Each person's unread count, as the test sets it; the badge and the frame both ask."""
    counts: dict[int, int] = {}
    monkeypatch.setattr(notifications, "unread_count", lambda user: counts.get(user.id, 0))
    return counts


@pytest.fixture
def acting_as(monkeypatch):
    """The login's access: whether its current role is the region's administration."""
    state = SimpleNamespace(admin=False)
    monkeypatch.setattr(signin, "current_access",
                        lambda: SimpleNamespace(acting_as_regional_admin=state.admin))  # fmt: skip
    return state


def pages(app, slug: str, user_id: int, path: str, cookies: str, role: str, several: bool):
    """The page rendered whole and the page from its kept frame, in one request."""
    headers = {"Host": f"{slug}.localhost", "Cookie": cookies}
    with app.test_request_context(path, headers=headers):
        app.preprocess_request()  # binds the region, as for any request
        login_user(db.session.get(User, user_id))
        common = {"role": role, "role_label": ROLE_LABELS[role], "several_roles": several}
        whole = render_template(TEMPLATE, diary_body=CONTENT, **common)
        kept = page_cache.framed(TEMPLATE, "diary_body", CONTENT, shows=(role, several), **common)
        return whole, kept


def frames(app) -> list[str]:
    kept = app.extensions["page_frames"]
    return ["".join(pieces) for pieces in kept._items.values()]


def test_a_framed_page_is_the_page_rendered_whole(app, people, unread, acting_as):
    views = 0
    for (slug, name), user_id in people.items():
        for path, cookies, count in itertools.product(PATHS, COOKIES, (0, 3)):
            unread[user_id] = count
            whole, kept = pages(app, slug, user_id, path, cookies, "guardian", False)
            assert kept == whole, (slug, name, path, cookies, count)
            views += 1
        for role, several, admin in itertools.product(("guardian", "student", "trusted"),
                                                      (False, True), (False, True)):  # fmt: skip
            acting_as.admin = admin
            whole, kept = pages(app, slug, user_id, "/diary/?week=2026-W49", "", role, several)
            assert kept == whole, (slug, name, role, several, admin)
            views += 1
        acting_as.admin = False
    # Shared: a frame per region, language, look, unread or not, role and menu; not per
    # person or address.
    assert 0 < len(frames(app)) < views / 4


def test_hosts_share_their_regions_frame_and_plain_text_is_escaped(app, people, unread, acting_as):
    user_id = people["mosreg", "Образцова Анна Петровна"]
    common = {"role": "guardian", "role_label": "Родитель", "several_roles": False}
    for host in ("mosreg.localhost", "mosreg.localhost:8000", "myschool.mosreg.ru"):
        with app.test_request_context("/diary/", headers={"Host": host}):
            app.preprocess_request()
            login_user(db.session.get(User, user_id))
            text = "<script>alert(1)</script>"  # not Markup: escaped, as the template does
            whole = render_template(TEMPLATE, diary_body=text, **common)
            kept = page_cache.framed(TEMPLATE, "diary_body", text, shows=("guardian", False),
                                     **common)  # fmt: skip
        assert kept == whole and "&lt;script&gt;" in kept
    assert len(frames(app)) == 1


def test_a_frame_holds_nothing_of_a_person(app, people, unread, acting_as):
    for (slug, name), user_id in people.items():
        unread[user_id] = 7
        with app.test_request_context("/diary/?child=6", headers={"Host": f"{slug}.localhost"}):
            app.preprocess_request()
            login_user(db.session.get(User, user_id))
            common = {"role": "guardian", "role_label": "Родитель", "several_roles": False}
            page = page_cache.framed(TEMPLATE, "diary_body", CONTENT, shows=("guardian", False),
                                     **common)  # fmt: skip
            token = g.csrf_token
        assert token in page and str(Markup.escape(name)) in page
        for frame in frames(app):
            assert token not in frame and "Образцова" not in frame and "Тестова" not in frame
            assert "child=6" not in frame and ">7<" not in frame and CONTENT not in frame


def test_a_flash_or_a_draft_preview_is_rendered_and_not_kept(app, people, unread, acting_as):
    user_id = people["mosreg", "Образцова Анна Петровна"]
    common = {"role": "guardian", "role_label": "Родитель", "several_roles": False}
    with app.test_request_context("/diary/", headers={"Host": "mosreg.localhost"}):
        app.preprocess_request()
        login_user(db.session.get(User, user_id))
        flash("Настройки сохранены.", "success")
        page = page_cache.framed(TEMPLATE, "diary_body", CONTENT, shows=("guardian", False),
                                 **common)  # fmt: skip
    assert "Настройки сохранены." in page
    with app.test_request_context("/diary/", headers={"Host": "mosreg.localhost"}):
        app.preprocess_request()
        login_user(db.session.get(User, user_id))
        g.draft_preview = SimpleNamespace(base="v1", revision=1)
        page = page_cache.framed(TEMPLATE, "diary_body", CONTENT, shows=("guardian", False),
                                 **common)  # fmt: skip
    assert 'id="draft-preview"' in page
    with app.test_request_context("/diary/", headers={"Host": "mosreg.localhost"}):
        app.preprocess_request()
        login_user(db.session.get(User, user_id))
        flash("Сохранено для этого человека.", "success")
        assert get_flashed_messages()  # read before the page: no longer in the session
        page = page_cache.framed(TEMPLATE, "diary_body", CONTENT, shows=("guardian", False),
                                 **common)  # fmt: skip
    assert "Сохранено для этого человека." in page
    assert frames(app) == []


def test_a_saved_configuration_makes_a_new_frame(app, people, unread, acting_as, database_uri):
    app.config["TENANT_REFRESH_SECONDS"] = 0  # every request asks for the regions' versions
    user_id = people["mosreg", "Образцова Анна Петровна"]
    _, before = pages(app, "mosreg", user_id, "/diary/", "", "guardian", False)

    def rename(raw):
        raw["branding"]["full_name"] = "Подмосковье, проверка рамки"

    save_elsewhere(database_uri, "mosreg", rename)
    whole, after = pages(app, "mosreg", user_id, "/diary/", "", "guardian", False)
    assert "Подмосковье, проверка рамки" not in before
    assert "Подмосковье, проверка рамки" in after and after == whole


def test_a_frame_that_shows_the_real_token_is_rendered_and_not_kept(app, people, unread, acting_as):
    """A macro imported without the page's context reaches the real csrf_token(), not the
    frame's marker, and puts one person's token in the frame: such a page is rendered whole
    and never kept, whether its token was signed then or kept from an earlier page."""
    app.jinja_env.loader = ChoiceLoader([DictLoader({
        "probe/framed.html": '{% import "probe/token.html" as t %}<p>{{ t.token() }}</p>'
                             "{{ diary_body }}",
        "probe/token.html": "{% macro token() %}{{ csrf_token() }}{% endmacro %}",
    }), app.jinja_env.loader])  # fmt: skip
    user_id = people["mosreg", "Образцова Анна Петровна"]
    for _ in range(2):  # the token signed, then kept
        with app.test_request_context("/diary/", headers={"Host": "mosreg.localhost"}):
            app.preprocess_request()
            login_user(db.session.get(User, user_id))
            session["csrf_token"] = "e" * 40
            page = page_cache.framed("probe/framed.html", "diary_body", CONTENT, shows=("probe",))
            token = g.csrf_token
        assert page == f"<p>{token}</p>{CONTENT}"
    assert not frames(app)

"""Drafts of a region's configuration (docs/admin.md): saved per administrator, seen on the
region's real host by their author only, published as the served version (refused over a
version published meanwhile, with both sides' changes shown), discarded; a changed identity
provider publishes only after its check passes, or with an audited override."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from app.accounts import grant_regional_admin, revoke_regional_admin
from app.blueprints.admin import routes as admin_routes
from app.extensions import db
from app.identity.checks import CheckItem, ProviderCheck
from app.models import AuditEvent, TenantVersion, User
from app.models.tenants import ConfigDraft

ISSUER = "https://esia.gosuslugi.ru/"
SERVED_FOOTER = "Портал входа в электронный дневник Калужской области"
DRAFT_COLOUR = "#7a1f5c"
DRAFT_FOOTER = "Черновик: новый текст внизу страницы"
BANNER = "Вы видите черновик настроек региона"


# --- people and pages --------------------------------------------------------------------------


def appoint(app, slug: str, subject: str, name: str) -> int:
    with app.app_context():
        return grant_regional_admin(slug, ISSUER, subject, name).id


def sign_in(region_client, slug: str, user_id: int, *, role: str = "regional_admin"):
    """A browser whose session is that of a person who just logged in on ``slug``'s host."""
    client = region_client(slug)
    with client.session_transaction(base_url=f"http://{slug}.localhost/") as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session["access"] = {"outcome": "diary", "method": "esia", "roles": [{"kind": role}]}
        session["role"] = role
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/admin/config")))[1]


def form_of(page: str) -> dict[str, str]:
    """Every field of the configuration form as a browser would submit it."""
    data: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="file"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        data[name[1]] = value[1] if value else ""
    return data


def edited(client, **changes) -> dict[str, str]:
    """The configuration form as opened now, with ``changes`` typed in (None: unticked)."""
    data = form_of(text(client.get("/admin/config")))
    for key, value in changes.items():
        path = key.replace("__", ".")
        if value is None:
            data.pop(path, None)
        else:
            data[path] = value
    return data


def save_draft(client, **changes):
    response = client.post("/admin/config/draft", data=edited(client, **changes))
    assert response.status_code == 303, text(response)[:2000]
    return response


def publish(client, **extra):
    data = {"csrf_token": token(client), "confirm": "yes", **extra}
    return client.post("/admin/config/draft/publish", data=data)


def primary(client) -> str:
    return re.search(r"--primary: (#[0-9a-f]{6})", text(client.get("/branding.css")))[1]


def the_draft(app, user_id: int) -> ConfigDraft | None:
    with app.app_context():
        return db.session.scalar(select(ConfigDraft).filter_by(author_id=user_id))


def versions_of(app, slug: str) -> list[TenantVersion]:
    with app.app_context():
        return db.session.scalars(
            select(TenantVersion).filter_by(tenant=slug).order_by(TenantVersion.number)
        ).all()


def events(app, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).filter_by(kind=kind)).all()


@pytest.fixture
def kaluga_admin(app, region_client):
    """A regional administrator of Kaluga, signed in: (their browser, their account id)."""
    user_id = appoint(app, "kaluga", "9000001", "Черновикова Анна Тестовна")
    return sign_in(region_client, "kaluga", user_id), user_id


@pytest.fixture
def served_colour(region_client) -> str:
    return primary(region_client("kaluga"))


# --- the preview: its author's browser only ----------------------------------------------------


def test_the_preview_is_seen_only_by_its_author(app, region_client, kaluga_admin, served_colour):
    author, author_id = kaluga_admin
    save_draft(author, branding__primary_color=DRAFT_COLOUR, branding__footer_text=DRAFT_FOOTER,
               method__password=None)  # fmt: skip
    assert primary(author) == served_colour  # saved is not shown: not even to its author yet

    started = author.post("/admin/config/draft/preview", data={"csrf_token": token(author)})
    assert started.status_code == 303
    login = author.get(started.headers["Location"])
    page = text(login)
    assert login.status_code == 200 and BANNER in page and DRAFT_FOOTER in page
    assert "Вход по логину" not in page and "Госуслуги" in page  # the draft's login methods
    assert "Выйти из просмотра" in page and "Опубликовать" in page
    # The author's other tabs (the same browser) see the draft on every page, never cached.
    css = author.get("/branding.css")
    assert f"--primary: {DRAFT_COLOUR}" in text(css) and css.headers["Cache-Control"] == "no-store"
    for path in ("/admin/", "/admin/config/history", "/no-such-page"):
        shown = text(author.get(path))
        assert BANNER in shown and DRAFT_FOOTER in shown and SERVED_FOOTER not in shown

    # An anonymous visitor sees the served version.
    visitor = region_client("kaluga")
    visitor_login = text(visitor.get("/login"))
    assert BANNER not in visitor_login and DRAFT_FOOTER not in visitor_login
    assert SERVED_FOOTER in visitor_login and "Вход по логину" in visitor_login
    assert primary(visitor) == served_colour

    # So does another administrator of the same region, even with the author's draft id
    # planted in their own session.
    other_id = appoint(app, "kaluga", "9000002", "Публикова Вера Тестовна")
    other = sign_in(region_client, "kaluga", other_id)
    draft = the_draft(app, author_id)
    with other.session_transaction(base_url="http://kaluga.localhost/") as session:
        session["config_preview"] = {"tenant": "kaluga", "draft": draft.id}
    other_page = text(other.get("/admin/"))
    assert BANNER not in other_page and SERVED_FOOTER in other_page
    assert primary(other) == served_colour

    # And the same administrator's other region: their session there is another one, and
    # the author's cookie is worth nothing on that host.
    mosreg_id = appoint(app, "mosreg", "9000001", "Черновикова Анна Тестовна")
    mosreg = sign_in(region_client, "mosreg", mosreg_id)
    assert BANNER not in text(mosreg.get("/admin/"))
    cookie = author.get_cookie("session", domain="kaluga.localhost").value
    stranger = region_client("mosreg")
    stranger.set_cookie("session", cookie, domain="mosreg.localhost")
    page = text(stranger.get("/login"))
    assert BANNER not in page and DRAFT_FOOTER not in page and DRAFT_COLOUR not in page

    # «Выйти из просмотра»: one press, and the author sees the served version again.
    left = author.post("/admin/config/draft/preview/end", data={"csrf_token": token(author)})
    assert left.status_code == 303
    after = text(author.get(left.headers["Location"]))
    assert BANNER not in after and "Просмотр черновика завершён" in after
    assert primary(author) == served_colour
    assert len(events(app, "config_preview_started")) == 1


def test_the_preview_ends_when_the_author_is_no_longer_an_administrator(
    app, region_client, kaluga_admin, served_colour
):
    author, _ = kaluga_admin
    save_draft(author, branding__primary_color=DRAFT_COLOUR)
    author.post("/admin/config/draft/preview", data={"csrf_token": token(author)})
    assert primary(author) == DRAFT_COLOUR
    with app.app_context():
        assert revoke_regional_admin("kaluga", ISSUER, "9000001")
    assert primary(author) == served_colour
    assert BANNER not in text(author.get("/login"))
    with app.app_context():  # rights given back: the preview was ended, not just hidden
        grant_regional_admin("kaluga", ISSUER, "9000001", "Черновикова Анна Тестовна")
    assert primary(author) == served_colour


def test_a_preview_of_a_draft_that_is_not_there_is_refused(kaluga_admin):
    author, _ = kaluga_admin
    refused = author.post("/admin/config/draft/preview", data={"csrf_token": token(author)})
    assert refused.status_code == 303
    assert "Черновик изменился или его уже нет" in text(author.get(refused.headers["Location"]))
    with author.session_transaction(base_url="http://kaluga.localhost/") as session:
        session["config_preview"] = {"tenant": "kaluga", "draft": 2**40}
    assert BANNER not in text(author.get("/admin/"))
    with author.session_transaction(base_url="http://kaluga.localhost/") as session:
        assert "config_preview" not in session  # not looked up again


# --- the draft is the administrator's, not the session's ---------------------------------------


def test_the_draft_survives_sign_out_and_sign_in(app, region_client, kaluga_admin, served_colour):
    author, author_id = kaluga_admin
    save_draft(author, branding__footer_text=DRAFT_FOOTER, comment="новый текст внизу")
    author.post("/admin/config/draft/preview", data={"csrf_token": token(author)})
    assert DRAFT_FOOTER in text(author.get("/admin/"))

    signed_out = author.post("/logout", data={"csrf_token": token(author)})
    assert signed_out.status_code == 302
    login = text(author.get("/login"))  # signing out ended the preview
    assert BANNER not in login and DRAFT_FOOTER not in login and SERVED_FOOTER in login

    again = sign_in(region_client, "kaluga", author_id)
    page = text(again.get("/admin/config"))
    assert "Форма заполнена вашим черновиком" in page
    assert f'value="{DRAFT_FOOTER}"' in page and 'value="новый текст внизу"' in page
    assert DRAFT_FOOTER in text(again.get("/admin/config/draft"))
    assert BANNER not in page and SERVED_FOOTER in page  # not previewing until asked again
    assert primary(again) == served_colour


def test_two_saves_at_once_leave_one_draft(app, region_client, kaluga_admin):
    _, author_id = kaluga_admin
    tabs = [sign_in(region_client, "kaluga", author_id) for _ in range(2)]
    forms = [edited(tab, branding__footer_text=f"вкладка {i}") for i, tab in enumerate(tabs)]
    start, answers = threading.Barrier(2), []

    def send(tab, data):
        start.wait()
        answers.append(tab.post("/admin/config/draft", data=data).status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(tabs, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [303, 303]
    with app.app_context():
        rows = db.session.scalars(select(ConfigDraft).filter_by(author_id=author_id)).all()
    assert len(rows) == 1 and rows[0].revision == 2
    assert rows[0].config["branding"]["footer_text"] in {"вкладка 0", "вкладка 1"}


# --- publishing -------------------------------------------------------------------------------


def test_publishing_asks_then_makes_the_draft_the_served_version(
    app, region_client, kaluga_admin, served_colour
):
    author, author_id = kaluga_admin
    save_draft(author, branding__primary_color=DRAFT_COLOUR, comment="новый цвет")
    author.post("/admin/config/draft/preview", data={"csrf_token": token(author)})
    revision = the_draft(app, author_id).revision

    asked = author.post("/admin/config/draft/publish",
                        data={"csrf_token": token(author), "revision": revision})  # fmt: skip
    assert asked.status_code == 200
    assert "Опубликовать черновик как версию 1?" in text(asked)
    assert "Изменится: Основной цвет." in text(asked)
    assert primary(region_client("kaluga")) == served_colour and versions_of(app, "kaluga") == []

    published = publish(author, revision=revision)
    assert published.status_code == 303
    history = text(author.get(published.headers["Location"]))
    assert "Сохранена версия 1" in history and "новый цвет" in history
    assert BANNER not in history  # published: nothing left to preview
    assert primary(region_client("kaluga")) == DRAFT_COLOUR
    [version] = versions_of(app, "kaluga")
    assert version.author_id == author_id and version.comment == "новый цвет"
    assert the_draft(app, author_id) is None
    assert "У вас нет черновика" in text(author.get("/admin/config/draft"))

    again = publish(author, revision=revision)  # a double submit publishes nothing more
    assert "Черновик изменился или его уже нет" in text(author.get(again.headers["Location"]))
    assert len(versions_of(app, "kaluga")) == 1


def test_a_draft_saved_again_elsewhere_is_not_published_unseen(app, kaluga_admin):
    author, author_id = kaluga_admin
    save_draft(author, branding__footer_text="первый вариант")
    seen = the_draft(app, author_id).revision
    save_draft(author, branding__footer_text="второй вариант")  # another tab
    refused = publish(author, revision=seen)
    assert refused.status_code == 303 and versions_of(app, "kaluga") == []
    assert the_draft(app, author_id).config["branding"]["footer_text"] == "второй вариант"


def test_publishing_at_once_from_the_form_ends_the_draft_it_was_opened_from(
    app, region_client, kaluga_admin
):
    author, author_id = kaluga_admin
    save_draft(author, branding__primary_color=DRAFT_COLOUR)
    data = edited(author, comment="сразу")
    assert data["draft"] == str(the_draft(app, author_id).revision)
    page = author.post("/admin/config", data=data)
    assert page.status_code == 302
    assert primary(region_client("kaluga")) == DRAFT_COLOUR
    assert the_draft(app, author_id) is None


def test_publishing_at_once_leaves_a_draft_the_form_was_not_opened_from(app, kaluga_admin):
    author, author_id = kaluga_admin
    data = edited(author, branding__footer_text="сразу, без черновика")
    save_draft(author, branding__footer_text=DRAFT_FOOTER)  # meanwhile, in another tab
    for planted in ("9" * 30, "-1", "x"):
        data["draft"] = planted
        assert author.post("/admin/config", data=data).status_code in (302, 409)
    assert [v.config["branding"]["footer_text"] for v in versions_of(app, "kaluga")] == [
        "сразу, без черновика"
    ]
    assert the_draft(app, author_id).config["branding"]["footer_text"] == DRAFT_FOOTER


def test_publishing_over_a_changed_version_is_refused_with_both_sides_changes(
    app, region_client, kaluga_admin, served_colour
):
    author, author_id = kaluga_admin
    save_draft(author, branding__footer_text=DRAFT_FOOTER, branding__support__hours="круглосуточно")
    other_id = appoint(app, "kaluga", "9000002", "Публикова Вера Тестовна")
    other = sign_in(region_client, "kaluga", other_id)
    # The other administrator publishes at once, over the same version.
    assert other.post("/admin/config", data=edited(other, branding__primary_color="#1a5e20",
                                                   branding__support__hours="с 9 до 18",
                                                   comment="зелёный")).status_code == 302  # fmt: skip

    refused = publish(author)
    page = text(refused)
    assert refused.status_code == 409
    assert "Пока черновик ждал, опубликована версия 1" in page
    theirs, mine = page.split("Ваши изменения в черновике")
    assert "Публикова Вера Тестовна" in theirs and "«зелёный»" in theirs
    assert re.search(r"Основной цвет:</strong>.*" + served_colour + r".*→.*#1a5e20", theirs, re.S)
    assert "Основной цвет" not in mine and DRAFT_FOOTER in mine
    assert "Часы работы" in theirs and "Часы работы" in mine
    assert re.search(r"изменили и вы, и после вас[^<]*Часы работы", page)  # both changed it
    assert the_draft(app, author_id) is not None  # kept
    visitor = text(region_client("kaluga").get("/login"))
    assert DRAFT_FOOTER not in visitor and "с 9 до 18" in visitor
    assert len(versions_of(app, "kaluga")) == 1

    # The draft page says so too, and carries the draft over to the new version.
    assert "Пока черновик ждал, опубликована версия 1" in text(author.get("/admin/config/draft"))
    moved = author.post("/admin/config/draft/rebase", data={"csrf_token": token(author)})
    assert "перенесены на действующую версию" in text(author.get(moved.headers["Location"]))
    rebased = the_draft(app, author_id)
    assert rebased.base == 1
    assert rebased.config["branding"]["primary_color"] == "#1a5e20"  # theirs kept
    assert rebased.config["branding"]["footer_text"] == DRAFT_FOOTER  # mine carried over
    assert rebased.config["branding"]["support"]["hours"] == "круглосуточно"  # mine wins
    assert publish(author).status_code == 303
    visitor = text(region_client("kaluga").get("/login"))
    assert DRAFT_FOOTER in visitor and "круглосуточно" in visitor
    assert primary(region_client("kaluga")) == "#1a5e20"


# --- discarding --------------------------------------------------------------------------------


def test_discarding_asks_first_then_removes_the_draft(app, region_client, kaluga_admin):
    author, author_id = kaluga_admin
    save_draft(author, branding__footer_text=DRAFT_FOOTER)
    author.post("/admin/config/draft/preview", data={"csrf_token": token(author)})

    asked = author.post("/admin/config/draft/discard", data={"csrf_token": token(author)})
    assert asked.status_code == 200 and "Удалить ваш черновик настроек?" in text(asked)
    assert the_draft(app, author_id) is not None

    gone = author.post("/admin/config/draft/discard",
                       data={"csrf_token": token(author), "confirm": "yes"})  # fmt: skip
    assert gone.status_code == 303 and the_draft(app, author_id) is None
    page = text(author.get(gone.headers["Location"]))
    assert "Черновик удалён" in page and BANNER not in page
    assert "Форма заполнена вашим черновиком" not in page and DRAFT_FOOTER not in page
    assert SERVED_FOOTER in text(region_client("kaluga").get("/login"))
    assert versions_of(app, "kaluga") == []
    assert [e.actor_id for e in events(app, "config_draft_discarded")] == [author_id]
    again = author.post("/admin/config/draft/discard",
                        data={"csrf_token": token(author), "confirm": "yes"})  # fmt: skip
    assert "Черновик изменился или его уже нет" in text(author.get(again.headers["Location"]))


# --- a changed identity provider ---------------------------------------------------------------


def failing_check(config) -> ProviderCheck:
    return ProviderCheck(config.identity_provider.kind, (
        CheckItem("endpoints", "Адреса входа отвечают", True, "Отвечают."),
        CheckItem("certificate", "Наш сертификат", False, "Срок действия сертификата истёк."),
    ))  # fmt: skip


def passing_check(config) -> ProviderCheck:
    return ProviderCheck(
        config.identity_provider.kind,
        (CheckItem("endpoints", "Адреса входа отвечают", True, "Отвечают."),),
    )


@pytest.fixture
def checked(monkeypatch):
    """The provider check as the publication calls it, answered by ``checked.answer``."""
    calls = []

    def check(config):
        calls.append(config.identity_provider.client_id)
        return check.answer(config)

    check.calls, check.answer = calls, failing_check
    monkeypatch.setattr(admin_routes, "_provider_check", check)
    return check


def test_a_changed_provider_is_published_only_after_its_check_passes_or_an_override(
    app, region_client, kaluga_admin, checked
):
    author, author_id = kaluga_admin
    save_draft(author, identity_provider__client_id="NEW-CLIENT-ID")

    refused = publish(author)
    page = text(refused)
    assert refused.status_code == 422 and checked.calls == ["NEW-CLIENT-ID"]
    assert "проверка поставщика не пройдена" in page
    assert re.search(r'<th scope="row">Наш сертификат</th>\s*<td>не пройдено</td>\s*'
                     r"<td>Срок действия сертификата истёк.</td>", page)  # fmt: skip
    assert versions_of(app, "kaluga") == [] and the_draft(app, author_id) is not None

    no_reason = publish(author, override="yes", reason="  ")
    assert no_reason.status_code == 422
    field = re.search(r'<input type="text" id="reason"[^>]*>', text(no_reason))[0]
    assert 'aria-describedby="reason-error"' in field and 'aria-invalid="true"' in field
    assert versions_of(app, "kaluga") == []

    overridden = publish(author, override="yes", reason="Сертификат заменят сегодня вечером")
    assert overridden.status_code == 303
    [version] = versions_of(app, "kaluga")
    assert version.config["identity_provider"]["client_id"] == "NEW-CLIENT-ID"
    [event] = events(app, "provider_check_overridden")
    assert event.actor_id == author_id and event.tenant == "kaluga"
    assert event.detail["reason"] == "Сертификат заменят сегодня вечером"
    assert any("Наш сертификат" in item for item in event.detail["failed"])


def test_a_passing_check_publishes_and_an_unchanged_provider_is_not_checked(
    app, kaluga_admin, checked
):
    author, _ = kaluga_admin
    checked.answer = passing_check
    save_draft(author, identity_provider__client_id="NEW-CLIENT-ID")
    assert publish(author).status_code == 303
    assert checked.calls == ["NEW-CLIENT-ID"]
    checked.answer = failing_check
    save_draft(author, branding__footer_text=DRAFT_FOOTER)
    assert publish(author).status_code == 303
    assert checked.calls == ["NEW-CLIENT-ID"] and len(versions_of(app, "kaluga")) == 2
    assert events(app, "provider_check_overridden") == []


def test_publishing_at_once_with_a_failing_check_keeps_the_edit_as_the_draft(
    app, kaluga_admin, checked
):
    author, author_id = kaluga_admin
    page = author.post("/admin/config", data=edited(author, identity_provider__client_id="X-1"))
    assert page.status_code == 422 and "проверка поставщика не пройдена" in text(page)
    assert versions_of(app, "kaluga") == []
    assert the_draft(app, author_id).config["identity_provider"]["client_id"] == "X-1"


# --- who may, and what is refused --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/config/draft", {}),
        ("/admin/config/draft/preview", {}),
        ("/admin/config/draft/publish", {"confirm": "yes"}),
        ("/admin/config/draft/discard", {"confirm": "yes"}),
        ("/admin/config/draft/rebase", {}),
    ],
)
def test_draft_actions_need_the_form_token_and_the_role(
    app, region_client, kaluga_admin, path, data
):
    author, author_id = kaluga_admin
    save_draft(author, branding__footer_text=DRAFT_FOOTER)
    assert author.post(path, data=data).status_code == 400  # no CSRF token
    parent_id = appoint(app, "kaluga", "9000009", "Родителева Ольга Тестовна")
    with app.app_context():
        revoke_regional_admin("kaluga", ISSUER, "9000009")
    parent = sign_in(region_client, "kaluga", parent_id, role="guardian")
    page = text(parent.get("/no-such-page"))  # any page of a session carries its token
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page)[1]
    assert parent.post(path, data={"csrf_token": csrf, **data}).status_code == 403
    anonymous = region_client("kaluga")
    assert anonymous.post(path, data=data).status_code in (400, 302)
    assert the_draft(app, author_id).config["branding"]["footer_text"] == DRAFT_FOOTER
    assert versions_of(app, "kaluga") == []


def test_another_regions_administrator_never_reaches_this_draft(app, region_client, kaluga_admin):
    author, author_id = kaluga_admin
    save_draft(author, branding__footer_text=DRAFT_FOOTER)
    mosreg_id = appoint(app, "mosreg", "9000003", "Московская Ирина Тестовна")
    mosreg = sign_in(region_client, "mosreg", mosreg_id)
    assert "У вас нет черновика" in text(mosreg.get("/admin/config/draft"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', text(mosreg.get("/admin/config")))[1]
    refused = mosreg.post("/admin/config/draft/publish", data={"csrf_token": csrf,
                                                                "confirm": "yes"})  # fmt: skip
    assert refused.status_code == 303
    assert mosreg.post("/admin/config/draft/discard",
                       data={"csrf_token": csrf, "confirm": "yes"}).status_code == 303  # fmt: skip
    assert the_draft(app, author_id) is not None and versions_of(app, "kaluga") == []


@pytest.mark.parametrize("base", ["9" * 30, "²", "-1", "один", ""])
def test_an_overlong_comment_is_cut_and_a_mangled_base_is_the_latest(app, kaluga_admin, base):
    author, author_id = kaluga_admin
    data = edited(author, comment="я" * 5000)
    data["base"] = base
    assert author.post("/admin/config/draft", data=data).status_code == 303
    draft = the_draft(app, author_id)
    assert len(draft.comment) == 500 and draft.base == 0
    with app.app_context():
        saved = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .filter_by(kind="config_draft_saved"))  # fmt: skip
        user = db.session.get(User, author_id)
    assert saved == 1 and user.tenant == "kaluga"

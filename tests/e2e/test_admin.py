"""A1–A4 and the rest of regional administration, over HTTP against the live portal."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from app import create_app
from app.accounts import grant_regional_admin
from app.extensions import db
from app.models import AuditEvent, School, TenantVersion, User
from app.settings import PROJECT_ROOT
from app.tenants.versions import save, source_config
from tests.conftest import test_environ
from tests.live import CSRF_RE

NEW_PRIMARY = "#7a1f5c"


def admin(browser, slug="mosreg"):
    b = browser(slug)
    b.esia_login("ADM")
    return b


def form_of(page) -> dict[str, str]:
    """Every field of the configuration form as a browser would submit it."""
    data: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", page.text):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="file"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        data[name[1]] = value[1] if value else ""
    return data


def edit(b, **changes) -> dict[str, str]:
    data = form_of(b.get("/admin/config"))
    for key, value in changes.items():
        path = key.replace("__", ".")
        if value is None:
            data.pop(path, None)
        else:
            data[path] = value
    return data


def primary_colour(b) -> str:
    return re.search(r"--primary: (#[0-9a-f]{6})", b.get("/branding.css").text)[1]


def test_a1_colour_and_login_methods_change_after_a_preview(browser, live):
    b = admin(browser)
    data = edit(b, branding__primary_color=NEW_PRIMARY, method__password=None,
                comment="Новый цвет, только Госуслуги")  # fmt: skip
    preview = b.post("/admin/config/preview", data, headers={"HX-Request": "true"})
    assert preview.text.lstrip().startswith('<div id="preview"')
    assert "Вход по логину" not in preview.text and "Госуслуги" in preview.text
    css = re.search(r'href="(/admin/config/preview.css\?d=[^"]+)"', preview.text)[1]
    assert f"--primary: {NEW_PRIMARY}" in b.get(css).text
    assert primary_colour(browser("mosreg")) != NEW_PRIMARY  # nothing saved yet

    b.get("/admin/config")
    page = b.post("/admin/config", data)
    assert "Сохранена версия 1" in page.text and "Новый цвет, только Госуслуги" in page.text
    visitor = browser("mosreg")
    assert primary_colour(visitor) == NEW_PRIMARY
    login = visitor.get("/login")
    assert "Вход по логину" not in login.text and visitor.get("/login/password").status_code == 404
    kaluga = browser("kaluga")
    assert primary_colour(kaluga) != NEW_PRIMARY and "Вход по логину" in kaluga.get("/login").text
    diff = b.get("/admin/config/versions/1").text
    assert f"+      primary_color: &#39;{NEW_PRIMARY}&#39;" in diff or NEW_PRIMARY in diff


def test_a2_the_second_save_gets_409_and_keeps_its_input(browser, live):
    with live.portal_app.app_context():
        sa = db.session.scalar(select(User).filter_by(tenant="mosreg", subject="1000050"))
        grant_regional_admin("mosreg", sa.issuer, sa.subject, sa.display_name)
    first, second = admin(browser), browser("mosreg")
    second.esia_login("SA")
    second.post("/access/role", {"role": "regional_admin"})
    mine = edit(first, branding__primary_color="#123456")
    theirs = edit(second, branding__footer_text="Текст второго администратора")
    assert "Сохранена версия 1" in first.post("/admin/config", mine).text
    page = second.post("/admin/config", theirs)
    assert page.status_code == 409
    assert "другой администратор сохранил версию 1" in page.text
    assert 'value="Текст второго администратора"' in page.text  # nothing lost
    with live.portal_app.app_context():
        assert len(db.session.scalars(select(TenantVersion)).all()) == 1


def test_a3_kaluga_admin_gets_nothing_of_mosreg(browser, live):
    mosreg = admin(browser, "mosreg")
    mosreg.post("/admin/config", edit(mosreg, branding__primary_color=NEW_PRIMARY))
    kaluga = admin(browser, "kaluga")
    # By host: the session is anonymous on mosreg's host.
    cookie = kaluga.http.cookies.get("session", domain="kaluga.localhost")
    intruder = browser("mosreg")
    intruder.http.cookies.set("session", cookie, domain="mosreg.localhost")
    for path in ("/admin/", "/admin/config", "/admin/config/history", "/admin/stats",
                 "/admin/audit", "/admin/config/versions/1"):  # fmt: skip
        assert "/login?next=" in intruder.get(path).url
    # By id: mosreg's version 1 does not exist on kaluga's host.
    page = kaluga.get("/admin/config/versions/1")
    assert page.status_code == 404 and NEW_PRIMARY not in page.text
    kaluga.get("/admin/config/history")
    assert kaluga.post("/admin/config/versions/1/restore", {"base": "0"}).status_code == 404
    kaluga.get("/admin/config/history")
    confirmed = {"base": "0", "confirm": "yes"}
    assert kaluga.post("/admin/config/versions/1/restore", confirmed).status_code == 404
    assert NEW_PRIMARY not in kaluga.get("/admin/audit").text
    # And a mosreg parent is no administrator at all.
    parent = browser("mosreg")
    parent.esia_login("P1")
    assert parent.get("/admin/config").status_code == 403


def test_a4_rollback_serves_an_earlier_version_as_a_new_one(browser, live):
    b = admin(browser)
    original = primary_colour(browser("mosreg"))
    b.post("/admin/config", edit(b, branding__primary_color=NEW_PRIMARY, comment="фиолетовый"))
    b.post("/admin/config", edit(b, branding__primary_color="#1a5e20", comment="зелёный"))
    assert primary_colour(browser("mosreg")) == "#1a5e20"
    history = b.get("/admin/config/history")
    asked = b.post("/admin/config/versions/1/restore", {"base": "2"})  # asks first
    assert asked.status_code == 200 and "Откатить настройки к версии 1?" in asked.text
    assert re.search(r"Основной цвет:</strong>.*#1a5e20.*→.*#7a1f5c", asked.text, re.S)
    assert primary_colour(browser("mosreg")) == "#1a5e20"  # nothing rolled back yet
    page = b.post("/admin/config/versions/1/restore", {"base": "2", "confirm": "yes"})
    assert "Версия 1 восстановлена как версия 3" in page.text
    assert primary_colour(browser("mosreg")) == NEW_PRIMARY
    for text in ("фиолетовый", "зелёный", "Откат к версии 1", "regions.yaml"):
        assert text in page.text
    b.get("/admin/config/history")
    b.post("/admin/config/versions/0/restore", {"base": "3"})
    page = b.post("/admin/config/versions/0/restore", {"base": "3", "confirm": "yes"})
    assert "Версия 0 восстановлена как версия 4" in page.text, page.text[-3000:]
    assert primary_colour(browser("mosreg")) == original
    assert history.status_code == 200


def test_invalid_edits_give_field_errors_and_the_old_version_keeps_serving(browser):
    b = admin(browser, "kaluga")
    before = primary_colour(browser("kaluga"))
    page = b.post("/admin/config", edit(b, branding__primary_color="#fafafa",
                                        policy__session__idle_timeout_minutes="много",
                                        branding__support__email="нет-почты",
                                        method__esia=None, method__password=None))  # fmt: skip
    assert page.status_code == 400
    for message in ("Слишком светлый: белый текст на нём не читается", "Введите целое число.",
                    "Проверьте формат.", "Оставьте хотя бы один способ входа."):  # fmt: skip
        assert message in page.text
    assert 'value="нет-почты"' in page.text
    page = b.post("/admin/config", edit(b, policy__session__idle_timeout_minutes="2000"))
    assert page.status_code == 400 and "Не больше 1440." in page.text
    assert primary_colour(browser("kaluga")) == before
    assert b.get("/admin/config/history").text.count('id="version-') == 1  # regions.yaml only


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def test_a_logo_upload_is_checked_stored_and_served(browser):
    b = admin(browser, "tatarstan")
    data = edit(b, comment="новый логотип")
    bad = b.http.post(b.base + "/admin/config", data=data,
                      files={"logo": ("x.svg", b'<svg onload="alert(1)"></svg>', "image/svg+xml")})  # fmt: skip
    assert bad.status_code == 400 and "В SVG не должно быть сценариев" in bad.text
    b.get("/admin/config")
    data = edit(b, comment="новый логотип")
    ok = b.http.post(
        b.base + "/admin/config", data=data, files={"logo": ("logo.png", PNG, "image/png")}
    )
    assert "Сохранена версия 1" in ok.text
    page = browser("tatarstan").get("/login")
    src = re.search(r'<img class="brand-logo" src="([^"]+)"', page.text)[1]
    assert re.fullmatch(r"/branding/logo/[0-9a-f]{64}\.png", src)
    logo = browser("tatarstan").get(src)
    assert logo.content == PNG and logo.headers["Content-Type"] == "image/png"
    assert logo.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert browser("kaluga").get(src).status_code == 404  # a region's logo is its own


def test_statistics_count_seeded_login_events(browser, live):
    now = datetime.now(UTC)
    with live.portal_app.app_context():
        school = db.session.scalar(select(School.id).filter_by(tenant="mosreg", key="lyceum-2"))
        events = (
            [("login_succeeded", {"method": "esia", "outcome": "diary"}, 0)] * 5
            + [("login_succeeded", {"method": "password", "outcome": "diary"}, 1)] * 2
            + [
                (
                    "login_stopped",
                    {"method": "esia", "outcome": "not_found", "schools": [school]},
                    1,
                )
            ]
            * 3
            + [("login_stopped", {"method": "esia", "outcome": "not_found", "schools": []}, 2)]
            + [("login_failed", {"method": "password", "reason": "wrong_credentials"}, 0)] * 2
            + [("login_succeeded", {"method": "esia"}, 40)]  # outside the period
            + [("login_succeeded", {"method": "esia"}, 0)] * 4  # another region's
        )
        for i, (kind, detail, days_ago) in enumerate(events):
            tenant = "kaluga" if i >= len(events) - 4 else "mosreg"
            db.session.add(AuditEvent(tenant=tenant, kind=kind, detail=detail,
                                      created_at=now - timedelta(days=days_ago)))  # fmt: skip
        db.session.commit()
    # Rows put in by hand, not by logins: the counters the page reads are rebuilt from them.
    rebuilt = live.portal_app.test_cli_runner().invoke(
        args=["counters", "rebuild", "--region", "mosreg"]
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    b = admin(browser)
    page = b.get("/admin/stats", params={"days": "14"})

    def total(key: str) -> int:
        return int(
            re.search(rf'data-key="{key}">.*?<td class="total">(\d+)</td>', page.text, re.S)[1]
        )

    assert total("esia") == 5 + 1  # and the ADM's own login just now
    assert total("password") == 2
    assert total("not_found") == 4 and total("wrong_credentials") == 2
    assert "Лицей № 2 — 3" in page.text and "школа не определена — 1" in page.text
    assert page.text.count('<rect class="bar-') == 28


def test_the_audit_viewer_filters_and_shows_no_secrets(browser, live):
    with live.portal_app.app_context():
        db.session.add_all([
            AuditEvent(tenant="mosreg", kind="test_event", detail={"snils": "547-712-782 18"},
                       created_at=datetime(2026, 11, 1, tzinfo=UTC)),
            AuditEvent(tenant="kaluga", kind="test_event", detail={"note": "калужское"}),
        ])  # fmt: skip
        db.session.commit()
    b = admin(browser)
    page = b.get("/admin/audit", params={"kind": "test_event"})
    assert page.text.count("<td>test_event</td>") == 1
    assert "***-***-*** 18" in page.text and "547-712-782" not in page.text
    assert "калужское" not in page.text
    everything = b.get("/admin/audit").text
    assert "<td>Вход в дневник</td>" in everything and ">login_succeeded<" not in everything
    page = b.get("/admin/audit", params={"kind": "test_event", "from": "2026-11-02"})
    assert "Событий нет." in page.text
    page = b.get("/admin/audit", params={"from": "не дата"})
    assert page.status_code == 200


def test_export_writes_the_effective_configuration(browser, live, tmp_path):
    b = admin(browser)
    b.post("/admin/config", edit(b, branding__primary_color=NEW_PRIMARY))
    target = tmp_path / "regions.yaml"
    result = live.portal_app.test_cli_runner().invoke(args=["regions", "export", "-o", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert f"primary_color: '{NEW_PRIMARY}'" in text
    assert "base_url: https://esia.gosuslugi.ru" in text  # never the emulator's address
    from app.tenants.loader import load_file

    exported = load_file(target, static_dir=PROJECT_ROOT / "app" / "static")
    assert exported.regions["mosreg"].branding.primary_color == NEW_PRIMARY


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVE = """
import sys
from werkzeug.serving import run_simple
from app import create_app
run_simple("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
"""


@pytest.fixture
def second_instance(live, database_uri):
    """Another portal process on the same database, with the default refresh interval."""
    port = _free_port()
    environ = {**os.environ, **test_environ(database_uri)}
    environ.pop("TENANT_REFRESH_SECONDS", None)
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SERVE, str(port)],
        cwd=PROJECT_ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://mosreg.localhost:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the second instance did not start: " + process.stderr.read().decode())
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_another_process_serves_a_saved_version_within_five_seconds(live, second_instance):
    def colour() -> str:
        css = requests.get(second_instance + "/branding.css", timeout=2).text
        return re.search(r"--primary: (#[0-9a-f]{6})", css)[1]

    assert colour() != NEW_PRIMARY
    with live.portal_app.app_context():
        author = db.session.scalar(select(User).limit(1))
        config = source_config(live.portal_app, "mosreg")
        branding = config.branding.model_copy(update={"primary_color": NEW_PRIMARY})
        save("mosreg", config.model_copy(update={"branding": branding}), base=0, author=author,
             comment="из другого процесса")  # fmt: skip
    saved = time.monotonic()
    while colour() != NEW_PRIMARY:
        assert time.monotonic() - saved < 5, "not served within 5 s"
        time.sleep(0.1)


def test_csrf_token_is_on_the_form(browser):
    b = admin(browser)
    assert CSRF_RE.search(b.get("/admin/config").text)


def test_a_worker_behind_on_versions_shows_the_form_of_the_version_it_names(
    browser, live, database_uri
):
    """No lost update: a worker whose copy of the region is behind (it has not refreshed since
    another administrator's save) still shows exactly the latest version under its number, so
    saving the form keeps that save instead of reverting it."""
    lagging = create_app(test_environ(database_uri, IDP_EMULATOR_URL=live.emulator_url,
                                      TENANT_REFRESH_SECONDS="3600"))  # fmt: skip
    first = admin(browser)
    lagging_client = lagging.test_client()
    lagging_client.set_cookie("session", first.http.cookies["session"], domain="mosreg.localhost")

    def lagging_form() -> str:
        page = lagging_client.get("/admin/config", base_url="http://mosreg.localhost/")
        assert page.status_code == 200
        return page.get_data(as_text=True)

    lagging_form()  # the lagging worker has read the region (baseline) and keeps its copy
    saved = first.post("/admin/config", edit(first, branding__primary_color="#123456"))
    assert "Сохранена версия 1" in saved.text
    page = lagging_form()
    assert re.search(r'name="base"[^>]*value="1"|value="1"[^>]*name="base"', page)
    assert 'value="#123456"' in page  # the saved colour, not the worker's stale copy

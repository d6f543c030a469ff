"""Administration in people's words: the audit log, statistics, versions and the region check
say what happened in Russian, name people, and show times in the region's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Person, User
from tests.e2e.test_admin import NEW_PRIMARY, admin, edit


def visible(html: str) -> str:
    """The page's text as a person reads it: no tags, no attributes."""
    body = html.split('id="main"', 1)[-1]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def user_named(live, slug: str, subject: str) -> User:
    with live.portal_app.app_context():
        return db.session.scalar(select(User).filter_by(tenant=slug, subject=subject))


def test_the_log_says_what_happened_who_did_it_and_when_in_moscow_time(browser, live):
    b = admin(browser)
    parent = browser("mosreg")
    parent.esia_login("P1")
    adm, anna = user_named(live, "mosreg", "1000100"), user_named(live, "mosreg", "1000001")
    with live.portal_app.app_context():
        misha = db.session.scalar(select(Person).filter_by(tenant="mosreg", key="obraztsov_misha"))
        db.session.add_all([
            AuditEvent(tenant="mosreg", kind="login_failed", ip="203.0.113.5",
                       detail={"method": "password", "reason": "wrong_credentials", "login": "x"},
                       created_at=datetime(2026, 11, 1, 12, 30, tzinfo=UTC)),
            AuditEvent(tenant="mosreg", kind="trusted_invited", actor_id=anna.id,
                       detail={"grant_id": 9, "invitee_id": adm.id, "children": [misha.id]},
                       created_at=datetime(2026, 11, 1, 22, 30, tzinfo=UTC)),  # 2 Nov in Moscow
        ])  # fmt: skip
        db.session.commit()
    page = b.get("/admin/audit")
    text = visible(page.text)
    for code in ("login_failed", "trusted_invited", "wrong_credentials", "login_succeeded",
                 "grant_id=", "invitee_id", "UTC"):  # fmt: skip
        assert code not in text, code
    assert "Неудачный вход" in text and "Приглашено доверенное лицо" in text
    assert "1 ноября 2026, 15:30" in text  # 12:30 UTC
    assert "2 ноября 2026, 01:30" in text
    assert "московское время" in text
    invited = page.text.split('data-kind="trusted_invited"')[1].split("</tr>")[0]
    assert "Образцова Анна" in invited  # who did it, by name
    assert f"<dt>Доверенное лицо</dt><dd>{adm.display_name}</dd>" in invited
    assert "<dt>Дети</dt><dd>Образцов Михаил" in invited
    failed = page.text.split('data-kind="login_failed"')[1].split("</tr>")[0]
    assert "<dt>Причина</dt><dd>неверный логин или пароль</dd>" in failed
    assert "<dt>Способ входа</dt><dd>Вход по логину</dd>" in failed
    assert '<option value="trusted_invited">Приглашено доверенное лицо</option>' in page.text

    # The days of the filter are the region's days: 22:30 UTC on the 1st is the 2nd there.
    page = b.get("/admin/audit", params={"kind": "trusted_invited", "from": "2026-11-02",
                                         "to": "2026-11-02"})  # fmt: skip
    assert "2 ноября 2026, 01:30" in visible(page.text)
    page = b.get("/admin/audit", params={"kind": "trusted_invited", "to": "2026-11-01"})
    assert "Событий нет." in page.text


def test_statistics_show_today_first_without_scrolling(browser, live):
    with live.portal_app.app_context():
        db.session.add_all([
            AuditEvent(tenant="mosreg", kind="login_failed", created_at=datetime.now(UTC),
                       detail={"method": "esia", "reason": "provider_unavailable"}),
            AuditEvent(tenant="mosreg", kind="login_failed",
                       created_at=datetime.now(UTC) - timedelta(days=3),
                       detail={"method": "esia", "reason": "provider_unavailable"}),
        ])  # fmt: skip
        db.session.commit()
    # Rows put in by hand, not by logins: the counters the page reads are rebuilt from them.
    rebuilt = live.portal_app.test_cli_runner().invoke(
        args=["counters", "rebuild", "--region", "mosreg"]
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    b = admin(browser)
    page = b.get("/admin/stats", params={"days": "30"})
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", page.text, re.S)[1]
    columns = re.findall(r"<th[^>]*>(.*?)</th>", head)
    assert columns[:3] == ["Способ", "Всего", "Сегодня"]
    earlier = datetime.now(ZoneInfo("Europe/Moscow")).date() - timedelta(days=1)
    assert columns[3] == earlier.strftime("%d.%m") and len(columns) == 32
    row = re.search(r'data-key="provider_unavailable">(.*?)</tr>', page.text, re.S)[1]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[:2] == ["2", "1"]  # the total, then today
    assert "сервис входа недоступен" in row


def test_a_change_reads_as_fields_old_to_new_with_the_yaml_behind_a_summary(browser):
    b = admin(browser)
    before = re.search(r'id="branding-primary_color"[^>]*value="(#[0-9a-f]{6})"',
                       b.get("/admin/config").text)[1]  # fmt: skip
    b.post("/admin/config", edit(b, branding__primary_color=NEW_PRIMARY,
                                 policy__session__idle_timeout_minutes="20",
                                 policy__require_email=None, comment="цвет и сеанс"))  # fmt: skip
    page = b.get("/admin/config/versions/1")
    changes = page.text.split('<ul class="changes">')[1].split("</ul>")[0]
    colour = re.search(r'data-path="branding.primary_color">(.*?)</li>', changes, re.S)[1]
    assert "Основной цвет" in colour
    assert f'fill="{before}"' in colour and f"<code>{before}</code>" in colour
    assert f'fill="{NEW_PRIMARY}"' in colour and f"<code>{NEW_PRIMARY}</code>" in colour
    text = visible(changes)
    assert "Сеанс без действий завершается через, мин: 30 → 20" in text
    assert "Вход через Госуслуги только с подтверждённой почтой: да → нет" in text
    assert "idle_timeout_minutes" not in text and "branding." not in text
    assert "<summary>Показать как YAML</summary>" in page.text
    yaml = page.text.split("<summary>Показать как YAML</summary>")[1].split("</details>")[0]
    assert "+    idle_timeout_minutes: 20" in yaml

    history = b.get("/admin/config/history").text
    row = history.split('id="version-1"')[1].split('id="version-0"')[0]
    assert "Основной цвет" in row and "30 → 20" in visible(row) and "UTC" not in visible(row)
    assert re.search(r"\d{1,2} [а-я]+ \d{4}, \d\d:\d\d", visible(row))


def test_the_config_form_shows_each_colour_as_a_swatch_with_its_hex(browser):
    page = admin(browser).get("/admin/config").text
    colour = re.search(r'id="branding-primary_color"[^>]*value="(#[0-9a-f]{6})"', page)[1]
    assert f'fill="{colour}"' in page
    assert f'<code id="branding-primary_color-hex">{colour}</code>' in page


def test_the_region_check_speaks_russian(browser):
    page = admin(browser, "tatarstan").get("/admin/qa")
    text = visible(page.text)
    assert "Поставщик идентификации доступен: отвечает (HTTP 400)" in text
    assert "reachable" not in text

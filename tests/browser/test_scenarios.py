"""SCENARIOS.md in a real browser: every landed scenario in every region it applies to,
against the portal and the emulator started by fixtures, with a screenshot per step."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.scenarios import ALL_REGIONS, ESIA_REGIONS

esia_regions = pytest.mark.parametrize("slug", ESIA_REGIONS)


class Walk:
    """One person walking one scenario in one region, photographing each step."""

    def __init__(
        self, browser, live, slug: str, scenario: str, *, javascript: bool = True,
        locale: str = "ru-RU",
    ):  # fmt: skip
        # The browser's language is its Accept-Language: Russian unless a test says otherwise.
        self.context = browser.new_context(locale=locale, java_script_enabled=javascript)
        self.javascript = javascript
        self.page = self.context.new_page()
        self.live, self.slug, self.scenario = live, slug, scenario

    def shot(self, step: str) -> None:
        screenshot(self.page, self.slug, step, self.scenario)

    def open(self, path: str = "/login") -> None:
        self.page.goto(self.live.portal(self.slug) + path)

    def esia_login(self, persona: str, *, grant: bool = True, button: str = "Госуслуги") -> None:
        self.open()
        self.shot("login")
        self.click_away(self.page.get_by_role("link", name=button))
        if self.page.locator(f"[data-persona={persona}]").count():
            self.shot("persona")
            self.click_away(self.page.locator(f"[data-persona={persona}]"))
        if "/rights/" in self.page.url:
            self.shot("rights")
            self.page.click("button[value=grant]" if grant else "button[value=deny]")
        self.page.wait_for_url(re.compile(rf"^{re.escape(self.live.portal(self.slug))}/"))
        self.shot("result")

    def click_away(self, target) -> None:
        """Click and wait until the browser has left this page: a click does not wait for
        the navigation it starts, and the next step reads the page it leads to."""
        here = self.page.url
        target.click()
        self.page.wait_for_url(lambda url: url != here)

    @property
    def main(self):
        return self.page.locator("main")

    def text(self) -> str:
        return self.page.locator("main").inner_text()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def walk(browser, live):
    walks = []

    def make(slug: str, scenario: str, *, javascript: bool = True, locale: str = "ru-RU") -> Walk:
        walks.append(Walk(browser, live, slug, scenario, javascript=javascript, locale=locale))
        return walks[-1]

    yield make
    for w in walks:
        w.close()


@pytest.mark.scenario("P1")
@esia_regions
def test_p1(walk, slug):
    w = walk(slug, "P1")
    w.esia_login("P1")
    assert w.page.url.endswith("/diary/")
    assert "Образцов Михаил Андреевич" in w.text() and "Образцова Дарья Андреевна" in w.text()


@pytest.mark.scenario("P2")
@esia_regions
def test_p2(walk, slug):
    w = walk(slug, "P2")
    w.esia_login("P2")
    assert "В учётной записи Госуслуг нет адреса электронной почты" in w.text()
    assert "Ваша авторизационная сессия истекла" in w.text()


@pytest.mark.scenario("P3")
@esia_regions
def test_p3(walk, slug):
    w = walk(slug, "P3")
    w.esia_login("P3")
    assert "«Ваш дневник не найден." in w.text()
    assert "но она не совпадает с данными Госуслуг в поле: СНИЛС" in w.text()
    w.page.get_by_label("СНИЛС: ***-***-*** 80").check()  # her own, masked
    assert "775-398-922 80" not in w.text()
    w.page.get_by_role("button", name="Отправить запрос в школу").click()
    expect(w.page.locator(".flash")).to_contain_text("Запрос отправлен")
    w.shot("report-sent")
    assert "на рассмотрении" in w.text()

    school = walk(slug, "P3")
    school.esia_login("SL")
    school.page.get_by_role("link", name="Запросы").click()
    school.page.get_by_role("link", name="Пробная Ирина Викторовна").click()
    expect(school.main).to_contain_text("***-***-*** 80")
    school.shot("school-report")
    assert "775-398-922 80" not in school.text()
    school.page.get_by_role("button", name="Показать СНИЛС полностью").first.click()
    expect(school.page.locator("#snils")).to_be_visible()  # shown whole, and audited
    assert "775-398-922 80" in school.text()
    school.page.fill("#snils", "775-398-922 80")
    school.page.get_by_role("button", name="Исправить запись и сообщить").click()
    expect(school.page.locator(".flash")).to_contain_text("Данные исправлены")
    school.shot("school-corrected")

    again = walk(slug, "P3")
    again.esia_login("P3")
    assert again.page.url.endswith("/diary/") and "Пробный Артём Сергеевич" in again.text()


@pytest.mark.scenario("P4")
@esia_regions
def test_p4(walk, slug):
    w = walk(slug, "P4")
    w.esia_login("P4")
    assert w.page.locator(".child-switcher a").all_inner_texts() == ["Демова Софья Ивановна"]
    assert w.page.locator(".waiting li").all_inner_texts() == ["Демов Иван Иванович"]


@pytest.mark.scenario("P5")
@esia_regions
def test_p5(walk, slug):
    w = walk(slug, "P5")
    w.esia_login("P5")
    assert "Роль: Ученик" in w.text()


@pytest.mark.scenario("P6")
@esia_regions
def test_p6(walk, slug):
    child = walk(slug, "P6")
    child.esia_login("P6")
    assert "Для входа в дневник нужно согласие одного из родителей" in child.text()
    parent = walk(slug, "P6")
    parent.esia_login("P1")
    parent.page.get_by_role("link", name=re.compile("Уведомления")).click()
    parent.shot("parent-notifications")
    parent.page.get_by_role("button", name="Дать согласие").click()
    parent.shot("parent-consented")
    expect(parent.main).to_contain_text("Согласие дано: Образцов Михаил Андреевич")
    child.click_away(child.page.get_by_role("button", name="Выйти"))
    child.esia_login("P6")
    assert child.page.url.endswith("/diary/")


@pytest.mark.scenario("P7")
@esia_regions
def test_p7(walk, slug):
    w = walk(slug, "P7")
    w.esia_login("P7")
    assert w.page.get_by_role("heading", name="Профиль обучающегося").is_visible()
    w.page.fill("#q", "школа № 1")  # htmx finds the school as the name is typed
    school = w.page.get_by_label(re.compile("Средняя общеобразовательная школа № 1"))
    school.check()
    w.page.fill("#class_name", "11А")
    w.shot("join-request")
    w.page.get_by_role("button", name="Сохранить").click()
    expect(w.page.locator(".flash")).to_contain_text("Запрос отправлен")
    w.shot("join-sent")
    assert "на рассмотрении" in w.text()

    admin = walk(slug, "P7")
    admin.esia_login("SA")
    admin.page.get_by_role("link", name="Запросы").click()
    admin.page.get_by_role("link", name="Учебный Никита Павлович").click()
    admin.shot("school-request")
    admin.page.get_by_role("button", name="Одобрить").click()
    expect(admin.page.locator(".flash")).to_contain_text("Запрос одобрен")
    admin.shot("school-approved")

    again = walk(slug, "P7")
    again.esia_login("P7")
    again.page.get_by_role("button", name="Дать согласие и войти").click()
    expect(again.main).to_contain_text("Учебный Никита Павлович, 11А класс")
    again.shot("diary")


@pytest.mark.scenario("P8")
@esia_regions
def test_p8(walk, slug):
    w = walk(slug, "P8")
    w.esia_login("P8")
    assert "«Для входа в дневник необходимо согласие." in w.text()
    w.page.get_by_role("button", name="Дать согласие и войти").click()
    expect(w.page).to_have_url(re.compile(r"/diary/$"))
    w.shot("consented")


@pytest.mark.scenario("P9")
@esia_regions
def test_p9(walk, slug):
    w = walk(slug, "P9")
    w.esia_login("P9")
    assert "Выберите роль" in w.text()
    w.page.get_by_role("button", name="Родитель").click()
    w.shot("diary")
    w.page.get_by_role("link", name="Настройки аккаунта").click()
    roles = w.page.locator(".structural-roles li")
    expect(roles).to_have_text(
        ["Родитель — Активна (текущая)", "Педагогический работник — Активна"]
    )
    w.shot("settings")


@pytest.mark.scenario("P11")
@esia_regions
def test_p11(walk, slug):
    w = walk(slug, "P11")
    w.esia_login("P11")
    assert "Подтвердите учётную запись на Госуслугах" in w.text()


@pytest.mark.scenario("P12")
@esia_regions
def test_p12(walk, slug):
    w = walk(slug, "P12")
    w.esia_login("P12", grant=False)
    assert w.page.url.endswith("/login")
    assert "Вы нажали «Отказаться»" in w.text()


def admin_login(w: Walk) -> None:
    """The region's administrator: ADM on Госуслуги, MA on mos.ru."""
    if w.slug == "moscow":
        mosru_login(w, "MA")
    else:
        w.esia_login("ADM")


@pytest.mark.scenario("Q1")
@pytest.mark.parametrize("slug", ALL_REGIONS)
def test_q1_region_check_page(walk, slug):
    w = walk(slug, "Q1")
    admin_login(w)
    w.page.get_by_role("link", name="Проверка региона").click()
    expect(w.main).to_contain_text("Всё в порядке")
    w.shot("check")


@pytest.mark.scenario("P1", region="moscow")
def test_moscow_has_no_esia(walk):
    """Where Госуслуги do not apply, the region's login page offers no such button."""
    w = walk("moscow", "P1")
    w.open()
    w.shot("login")
    assert w.page.get_by_role("link", name="Госуслуги").count() == 0
    assert w.page.goto(w.live.portal("moscow") + "/login/esia").status == 404


@pytest.mark.scenario("P10")
@esia_regions
def test_p10(walk, slug):
    w = walk(slug, "P10")
    w.open()
    w.shot("login")
    w.page.get_by_role("link", name="Вход по логину").click()
    w.page.fill("#login", "parolev.demo")
    w.page.fill("#password", "wrong-password")
    w.page.get_by_role("button", name="Войти").click()
    expect(w.main).to_contain_text("Неверный логин или пароль")
    w.shot("wrong-password")
    w.page.fill("#password", "Nachalo-P10-demo")
    w.page.get_by_role("button", name="Войти").click()
    expect(w.main).to_contain_text("Придумайте свой пароль")
    w.shot("choose-password")
    w.page.fill("#password", "лето в деревне у бабушки")
    w.page.fill("#password_again", "лето в деревне у бабушки")
    w.page.get_by_role("button", name="Сохранить и войти").click()
    expect(w.page).to_have_url(re.compile(r"/diary/$"))
    w.shot("diary")
    assert "Роль: Ученик" in w.text()


@pytest.mark.scenario("P10", region="moscow")
def test_moscow_has_no_password_login(walk):
    w = walk("moscow", "P10")
    w.open()
    w.shot("login")
    assert w.page.get_by_role("link", name="Вход по логину").count() == 0


def mosru_login(w: Walk, persona: str) -> None:
    w.open()
    w.shot("login")
    w.click_away(w.page.get_by_role("link", name="mos.ru", exact=True))
    w.shot("mos.ru")
    w.page.click(f"[data-persona={persona}]")
    w.page.wait_for_url(re.compile(rf"^{re.escape(w.live.portal(w.slug))}/"))
    w.shot("result")


@pytest.mark.scenario("M1", region="moscow")
def test_m1(walk):
    w = walk("moscow", "M1")
    mosru_login(w, "M1")
    assert w.page.locator(".child-switcher a").all_inner_texts() == [
        "Москвин Лев Артёмович",
        "Москвина Алиса Артёмовна",
    ]


@pytest.mark.scenario("M2", region="moscow")
def test_m2(walk):
    w = walk("moscow", "M2")
    mosru_login(w, "M2")
    assert "В вашем профиле не заполнено: номер мобильного телефона" in w.text()


@pytest.mark.scenario("M3", region="moscow")
def test_m3(walk):
    w = walk("moscow", "M3")
    mosru_login(w, "M3")
    assert (
        "Сведения, предоставленные в школу, и данные в личном кабинете должны совпадать."
        in w.text()
    )


@pytest.mark.scenario("M4", region="moscow")
def test_m4(walk):
    w = walk("moscow", "M4")
    mosru_login(w, "M4")
    assert "Роль: Ученик" in w.text()

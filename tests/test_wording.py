"""People's words (``app.wording``): every audit kind, reason and detail the code can record has
Russian words, found on the source so that a new one without words fails here; times in the
region's zone; classes in the order people count them."""

from __future__ import annotations

import ast
from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app import wording
from app.access.decision import Outcome
from app.schools.registry import ORDER as REGISTRY_RECORD_TYPES
from app.settings import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
# The kinds whose ``reason`` is a code (for the others it is a person's or a library's text).
CODED_REASONS = {"login_failed", "sessions_ended"}
NOT_DETAILS = {"tenant", "actor_id", "commit"}


class Unresolved(Exception):
    """An expression whose values the finder cannot tell: give it words, or teach the finder."""


# Marks the reason of a caught LoginFailed (``failure.reason``): those are the values of every
# ``LoginFailed(reason, …)`` in the code, checked on their own.
LOGIN_FAILED_REASON = "<LoginFailed.reason>"


class Source:
    """The code of ``app/`` (or of one snippet), searchable for what strings an expression
    can be: a literal, either branch of a conditional, what a local name is assigned, and, for
    a function's parameter, what every call of that function passes."""

    def __init__(self, files: dict[str, str]):
        self.trees = {name: ast.parse(text) for name, text in files.items()}
        self.parent: dict[ast.AST, ast.AST] = {}
        self.calls: dict[str, list[ast.Call]] = defaultdict(list)
        for tree in self.trees.values():
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    self.parent[child] = node
                if isinstance(node, ast.Call):
                    self.calls[callee(node)].append(node)

    @classmethod
    def of_app(cls) -> Source:
        return cls({str(p.relative_to(PROJECT_ROOT)): p.read_text("utf-8")
                    for p in APP.rglob("*.py")})  # fmt: skip

    def where(self, node: ast.AST) -> str:
        for name, tree in self.trees.items():
            if any(n is node for n in ast.walk(tree)):
                return f"{name}:{node.lineno}"
        return "?"

    def function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def values(self, expr: ast.AST, depth: int = 0) -> set[str]:
        if depth > 8:
            raise Unresolved(self.where(expr))
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self.values(expr.body, depth + 1) | self.values(expr.orelse, depth + 1)
        if isinstance(expr, ast.Attribute) and expr.attr == "reason":
            return {LOGIN_FAILED_REASON}
        if isinstance(expr, ast.Call) and callee(expr) == "getattr" and len(expr.args) == 3:
            attribute = self.values(expr.args[1], depth + 1)
            marker = {LOGIN_FAILED_REASON} if attribute == {"reason"} else set()
            return marker | self.values(expr.args[2], depth + 1)
        if isinstance(expr, ast.Name):
            return self._name(expr, depth)
        raise Unresolved(f"{self.where(expr)}: {ast.unparse(expr)}")

    def _name(self, name: ast.Name, depth: int) -> set[str]:
        function = self.function_of(name)
        if function is None:
            raise Unresolved(f"{self.where(name)}: {name.id}")
        found: set[str] = set()
        assigned = False
        for node in ast.walk(function):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name.id:
                    found |= self.values(node.value, depth + 1)
                    assigned = True
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for element, value in zip(target.elts, node.value.elts, strict=True):
                        if isinstance(element, ast.Name) and element.id == name.id:
                            found |= self.values(value, depth + 1)
                            assigned = True
        if assigned:
            return found
        return self._parameter(function, name, depth)

    def _parameter(self, function, name: ast.Name, depth: int) -> set[str]:
        arguments = function.args
        positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
        if name.id not in positional + [a.arg for a in arguments.kwonlyargs]:
            raise Unresolved(f"{self.where(name)}: {name.id}")
        index = positional.index(name.id) if name.id in positional else None
        calls = self.calls.get(function.name, [])
        if not calls:
            raise Unresolved(f"{self.where(name)}: nothing calls {function.name}")
        found: set[str] = set()
        for call in calls:
            passed = next((k.value for k in call.keywords if k.arg == name.id), None)
            if passed is None and index is not None:
                # A method called on an object does not pass ``self``.
                shift = 1 if positional and positional[0] in ("self", "cls") else 0
                if index - shift < len(call.args):
                    passed = call.args[index - shift]
            if passed is None:
                raise Unresolved(f"{self.where(call)}: {function.name} without {name.id}")
            found |= self.values(passed, depth + 1)
        return found

    def records(self):
        """Every ``audit.record(kind, …)`` call."""
        for call in self.calls.get("record", []):
            func = call.func
            if isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "audit":
                yield call


def callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


@pytest.fixture(scope="module")
def source() -> Source:
    return Source.of_app()


def recorded_kinds(source: Source) -> set[str]:
    return {kind for call in source.records() for kind in source.values(call.args[0])}


def test_every_kind_the_code_records_has_russian_words(source):
    kinds = recorded_kinds(source)
    assert len(kinds) > 30  # the finder found them all, not a handful
    assert {
        "trusted_revoked",
        "trusted_left",
        "join_rejected",
        "mismatch_rejected",
        "credentials_reset",
        "login_stopped",
    } <= kinds  # fmt: skip  (passed in variables)
    assert sorted(kinds - set(wording.EVENT_KINDS)) == []


def login_failed_reasons(source: Source) -> set[str]:
    return {
        reason
        for call in source.calls.get("LoginFailed", [])
        for reason in source.values(call.args[0])
    }


def test_every_reason_the_code_records_has_russian_words(source):
    reasons = set(login_failed_reasons(source))
    for call in source.records():
        if not CODED_REASONS & source.values(call.args[0]):
            continue
        for keyword in call.keywords:
            if keyword.arg == "reason":
                reasons |= source.values(keyword.value)
    reasons.discard(LOGIN_FAILED_REASON)
    reasons |= {outcome.value for outcome in Outcome}  # a stopped login's ``outcome``
    assert {"wrong_credentials", "provider_unavailable", "mix_up", "signed_out_others",
            "password_reset", "erased", "account_disabled"} <= reasons  # fmt: skip
    assert sorted(reasons - set(wording.REASONS)) == []


def test_every_detail_an_event_carries_has_a_label(source):
    keys: set[str] = set()
    for call in source.records():
        for keyword in call.keywords:
            if keyword.arg is None:
                keys |= spread_keys(source, keyword.value)
            elif keyword.arg not in NOT_DETAILS:
                keys.add(keyword.arg)
    assert {"grant_id", "version", "schools", "school", "consents", "user_id"} <= keys
    assert sorted(keys - set(wording.DETAILS)) == []


def spread_keys(source: Source, value: ast.AST) -> set[str]:
    """The keys of a ``**mapping`` passed to ``audit.record``."""
    if isinstance(value, ast.Attribute) and value.attr == "counts":
        return set(REGISTRY_RECORD_TYPES)  # a registry import counts records by type
    if isinstance(value, ast.Attribute):  # login.detail: the keys set on it anywhere
        return {
            node.slice.value
            for tree in source.trees.values()
            for node in ast.walk(tree)
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Attribute) and node.value.attr == value.attr
            and isinstance(node.slice, ast.Constant)
        }  # fmt: skip
    function = source.function_of(value)
    keys: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == value.id for t in node.targets
        ):
            keys |= {k.value for d in ast.walk(node.value) if isinstance(d, ast.Dict)
                     for k in d.keys if isinstance(k, ast.Constant)}  # fmt: skip
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
                and getattr(node.value, "id", None) == value.id):  # fmt: skip
            keys.add(node.slice.value)
    if not keys:
        raise Unresolved(f"{source.where(value)}: **{ast.unparse(value)}")
    return keys


def test_the_finder_follows_variables_parameters_and_conditionals():
    snippet = Source({"m.py": (
        "def end(grant, kind):\n    audit.record(kind)\n"
        "def revoke():\n    end(1, 'a_revoked')\n"
        "def leave():\n    end(grant=1, kind='a_left')\n"
        "def reject(join):\n    kind = 'b' if join else 'c'\n    audit.record(kind)\n"
        "def failed(down):\n    reason, x = getattr(down, 'reason', 'd'), 1\n"
        "    audit.record('login_failed', reason=reason)\n"
        "def unknown(thing):\n    audit.record(thing.kind)\n"
    )})  # fmt: skip
    records = list(snippet.records())
    assert snippet.values(records[0].args[0]) == {"a_revoked", "a_left"}
    assert snippet.values(records[1].args[0]) == {"b", "c"}
    assert snippet.values(records[2].keywords[0].value) == {"d", LOGIN_FAILED_REASON}
    with pytest.raises(Unresolved):  # never silently skipped
        snippet.values(records[3].args[0])


def test_the_registry_and_erasure_counts_have_labels():
    assert set(wording.REGISTRY_RECORDS) == set(REGISTRY_RECORD_TYPES)
    erasure = (APP / "erasure.py").read_text("utf-8")
    for key in wording.ERASED_PARTS:
        assert f'"{key}"' in erasure


# --- an event's details in words --------------------------------------------------------------


def test_details_read_as_labelled_words_with_names_for_ids():
    names = {"user": {7: "Москвина Ольга Петровна"}, "person": {11: "Москвин Лев Андреевич"},
             "school": {3: "Лицей № 2"}, "class": {}}  # fmt: skip
    lines = wording.detail_lines(
        "login_failed", {"reason": "wrong_credentials", "method": "password", "login": "x"},
        methods={"password": "Вход по логину"}, names=names,
    )  # fmt: skip
    assert lines == [("Способ входа", "Вход по логину"), ("Причина", "неверный логин или пароль"),
                     ("Логин", "x")]  # fmt: skip
    lines = dict(wording.detail_lines(
        "trusted_invited", {"grant_id": 5, "invitee_id": 7, "children": [11, 12]},
        methods={}, names=names,
    ))  # fmt: skip
    assert lines["Доверенное лицо"] == "Москвина Ольга Петровна"
    assert lines["Дети"] == "Москвин Лев Андреевич, № 12"
    assert lines["Номер приглашения"] == "5"
    erased = dict(wording.detail_lines(
        "account_erased", {"reason": "обращение № 5", "user_id": "erased-0123456789abcdef"},
        methods={}, names=names,
    ))  # fmt: skip
    assert erased["Причина"] == "обращение № 5"  # the administrator's own words, as typed
    assert erased["Учётная запись"] == "удалённая учётная запись (erased-0123456789abcdef)"
    csrf = dict(wording.detail_lines("csrf_refused", {"reason": "The CSRF token has expired."},
                                     methods={}, names=names))  # fmt: skip
    assert csrf["Причина"] == "страница устарела"
    week = dict(wording.detail_lines("diary_viewed", {"week": "2026-W48", "role": "guardian"},
                                     methods={}, names=names))  # fmt: skip
    assert week == {"Роль": "Родитель", "Неделя": "с 23 ноября 2026"}


def test_the_region_check_speaks_russian():
    assert wording.probe_words("reachable, HTTP 400") == "отвечает (HTTP 400)"
    assert wording.probe_words("unreachable (ConnectTimeout)").startswith("не отвечает")
    assert wording.probe_words("HTTP 503") == "отвечает ошибкой HTTP 503"
    assert wording.problem_words("KALUGA_ESIA_KEY_FILE is not set") == (
        "не задана переменная окружения KALUGA_ESIA_KEY_FILE"
    )
    assert "reachable" not in wording.probe_words("nothing to reach")


# --- time in the region's zone ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (datetime(2026, 11, 23, 11, 5, tzinfo=UTC), "Europe/Moscow", "23 ноября 2026, 14:05"),
        (datetime(2026, 11, 23, 11, 5), "Europe/Moscow", "23 ноября 2026, 14:05"),  # naive: UTC
        (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), "Europe/Moscow", "1 января 2027, 01:30"),
        (datetime(2026, 5, 1, 9, 0, tzinfo=UTC), "Asia/Yekaterinburg", "1 мая 2026, 14:00"),
        ("2026-03-08T06:00:00+00:00", "Europe/Moscow", "8 марта 2026, 09:00"),
    ],
)
def test_a_utc_moment_reads_in_the_regions_zone(moment, zone, shown):
    assert wording.local_time(moment, ZoneInfo(zone)) == shown


def test_the_filters_take_the_zone_of_the_requests_region(app):
    from flask import g, render_template_string

    from app.tenants import Tenant

    kaluga = app.extensions["tenants"].get("kaluga")
    moment = datetime(2026, 11, 23, 11, 5, tzinfo=UTC)
    with app.test_request_context(base_url="http://kaluga.localhost/"):
        g.tenant = kaluga
        assert render_template_string("{{ m|local_time }}", m=moment) == "23 ноября 2026, 14:05"
        assert render_template_string("{{ m|local_date }}", m=moment) == "23.11.2026"
        assert wording.zone_words(g.tenant.config.timezone) == "московское время"
        east = kaluga.config.model_copy(update={"timezone": "Asia/Vladivostok"})
        g.tenant = Tenant("kaluga", east)
        assert render_template_string("{{ m|local_time }}", m=moment) == "23 ноября 2026, 21:05"
        assert render_template_string("{{ m|local_date }}", m=moment) == "23.11.2026"
        late = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # already the 24th in Vladivostok
        assert render_template_string("{{ m|local_date }}", m=late) == "24.11.2026"


def test_a_day_in_words():
    assert wording.day_words(date(2026, 2, 1)) == "1 февраля 2026"


# --- classes as people count them ---------------------------------------------------------------


def test_classes_sort_by_number_then_letter():
    names = ["11А", "2А", "10Б", "9В", "10А", "1 б", "Подготовительный", "10Ё", "10Е", "5-Г"]
    assert sorted(names, key=wording.class_order) == [
        "1 б", "2А", "5-Г", "9В", "10А", "10Б", "10Е", "10Ё", "11А", "Подготовительный",
    ]  # fmt: skip
    assert sorted(["11А", "2А"]) == ["11А", "2А"]  # as text they would not


def test_no_list_of_classes_sorts_them_as_text():
    """The school's pages sort by the one key (the teacher's classes: the test below)."""
    school = (APP / "blueprints" / "school" / "routes.py").read_text("utf-8")
    assert school.count("class_order") >= 3  # imported; the students' list; classes to join
    for path in (APP / "templates").rglob("*.html"):
        assert 'sort(attribute="name")' not in path.read_text("utf-8"), path


def test_a_teachers_classes_come_in_class_order(app):
    from app.diary.people import taught_classes
    from app.extensions import db
    from app.models import Person, School, SchoolClass, TeacherClass, User

    with app.app_context():
        school = School(tenant="mosreg", key="s", full_name="Школа", short_name="Школа")
        teacher = Person(tenant="mosreg", key="t", last_name="Учителева", first_name="Анна",
                         name_key="учителева анна")  # fmt: skip
        db.session.add_all([school, teacher])
        db.session.flush()
        for name in ("11А", "2А", "10Б", "9В"):
            school_class = SchoolClass(school_id=school.id, name=name)
            db.session.add(school_class)
            db.session.flush()
            db.session.add(TeacherClass(person_id=teacher.id, class_id=school_class.id))
        user = User(tenant="mosreg", issuer="t", subject="t", display_name="Учителева Анна",
                    person_id=teacher.id)  # fmt: skip
        db.session.add(user)
        db.session.commit()
        assert [c.name for c in taught_classes(user)] == ["2А", "9В", "10Б", "11А"]

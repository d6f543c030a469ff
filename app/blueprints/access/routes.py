from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app import audit
from app import school_requests as requests
from app.access import Outcome
from app.accounts import sign_in
from app.consent import give_own
from app.extensions import db, htmx
from app.models import JoinRequest, MismatchReport, User
from app.models.base import db_id
from app.tenants import tenant_required

from . import bp

FIELD_LABELS = {
    "full_name": "фамилия, имя или отчество",
    "snils": "СНИЛС",
    "birth_date": "дата рождения",
    "email": "адрес электронной почты",
    "phone": "номер мобильного телефона",
}
SENT = "Запрос отправлен: {school}. Ответ придёт в уведомления и будет виден на этой странице."
ROLE_LABELS = {
    "student": "Ученик",
    "guardian": "Родитель",
    "teacher": "Педагогический работник",
    "school_admin": "Администратор ОО",
    "regional_admin": "Региональный администратор",
    "trusted": "Доверенное лицо",
}


def _access() -> dict:
    access = session.get("access")
    if not access:
        abort(404)
    return access


def _pending_user() -> User:
    user = db.session.get(User, session.get("pending_user_id") or 0)
    if user is None:
        abort(404)
    return user


@bp.get("/")
@tenant_required
def landing():
    access = _access()
    outcome = Outcome(access["outcome"])
    if outcome == Outcome.DIARY and current_user.is_authenticated:
        return redirect(url_for("diary.home"))
    if outcome == Outcome.CHOOSE_ROLE and current_user.is_authenticated:
        return redirect(url_for("access.choose_role"))
    return _stopped_page(access)


def _stopped_page(access: dict, *, problem: str | None = None, form=None, status: int = 200):
    """The page of an outcome that keeps the person out, with what they can send the school."""
    outcome = Outcome(access["outcome"])
    extra: dict = {}
    if outcome == Outcome.STUDENT_PROFILE:
        query = (form or request.args).get("q", "")
        extra = {
            "query": query,
            "schools": requests.search_schools(g.tenant.slug, query),
            "search_min": requests.SEARCH_MIN,
            "sent": requests.requests_of(_pending_user(), JoinRequest),
        }
    elif outcome == Outcome.NOT_FOUND and access.get("near_id") and "applicant" in session:
        extra = {
            "report_schools": requests.schools_of_record(access["near_id"]),
            "applicant": session["applicant"],
            "shareable": requests.SHAREABLE,
            "sent": requests.requests_of(_pending_user(), MismatchReport),
        }
    page = render_template(
        f"access/{outcome.value}.html",
        access=access,
        differing=[FIELD_LABELS[f] for f in access["differing"]],
        missing=[FIELD_LABELS[f] for f in access["missing"]],
        labels=FIELD_LABELS,
        problem=problem,
        form=form or {},
        **extra,
    )
    return page, status


@bp.get("/schools")
@tenant_required
def schools():
    """The typeahead of «Профиль обучающегося» (htmx); without JavaScript the search form
    reloads the whole page instead."""
    if _access()["outcome"] != Outcome.STUDENT_PROFILE.value:
        abort(404)
    if not htmx:
        return redirect(url_for("access.landing", q=request.args.get("q", "")))
    query = request.args.get("q", "")
    return render_template(
        "access/_schools.html",
        query=query,
        schools=requests.search_schools(g.tenant.slug, query),
        search_min=requests.SEARCH_MIN,
        form={},
    )


def _send_to_school(outcome: Outcome, send):
    """A request from a person who is not in yet (P3, P7): ``send(user, access, applicant,
    school)`` raises RequestRefused with the reason to show on the same page."""
    access = _access()
    if access["outcome"] != outcome.value or "applicant" not in session:
        abort(409)
    school = requests.school_in(g.tenant.slug, db_id(request.form.get("school")))
    try:
        send(_pending_user(), access, session["applicant"], school)
    except requests.RequestRefused as refused:
        return _stopped_page(access, problem=str(refused), form=request.form, status=400)
    flash(SENT.format(school=school.short_name), "success")
    return redirect(url_for("access.landing"))


@bp.post("/join")
@tenant_required
def join():
    """«Профиль обучающегося»: the request to join a school (P7)."""
    return _send_to_school(
        Outcome.STUDENT_PROFILE,
        lambda user, access, applicant, school: requests.send_join_request(
            user, applicant, school, request.form.get("class_name", "")
        ),
    )


@bp.post("/mismatch")
@tenant_required
def mismatch():
    """«Ваш дневник не найден»: tell the school which field differs (P3)."""
    return _send_to_school(
        Outcome.NOT_FOUND,
        lambda user, access, applicant, school: requests.send_mismatch_report(
            user, access, applicant, school,
            set(request.form.getlist("share")), request.form.get("comment", ""),
        ),
    )  # fmt: skip


@bp.post("/consent")
@tenant_required
def consent():
    """«Для входа в дневник необходимо согласие…»: given here, on the spot."""
    access = _access()
    if access["outcome"] != Outcome.OWN_CONSENT_NEEDED.value:
        abort(409)
    user = _pending_user()
    give_own(user)
    access["outcome"] = (
        Outcome.CHOOSE_ROLE.value if len(access["roles"]) > 1 else Outcome.DIARY.value
    )
    idp = session.get("idp")
    session.clear()
    session.rotate()
    session.update(access=access, idp=idp)
    sign_in(user, access)
    audit.record("login_succeeded", actor_id=user.id, outcome=access["outcome"], method="consent")
    return redirect(url_for("access.landing"))


@bp.route("/role", methods=["GET", "POST"])
@tenant_required
@login_required
def choose_role():
    roles = [role["kind"] for role in _access()["roles"]]
    if request.method == "POST":
        chosen = request.form.get("role")
        if chosen not in roles:
            abort(400)
        session["role"] = chosen
        return redirect(url_for("diary.home"))
    return render_template("access/choose_role.html", roles=roles, labels=ROLE_LABELS)

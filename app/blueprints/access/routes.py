from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.access import FIELD_LABELS, ROLE_LABELS, Outcome
from app.extensions import htmx
from app.i18n import gettext as _
from app.models import JoinRequest, MismatchReport, User
from app.schools import requests as school_requests
from app.signin import Access, current_access, enter_with_own_consent, pending_user
from app.signin import choose_role as act_in_role
from app.tenants import tenant_required

from . import bp
from .forms import JoinRequestForm, MismatchReportForm


def _access() -> Access:
    return current_access() or abort(404)


def _pending_user() -> User:
    return pending_user() or abort(404)


@bp.get("/")
@tenant_required
def landing():
    access = _access()
    if access.outcome == Outcome.DIARY and current_user.is_authenticated:
        return redirect(url_for("diary.home"))
    if access.outcome == Outcome.CHOOSE_ROLE and current_user.is_authenticated:
        return redirect(url_for("access.choose_role"))
    return _stopped_page(access)


def _stopped_page(access: Access, *, problem: str | None = None, form=None, status: int = 200):
    """The page of an outcome that keeps the person out, with what they can send the school;
    ``form`` is a refused request, shown again as it was filled in."""
    outcome = access.outcome
    extra: dict = {}
    if outcome == Outcome.STUDENT_PROFILE:
        # A refused request comes back without the search that found its school.
        query = request.args.get("q", "") if form is None else ""
        extra = {
            "query": query,
            "schools": school_requests.search_schools(g.tenant.slug, query),
            "search_min": school_requests.SEARCH_MIN,
            "sent": school_requests.requests_of(_pending_user(), JoinRequest),
            "form": form if form is not None else JoinRequestForm(formdata=None),
        }
    elif outcome == Outcome.NOT_FOUND and access.near_id and "applicant" in session:
        extra = {
            "report_schools": school_requests.schools_of_record(access.near_id),
            "applicant": session["applicant"],
            "shareable": school_requests.SHAREABLE,
            "sent": school_requests.requests_of(_pending_user(), MismatchReport),
            "form": form if form is not None else MismatchReportForm(formdata=None),
        }
    page = render_template(
        f"access/{outcome.value}.html",
        access=access,
        differing=[str(FIELD_LABELS[f]) for f in access.differing],
        missing=[str(FIELD_LABELS[f]) for f in access.missing],
        labels=FIELD_LABELS,
        problem=problem,
        **extra,
    )
    return page, status


@bp.get("/schools")
@tenant_required
def schools():
    """The typeahead of «Профиль обучающегося» (htmx); without JavaScript the search form
    reloads the whole page instead."""
    if _access().outcome != Outcome.STUDENT_PROFILE:
        abort(404)
    if not htmx:
        return redirect(url_for("access.landing", q=request.args.get("q", "")))
    query = request.args.get("q", "")
    return render_template(
        "access/_schools.html",
        query=query,
        schools=school_requests.search_schools(g.tenant.slug, query),
        search_min=school_requests.SEARCH_MIN,
        form=JoinRequestForm(formdata=None),
    )


def _send_to_school(outcome: Outcome, form: JoinRequestForm | MismatchReportForm, send):
    """A request from a person who is not in yet (P3, P7): ``send(user, access, applicant,
    school)`` raises RequestRefused with the reason to show on the same page."""
    access = _access()
    if access.outcome != outcome or "applicant" not in session:
        abort(409)
    school = school_requests.school_in(g.tenant.slug, form.school.data)
    try:
        send(_pending_user(), access, session["applicant"], school)
    except school_requests.RequestRefused as refused:
        return _stopped_page(access, problem=str(refused), form=form, status=400)
    sent = _(
        "Запрос отправлен: %(school)s. Ответ придёт в уведомления и будет виден на этой странице.",
        school=school.short_name,
    )
    flash(sent, "success")
    return redirect(url_for("access.landing"))


@bp.post("/join")
@tenant_required
def join():
    """«Профиль обучающегося»: the request to join a school (P7)."""
    form = JoinRequestForm(request.form)
    return _send_to_school(
        Outcome.STUDENT_PROFILE,
        form,
        lambda user, access, applicant, school: school_requests.send_join_request(
            user, applicant, school, form.class_name.data
        ),
    )


@bp.post("/mismatch")
@tenant_required
def mismatch():
    """«Ваш дневник не найден»: tell the school which field differs (P3)."""
    form = MismatchReportForm(request.form)
    return _send_to_school(
        Outcome.NOT_FOUND,
        form,
        lambda user, access, applicant, school: school_requests.send_mismatch_report(
            user, (access.near_id, access.differing), applicant, school,
            set(form.share.data), form.comment.data,
        ),
    )  # fmt: skip


@bp.post("/consent")
@tenant_required
def consent():
    """«Для входа в дневник необходимо согласие…»: given here, on the spot."""
    access = _access()
    if access.outcome != Outcome.OWN_CONSENT_NEEDED:
        abort(409)
    return redirect(url_for(enter_with_own_consent(access, _pending_user()).endpoint))


@bp.route("/role", methods=["GET", "POST"])
@tenant_required
@login_required
def choose_role():
    access = _access()
    if request.method == "POST":
        try:
            act_in_role(access, request.form.get("role", ""))
        except LookupError:
            abort(400)
        return redirect(url_for("diary.home"))
    return render_template("access/choose_role.html", roles=access.role_kinds, labels=ROLE_LABELS)

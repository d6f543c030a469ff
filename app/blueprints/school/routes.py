from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import FIELD_LABELS
from app.blueprints.guards import requires
from app.i18n import gettext as _
from app.identity.password import credentials as passwords
from app.models import JoinRequest, MismatchReport
from app.models.base import db_id
from app.schools import requests as school_requests
from app.schools.staff import schools_of, student_of, students_of
from app.wording import class_order

from . import bp

school_admin_required = requires(schools_of)


@bp.get("/students")
@school_admin_required
def students():
    # In class order (2А before 11А); within a class, by name as the query gives them.
    rows = sorted(students_of(current_user), key=lambda row: class_order(row.class_name))
    return render_template("school/students.html", rows=rows)


@bp.post("/students/<int:person_id>/credentials")
@school_admin_required
def issue_credentials(person_id: int):
    student = student_of(current_user, person_id) or abort(404)
    issued = passwords.issue(g.tenant.slug, student, by=current_user)
    response = render_template("school/slip.html", issued=issued)
    # The one-time password must not linger in any cache or history.
    return response, 200, {"Cache-Control": "no-store"}


# --- «Запросы»: join requests (P7) and data mismatches (P3) -------------------------------------

KINDS = {"join": JoinRequest, "mismatch": MismatchReport}


def _queued(kind: str, request_id: int):
    model = KINDS.get(kind) or abort(404)
    return school_requests.queued(current_user, model, request_id) or abort(404)


@bp.get("/requests")
@school_admin_required
def request_queue():
    return render_template(
        "school/requests.html",
        joins=school_requests.queue(current_user, JoinRequest),
        mismatches=school_requests.queue(current_user, MismatchReport),
        labels=FIELD_LABELS,
    )


def _request_page(kind: str, item, *, problem=None, problems=None, form=None, status=200,
                  revealed: bool = False):  # fmt: skip
    """A request's page; СНИЛС are masked unless the administrator asked to see them whole
    (``revealed``, audited), or is correcting the record with them."""
    revealed = revealed or bool(form and "snils" in form)
    classes = sorted(item.school.classes, key=lambda c: class_order(c.name))
    return render_template(
        f"school/{kind}_request.html", item=item, labels=FIELD_LABELS, problem=problem,
        problems=problems or {}, form=form, revealed=revealed, classes=classes,
    ), status  # fmt: skip


@bp.get("/requests/<kind>/<int:request_id>")
@school_admin_required
def request_detail(kind: str, request_id: int):
    return _request_page(kind, _queued(kind, request_id))


@bp.post("/requests/<kind>/<int:request_id>/snils")
@school_admin_required
def reveal_snils(kind: str, request_id: int):
    """The СНИЛС of a request shown whole: a deliberate act, audited (who, whose, when)."""
    item = _queued(kind, request_id)
    school_requests.reveal_snils(current_user, item)
    return _request_page(kind, item, revealed=True)


@bp.post("/requests/join/<int:request_id>/approve")
@school_admin_required
def approve_join(request_id: int):
    item = _queued("join", request_id)
    try:
        school_requests.approve_join(current_user, item, db_id(request.form.get("class_id")))
    except school_requests.RequestRefused as refused:
        return _request_page("join", item, problem=str(refused), form=request.form, status=400)
    flash(_("Запрос одобрен: %(name)s зачислен(а).", name=item.applicant["full_name"]), "success")
    return redirect(url_for("school.request_queue"))


@bp.post("/requests/mismatch/<int:request_id>/correct")
@school_admin_required
def correct_record(request_id: int):
    item = _queued("mismatch", request_id)
    try:
        school_requests.correct_record(current_user, item, request.form)
    except school_requests.RecordInvalid as invalid:
        return _request_page(
            "mismatch", item, problems=invalid.problems, form=request.form, status=400
        )
    except school_requests.RequestRefused as refused:
        return _request_page("mismatch", item, problem=str(refused), form=request.form, status=400)
    flash(_("Данные исправлены. Отправителю пришло уведомление: можно входить снова."), "success")
    return redirect(url_for("school.request_queue"))


@bp.post("/requests/<kind>/<int:request_id>/reject")
@school_admin_required
def reject_request(kind: str, request_id: int):
    item = _queued(kind, request_id)
    try:
        school_requests.reject(current_user, item, request.form.get("reason", ""))
    except school_requests.RequestRefused as refused:
        return _request_page(kind, item, problem=str(refused), form=request.form, status=400)
    flash(_("Запрос отклонён. Отправитель увидит причину."), "success")
    return redirect(url_for("school.request_queue"))

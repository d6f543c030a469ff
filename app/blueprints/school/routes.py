from functools import wraps

from flask import abort, g, render_template, request
from flask_login import current_user, login_required

from app import audit, passwords
from app.school_admin import schools_of, student_of, students_of
from app.tenants import tenant_required

from . import bp


def school_admin_required(view):
    @wraps(view)
    @tenant_required
    @login_required
    def wrapped(*args, **kwargs):
        if not schools_of(current_user):
            audit.record("forbidden", actor_id=current_user.id, path=request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/students")
@school_admin_required
def students():
    return render_template("school/students.html", rows=students_of(current_user))


@bp.post("/students/<int:person_id>/credentials")
@school_admin_required
def issue_credentials(person_id: int):
    student = student_of(current_user, person_id) or abort(404)
    issued = passwords.issue(g.tenant.slug, student, by=current_user)
    response = render_template("school/slip.html", issued=issued)
    # The one-time password must not linger in any cache or history.
    return response, 200, {"Cache-Control": "no-store"}

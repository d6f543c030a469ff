from flask import abort, g, render_template
from flask_login import current_user

from app import passwords
from app.blueprints.guards import requires
from app.school_admin import schools_of, student_of, students_of

from . import bp

school_admin_required = requires(schools_of)


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

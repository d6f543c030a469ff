from flask import abort, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app import audit
from app.access import Outcome
from app.accounts import sign_in
from app.consent import give_own
from app.extensions import db
from app.models import Person, User
from app.tenants import tenant_required

from . import bp

FIELD_LABELS = {
    "full_name": "фамилия, имя или отчество",
    "snils": "СНИЛС",
    "birth_date": "дата рождения",
    "email": "адрес электронной почты",
    "phone": "номер мобильного телефона",
}
ROLE_LABELS = {
    "student": "Ученик",
    "guardian": "Родитель",
    "teacher": "Педагогический работник",
    "school_admin": "Администратор ОО",
    "regional_admin": "Региональный администратор",
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
    return render_template(
        f"access/{outcome.value}.html",
        access=access,
        differing=[FIELD_LABELS[f] for f in access["differing"]],
        missing=[FIELD_LABELS[f] for f in access["missing"]],
    )


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


def children_names(ids: list[int]) -> list[str]:
    if not ids:
        return []
    people = db.session.scalars(db.select(Person).where(Person.id.in_(ids))).all()
    return [person.full_name for person in sorted(people, key=lambda p: ids.index(p.id))]

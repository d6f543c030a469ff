import secrets

from flask import (
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from app import audit, trusted
from app.diary.people import linked_children
from app.extensions import db, htmx, limiter
from app.identity import offered_methods
from app.identity.types import normalize_phone, normalize_snils
from app.models import User
from app.models.base import db_id
from app.school_registry import snils_is_valid
from app.tenants import tenant_required

from . import bp

WIZARD = "trusted_wizard"
STEPS = ("service", "children", "invite", "review")
TITLES = {
    "service": "Шаг 1. Выбрать услугу",
    "children": "Шаг 2. Выбрать ребенка",
    "invite": "Шаг 3. Пригласить доверенное лицо",
    "review": "Шаг 4. Проверка данных",
}
# Failed searches for an invitee count against this limit: nobody probes whose number it is.
INVITE_LIMITS = "10 per hour"


def _provider_label() -> str:
    """Where the invitee must be registered: the region's own identity provider."""
    return next((m.label for m in offered_methods(g.tenant) if m.kind != "password"), "портале")


def refusal() -> str:
    """One answer for a number nobody registered and for a surname that does not match."""
    return (
        "Не удалось найти доверенное лицо по этим данным. Проверьте номер мобильного телефона "
        "или СНИЛС и фамилию. Важно! Доверенное лицо должно быть зарегистрировано на портале "
        f"{_provider_label()}."
    )


@bp.before_request
@tenant_required
@login_required
def _enabled():
    if not g.tenant.policy.trusted_persons.enabled:
        abort(404)


def _guardian_children():
    """The children the parent may invite someone for: the login's guardian role, checked
    against the registry now. A trusted person, teacher or student has none: 403."""
    role = next((r for r in (session.get("access") or {}).get("roles", [])
                 if r["kind"] == "guardian"), None)  # fmt: skip
    children = linked_children(current_user, role["children"]) if role else []
    if not children:
        audit.record("forbidden", actor_id=current_user.id, path=request.path)
        abort(403)
    return children


@bp.get("/")
def index():
    guardian = any(r["kind"] == "guardian" for r in (session.get("access") or {}).get("roles", []))
    return render_template(
        "trusted/index.html",
        guardian=guardian,
        given=trusted.given_by(current_user),
        received=trusted.received_by(current_user),
    )


@bp.get("/new")
def start():
    _guardian_children()
    session[WIZARD] = {"key": secrets.token_urlsafe(16)}
    return redirect(url_for("trusted.step", step="service"))


def _done(state: dict, step: str) -> bool:
    return bool(state.get({"service": "service", "children": "children",
                           "invite": "invitee_id", "review": "invitee_id"}[step]))  # fmt: skip


def _take(step: str, state: dict, form, children) -> dict[str, str]:
    """Validate one step's form into the wizard's state; the problems by field."""
    if step == "service":
        if form.get("service") not in trusted.SERVICES:
            return {"service": "Выберите услугу."}
        state["service"] = form["service"]
    elif step == "children":
        allowed = {c.id for c in children}
        chosen = [i for i in map(db_id, form.getlist("children")) if i in allowed]
        state["children"] = chosen
        if not chosen:
            return {"children": "Выберите ребенка (детей)."}
    elif step == "invite":
        by = form.get("by") if form.get("by") in ("phone", "snils") else "phone"
        state.update(by=by, contact=form.get("contact", "").strip()[:32],
                     surname=form.get("surname", "").strip()[:100], invitee_id=None)  # fmt: skip
        problems = {}
        if by == "phone" and len(normalize_phone(state["contact"]) or "") != 11:
            problems["contact"] = "Укажите номер мобильного телефона: +7 и десять цифр."
        digits = normalize_snils(state["contact"]) if by == "snils" else None
        if by == "snils" and not (digits and snils_is_valid(digits)):
            problems["contact"] = "Проверьте СНИЛС: 11 цифр, контрольное число должно сходиться."
        if not state["surname"]:
            problems["surname"] = "Укажите фамилию доверенного лица."
        if problems:
            return problems
        invitee = trusted.find_invitee(g.tenant, by, state["contact"], state["surname"])
        if invitee is None or invitee.id == current_user.id:
            return {"form": refusal()}
        state["invitee_id"] = invitee.id
    return {}


def _render(step: str, state: dict, children, problems=None, status=200, push=False):
    chosen = [c for c in children if c.id in state.get("children", [])]
    invitee = db.session.get(User, state["invitee_id"]) if state.get("invitee_id") else None
    context = {
        "step": step, "steps": STEPS, "titles": TITLES, "state": state, "children": children,
        "chosen": chosen, "invitee": invitee, "services": trusted.SERVICES,
        "problems": problems or {}, "provider": _provider_label(),
        "activation": trusted.activation_phrase(g.tenant),
    }  # fmt: skip
    template = "trusted/_wizard.html" if htmx and not htmx.boosted else "trusted/wizard.html"
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    if push:
        response.headers["HX-Push-Url"] = url_for("trusted.step", step=step)
    return response


def _failed_invite(response) -> bool:
    return response.status_code == 400 and request.view_args.get("step") == "invite"


@bp.route("/new/<step>", methods=["GET", "POST"])
@limiter.limit(
    INVITE_LIMITS,
    key_func=lambda: f"trusted:{g.tenant.slug}:{current_user.id}",
    deduct_when=_failed_invite,
    exempt_when=lambda: request.method != "POST",
)
def step(step: str):
    if step not in STEPS:
        abort(404)
    children = _guardian_children()
    state = session.get(WIZARD)
    if state is None:
        return redirect(url_for("trusted.start"))
    earlier = next((s for s in STEPS[: STEPS.index(step)] if not _done(state, s)), None)
    if earlier is not None:
        return redirect(url_for("trusted.step", step=earlier))
    if request.method == "POST" and step != "review":
        problems = _take(step, state, request.form, children)
        session[WIZARD] = state
        if problems:
            return _render(step, state, children, problems, status=400)
        following = STEPS[STEPS.index(step) + 1]
        if htmx:
            return _render(following, state, children, push=True)
        return redirect(url_for("trusted.step", step=following))
    return _render(step, state, children)


@bp.post("/new/send")
def send():
    children = _guardian_children()
    state = session.get(WIZARD) or {}
    if not all(_done(state, s) for s in STEPS):
        return redirect(url_for("trusted.start"))
    invitee = db.session.get(User, state["invitee_id"])
    chosen = [c for c in children if c.id in state["children"]]
    if invitee is None or invitee.tenant != g.tenant.slug or not chosen:
        return redirect(url_for("trusted.start"))
    try:
        trusted.invite(g.tenant, current_user, invitee, chosen, state["key"])
    except trusted.InviteRefused:
        abort(400)
    flash("Приглашение отправлено доверенному лицу в раздел «Уведомления» портала.", "success")
    return redirect(url_for("trusted.index"))


def _act(action, grant_id: int, message: str):
    try:
        action(grant_id)
    except LookupError:
        abort(404)
    except trusted.InviteRefused:
        abort(409)
    flash(message, "success")
    back = "notifications.index" if request.form.get("back") == "notifications" else "trusted.index"
    return redirect(url_for(back))


@bp.post("/<int:grant_id>/revoke")
def revoke(grant_id: int):
    return _act(lambda i: trusted.revoke(current_user, i), grant_id, "Доступ отозван.")


@bp.post("/<int:grant_id>/leave")
def leave(grant_id: int):
    return _act(lambda i: trusted.leave(current_user, i), grant_id, "Вы отказались от доступа.")


@bp.post("/<int:grant_id>/accept")
def accept(grant_id: int):
    message = f"Приглашение принято. {trusted.activation_phrase(g.tenant)}"
    response = _act(
        lambda i: trusted.answer(g.tenant, current_user, i, accept=True), grant_id, message
    )
    access = session.get("access") or {}
    if not any(r["kind"] == "trusted" for r in access.get("roles", [])):
        access.setdefault("roles", []).append({"kind": "trusted", "children": [], "waiting": []})
        session["access"] = access
    return response


@bp.post("/<int:grant_id>/decline")
def decline(grant_id: int):
    return _act(lambda i: trusted.answer(g.tenant, current_user, i, accept=False), grant_id,
                "Приглашение отклонено.")  # fmt: skip

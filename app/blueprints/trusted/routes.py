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
from app.access import RoleKind
from app.blueprints.guards import ask_first, confirmed
from app.diary.people import linked_children
from app.extensions import db, htmx, limiter
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.identity import provider_names
from app.models import User
from app.signin import add_session_role, current_access
from app.tenants import tenant_required

from . import bp
from .forms import ChildrenForm, InviteForm, ServiceForm, StepForm

WIZARD = "trusted_wizard"
STEPS = ("service", "children", "invite", "review")
TITLES = {
    "service": _l("Шаг 1. Выбрать услугу"),
    "children": _l("Шаг 2. Выбрать ребенка"),
    "invite": _l("Шаг 3. Пригласить доверенное лицо"),
    "review": _l("Шаг 4. Проверка данных"),
}
STEP_FORMS = {"service": ServiceForm, "children": ChildrenForm, "invite": InviteForm}
# Failed searches for an invitee count against this limit: nobody probes whose number it is.
INVITE_LIMITS = "10 per hour"


def refusal() -> str:
    """One answer for a number nobody registered and for a surname that does not match."""
    return _(
        "Не удалось найти доверенное лицо по этим данным. Проверьте номер мобильного телефона "
        "или СНИЛС и фамилию. Важно! Доверенное лицо должно быть зарегистрировано на портале "
        "%(portal)s.",
        portal=provider_names(g.tenant).genitive,
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
    access = current_access()
    children = linked_children(current_user, access.guardian_children) if access else []
    if not children:
        audit.record("forbidden", actor_id=current_user.id, path=request.path)
        abort(403)
    return children


@bp.get("/")
def index():
    access = current_access()
    guardian = bool(access and access.has_role(RoleKind.GUARDIAN.value))
    return render_template(
        "trusted/index.html",
        guardian=guardian,
        given=trusted.for_children_of(current_user),
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


def _form(step: str, state: dict, children, posted=None) -> StepForm | None:
    """The step's form, from what was posted or else from what the wizard remembers; the
    review asks nothing."""
    form_class = STEP_FORMS.get(step)
    return form_class(posted, state=state, offered=children) if form_class else None


def _take(step: str, form: StepForm, state: dict) -> bool:
    """Validate one step's form into the wizard's state; step 3 also finds the invitee."""
    if not form.save(state):
        return False
    if step == "invite":
        invitee = trusted.find_invitee(g.tenant, form.by.data, form.contact.data, form.surname.data)
        if invitee is None or invitee.id == current_user.id:
            form.form_errors.append(refusal())
            return False
        state["invitee_id"] = invitee.id
    return True


def _render(step: str, state: dict, children, form=None, status=200, push=False):
    chosen = [c for c in children if c.id in state.get("children", [])]
    invitee = db.session.get(User, state["invitee_id"]) if state.get("invitee_id") else None
    context = {
        "step": step, "steps": STEPS, "titles": TITLES, "state": state, "chosen": chosen,
        "invitee": invitee, "services": trusted.SERVICES,
        "form": form if form is not None else _form(step, state, children),
        "activation": trusted.activation_phrase(g.tenant),
        "expiry": trusted.invitation_phrase(g.tenant),
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
        form = _form(step, state, children, posted=request.form)
        taken = _take(step, form, state)
        session[WIZARD] = state
        if not taken:
            return _render(step, state, children, form, status=400)
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
    flash(_("Приглашение отправлено доверенному лицу в раздел «Уведомления» портала."), "success")
    return redirect(url_for("trusted.index"))


def _back() -> str:
    return "notifications.index" if request.form.get("back") == "notifications" else "trusted.index"


def _ending(grant_id: int, rows, states: tuple[str, ...]):
    """The grant whose access is about to end, if the person may end it (404 otherwise)."""
    row = next((r for r in rows if r.grant.id == grant_id and r.state in states), None)
    return row or abort(404)


def _asking(row, *, question: str, effect: str, yes: str, action: str):
    """The first POST of an action that ends access asks: the same server step swapped in
    place by htmx, or as a page without JavaScript; only confirm=yes acts."""
    confirm = {
        "id": f"grant-{row.grant.id}-end",
        "title": _("Доверенные лица"),
        "yes": yes,
        "question": question,
        "effect": effect,
        "action": action,
        "back": url_for(_back()),
        "keep": {"back": request.form.get("back", "")},
    }
    return ask_first(confirm)


def _act(action, grant_id: int, message: str):
    try:
        action(grant_id)
    except LookupError:
        abort(404)
    except trusted.InvitationExpired as late:
        flash(trusted.expired_words(g.tenant, late.grant), "error")
        return redirect(url_for(_back()))
    except trusted.AlreadyEnded:
        flash(_("Отзывать уже нечего: это приглашение или доступ больше не действует."), "error")
        return redirect(url_for(_back()))
    except trusted.InviteRefused:
        abort(409)
    flash(message, "success")
    return redirect(url_for(_back()))


@bp.post("/<int:grant_id>/revoke")
def revoke(grant_id: int):
    if not confirmed():
        row = _ending(grant_id, trusted.for_children_of(current_user), trusted.REVOCABLE)
        invitee, children = row.grant.invitee.display_name, ", ".join(row.children)
        effect = _(
            "Доверенное лицо сразу перестанет видеть дневник, а неотвеченное приглашение "
            "перестанет действовать. Вернуть доступ можно только новым приглашением."
        )
        if row.grant.parent_id != current_user.id and row.state != "unlinked":
            effect += " " + _(
                "Приглашение отправлял другой родитель (%(inviter)s): ему придёт уведомление.",
                inviter=row.grant.parent.display_name,
            )
        return _asking(
            row,
            question=_("Отозвать доступ доверенного лица (%(invitee)s) к дневнику: %(children)s?",
                       invitee=invitee, children=children),
            effect=effect, yes=_("Да, отозвать доступ"),
            action=url_for("trusted.revoke", grant_id=grant_id),
        )  # fmt: skip
    return _act(lambda i: trusted.revoke(current_user, i), grant_id, _("Доступ отозван."))


@bp.post("/<int:grant_id>/leave")
def leave(grant_id: int):
    if not confirmed():
        row = _ending(grant_id, trusted.received_by(current_user), ("waiting", "active"))
        parent, children = row.grant.parent.display_name, ", ".join(row.children)
        return _asking(
            row, question=_("Отказаться от доступа к дневнику: %(children)s?", children=children),
            effect=_("Вы перестанете видеть дневник. Вернуть доступ сможет только родитель "
                     "(%(parent)s), пригласив вас снова.", parent=parent),
            yes=_("Да, отказаться"), action=url_for("trusted.leave", grant_id=grant_id),
        )  # fmt: skip
    return _act(lambda i: trusted.leave(current_user, i), grant_id, _("Вы отказались от доступа."))


@bp.post("/<int:grant_id>/accept")
def accept(grant_id: int):
    message = " ".join((_("Приглашение принято."), trusted.activation_phrase(g.tenant)))
    response = _act(
        lambda i: trusted.answer(g.tenant, current_user, i, accept=True), grant_id, message
    )
    add_session_role(RoleKind.TRUSTED.value)
    return response


@bp.post("/<int:grant_id>/decline")
def decline(grant_id: int):
    return _act(lambda i: trusted.answer(g.tenant, current_user, i, accept=False), grant_id,
                _("Приглашение отклонено."))  # fmt: skip

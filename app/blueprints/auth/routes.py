from datetime import date

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from app import audit
from app.access import Outcome, evaluate
from app.accounts import begin_session, user_for
from app.consent import request_parental
from app.errors import render_error
from app.identity import LoginFailed, ProviderUnavailable, offered_methods, provider_class
from app.tenants import tenant_required

from . import bp

FAILURE_MESSAGES = {
    "refused": (
        "Вы нажали «Отказаться» на странице «Предоставление прав доступа», поэтому вход не "
        "выполнен. Чтобы войти, нажмите «Госуслуги» ещё раз и выберите «Предоставить»."
    ),
    "bad_state": "Страница входа устарела. Нажмите кнопку входа ещё раз.",
}
DEFAULT_FAILURE = (
    "Не удалось войти: сервис входа вернул ошибку. Попробуйте ещё раз; если ошибка повторится, "
    "обратитесь в службу поддержки."
)
UNAVAILABLE = (
    "Сервис входа сейчас не отвечает, поэтому войти не получилось. "
    "Попробуйте ещё раз через несколько минут."
)


def _provider(kind: str):
    if kind not in {method.kind for method in offered_methods(g.tenant)}:
        abort(404)
    return provider_class(kind)(g.tenant)


@bp.get("/login")
@tenant_required
def login():
    if current_user.is_authenticated:
        return redirect(url_for("portal.index"))
    return render_template("auth/login.html", methods=offered_methods(g.tenant))


@bp.get("/login/<kind>")
@tenant_required
def start(kind: str):
    try:
        return _provider(kind).start_login()
    except LoginFailed as failure:
        audit.record("login_failed", method=kind, reason=failure.reason, detail=failure.detail)
        return render_error(503, UNAVAILABLE)


@bp.get("/login/<kind>/callback")
@tenant_required
def callback(kind: str):
    provider = _provider(kind)
    try:
        identity = provider.finish_login(request.args)
    except ProviderUnavailable as down:
        session.clear()
        audit.record("login_failed", method=kind, reason="provider_unavailable", detail=str(down))
        return render_error(503, UNAVAILABLE)
    except LoginFailed as failure:
        session.clear()
        audit.record("login_failed", method=kind, reason=failure.reason, detail=failure.detail)
        flash(FAILURE_MESSAGES.get(failure.reason, DEFAULT_FAILURE), "error")
        return redirect(url_for("auth.login"))
    user = user_for(g.tenant, identity)
    decision = evaluate(g.tenant, identity, user, date.today())
    if decision.outcome == Outcome.PARENT_CONSENT_NEEDED:
        request_parental(g.tenant.slug, decision.person_id, decision.ask_guardians)
    begin_session(user, decision, kind=kind, provider_session=identity.provider_session)
    return redirect(url_for("access.landing"))


@bp.post("/logout")
@tenant_required
def logout():
    idp = session.get("idp") or {}
    if current_user.is_authenticated:
        audit.record("logout", actor_id=current_user.id, commit=True)
    logout_user()
    session.destroy()
    kind = idp.get("kind")
    if kind in {method.kind for method in offered_methods(g.tenant)}:
        target = provider_class(kind)(g.tenant).logout_url(
            idp.get("session"), url_for("auth.login", _external=True)
        )
        if target:
            return redirect(target)
    return redirect(url_for("auth.login"))


@bp.after_request
def _no_referrer_on_callbacks(response):
    if request.endpoint == "auth.callback":
        response.headers["Referrer-Policy"] = "no-referrer"
    return response

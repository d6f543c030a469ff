from datetime import date

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from app import audit, passwords
from app.access import Outcome, evaluate
from app.accounts import begin_session, user_for
from app.consent import request_parental
from app.errors import render_error
from app.extensions import limiter
from app.identity import LoginFailed, ProviderUnavailable, offered_methods, provider_class
from app.identity import password as password_identity
from app.identity.password import PasswordChangeRequired
from app.school_requests import applicant_of, schools_of_record
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
# The seeds' words (000), the same for an unknown login and a wrong password.
WRONG_PASSWORD = "Неверный логин или пароль"  # noqa: S105 - a message, not a password
# Per region and login: 5 a minute, then 20 an hour; per address: 30 a minute, 300 an hour.
# Every limit lapses on its own, so nobody can lock a student out for good.
LOGIN_LIMITS = "5 per minute;20 per hour"
IP_LIMITS = "30 per minute;300 per hour"

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
    return _enter(kind, identity)


def _enter(kind: str, identity):
    """After any successful authentication: the access decision, then a fresh session."""
    user = user_for(g.tenant, identity)
    if user.disabled:
        audit.record("login_failed", method=kind, reason="account_disabled", actor_id=user.id)
        flash("Учётная запись отключена. Обратитесь в службу поддержки.", "error")
        return redirect(url_for("auth.login"))
    decision = evaluate(g.tenant, identity, user, date.today(), method=kind)
    if decision.outcome == Outcome.PARENT_CONSENT_NEEDED:
        request_parental(g.tenant.slug, decision.person_id, decision.ask_guardians)
    # For the region's statistics: which schools' records people fail to match.
    schools = [s.id for s in schools_of_record(decision.near_id)] if decision.near_id else []
    begin_session(
        user, decision, kind=kind, provider_session=identity.provider_session, schools=schools
    )
    if decision.outcome == Outcome.STUDENT_PROFILE or decision.near_id is not None:
        # What the person may choose to send to a school (P7, P3); it stays on the server.
        session["applicant"] = applicant_of(identity)
    return redirect(url_for("access.landing"))


def _failed_password(response) -> bool:
    """Only failed attempts count against the limits."""
    return response.status_code != 302


def _login_key() -> str:
    login = request.form.get("login", "").strip().casefold()[:64]
    return f"login:{g.tenant.slug}:{login}"


@bp.post("/login/password")
@tenant_required
@limiter.limit(LOGIN_LIMITS, key_func=_login_key, deduct_when=_failed_password)
@limiter.limit(IP_LIMITS, deduct_when=_failed_password)
def password_submit():
    provider = _provider("password")
    try:
        identity = provider.finish_login(request.form)
    except PasswordChangeRequired as required:
        session.clear()
        session.rotate()
        session["password_change"] = required.credential.id
        return redirect(url_for("auth.password_change"))
    except LoginFailed as failure:
        audit.record("login_failed", method="password", reason=failure.reason, login=failure.detail)
        page = render_template(
            "auth/password.html", login=request.form.get("login", ""), error=WRONG_PASSWORD
        )
        return page, 200
    return _enter("password", identity)


@bp.route("/login/password/change", methods=["GET", "POST"])
@tenant_required
def password_change():
    credential = password_identity.credential(session.get("password_change") or 0)
    if credential is None or credential.tenant != g.tenant.slug:
        return redirect(url_for("auth.start", kind="password"))
    problems = []
    if request.method == "POST":
        problems = passwords.change_from_form(
            credential, request.form, keep_sid=session.sid, current_required=False
        )
        if not problems:
            return _enter("password", password_identity.identity_of(credential))
    return render_template(
        "auth/password_change.html", problems=problems, login=credential.login,
        min_length=passwords.MIN_LENGTH,
    ), (400 if problems else 200)  # fmt: skip


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

import time

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, logout_user
from limits import parse as parse_limit
from redis.exceptions import RedisError

from app import audit, metrics, page_cache
from app.blueprints.forms import PasswordChangeForm
from app.errors import render_error
from app.extensions import limiter
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.identity import LoginFailed, ProviderUnavailable, offered_methods, provider_class
from app.identity import availability as provider_state
from app.identity.password import PasswordChangeRequired, PasswordProvider, identity_of
from app.identity.password import credentials as passwords
from app.signin import complete_login, disabled_before_login
from app.tenants import tenant_required

from . import bp

STALE = _l("Страница входа устарела. Нажмите кнопку входа ещё раз.")
DEFAULT_FAILURE = _l(
    "Не удалось войти: сервис входа вернул ошибку. Попробуйте ещё раз; если ошибка повторится, "
    "обратитесь в службу поддержки."
)
# The seeds' words (000), the same for an unknown login and a wrong password.
WRONG_PASSWORD = _l("Неверный логин или пароль")
# Failed attempts count per (region, login, client address): 5 a minute, then 20 an hour;
# per address, over all logins: 30 a minute, 300 an hour. Every limit lapses on its own, and
# none is per login alone: guessing from elsewhere never keeps the owner out (docs/security.md).
LOGIN_LIMITS = "5 per minute;20 per hour"
IP_LIMITS = "30 per minute;300 per hour"
# Per (region, login) over every address, a much higher backstop that only slows: past it,
# each further *failed* attempt is answered after a delay; the right password is never slowed.
LOGIN_BACKSTOP = parse_limit("100 per hour")

UNAVAILABLE = _l(
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
    down = provider_state.kinds_down(g.tenant)

    def context() -> dict:
        return {"methods": offered_methods(g.tenant), "asked_for": request.args.get("next"),
                "providers_down": down}  # fmt: skip

    return page_cache.render("auth/login.html", g.tenant.serial, context, shows=down)


@bp.app_template_global("method_look")
def method_look(label) -> str:
    """The look of a login button people know (the providers' own), recognised by the words of
    its configured label, in whichever language the label is written."""
    words = str(label).casefold()
    if "госуслуг" in words or "gosuslug" in words:  # i18n-exempt: words matched, not shown
        return "gosuslugi"
    return "mosru" if "mos.ru" in words else "plain"


def _unavailable(kind: str, down: ProviderUnavailable | LoginFailed):
    """The provider did not answer, or answered nonsense, before the login could start or end."""
    reason, detail = getattr(down, "reason", "provider_unavailable"), getattr(down, "detail", "")
    audit.record("login_failed", method=kind, reason=reason, detail=detail or str(down))
    # Our own keys or secrets that do not load are not the provider's fault: said apart.
    metrics.UNAVAILABLE.labels("misconfigured" if reason == "misconfigured" else "provider").inc()
    if reason != "misconfigured":
        provider_state.provider_failed(g.tenant, kind)
    return render_error(503, str(UNAVAILABLE))


def _failure_message(provider, failure: LoginFailed) -> str:
    """The words of a failed login, in the page's language (a real str: it goes to the session
    as a flash)."""
    if failure.reason == "refused":
        if provider.refused_message:
            return str(provider.refused_message)
        label = next(m.label for m in offered_methods(g.tenant) if m.kind == provider.kind)
        names = provider.names(g.tenant)
        return _(
            "Вы не разрешили %(provider)s передать ваши данные, поэтому вход не выполнен. "
            "Чтобы войти, нажмите «%(label)s» ещё раз и разрешите передачу данных.",
            provider=names.nominative, label=str(label),
        )  # fmt: skip
    return str(STALE if failure.reason == "bad_state" else DEFAULT_FAILURE)


@bp.get("/login/<kind>")
@tenant_required
def start(kind: str):
    try:
        leave = _provider(kind).start_login()
    except (ProviderUnavailable, LoginFailed) as down:
        return _unavailable(kind, down)
    if not provider_state.answers(g.tenant, kind):
        # Not to the browser's own connection error: our page, which says so; no pending
        # login is kept (one of the same kind under way in another tab stays as it was).
        _provider(kind).withdraw_pending()
        audit.record("login_failed", method=kind, reason="provider_unavailable",
                     detail="the provider's probe found it down")  # fmt: skip
        metrics.UNAVAILABLE.labels("provider").inc()
        return render_error(503, str(UNAVAILABLE))
    return leave


@bp.get("/login/<kind>/callback")
@tenant_required
def callback(kind: str):
    """The provider's answer. A failure ends only the pending login: a person already signed
    in stays so (a forged callback from another site cannot sign anyone out)."""
    provider = _provider(kind)
    try:
        identity = provider.finish_login(request.args)
    except ProviderUnavailable as down:
        provider.forget_pending()
        return _unavailable(kind, down)
    except LoginFailed as failure:
        provider.forget_pending()
        audit.record("login_failed", method=kind, reason=failure.reason, detail=failure.detail)
        flash(_failure_message(provider, failure), "error")
        return redirect(url_for("auth.login"))
    provider_state.provider_answered(g.tenant, kind)
    return _enter(kind, identity)


def _enter(kind: str, identity):
    """After any successful authentication: wherever completing the login leads."""
    entered = complete_login(g.tenant, identity, method=kind)
    if entered.refusal:
        flash(entered.refusal, "error")
    return redirect(url_for(entered.endpoint))


def _failed_password(response) -> bool:
    """Only failed attempts count against the limits."""
    return response.status_code != 302


def _login() -> str:
    return request.form.get("login", "").strip().casefold()[:64]


def _login_key() -> str:
    return f"login:{g.tenant.slug}:{_login()}:{get_remote_address()}"


def _slow_a_distributed_guess() -> None:
    """A failed attempt on a login many addresses are guessing: answered late, never refused."""
    try:
        # Under the deployment's prefix, as Flask-Limiter's own keys: a Redis shared by two
        # deployments (or test runs) counts each one's guesses apart.
        prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
        over = not limiter.limiter.hit(
            LOGIN_BACKSTOP, prefix, "login-backstop", g.tenant.slug, _login()
        )
    except RedisError:  # the limits' store is gone; the per-address limits hold in memory
        return
    if over:
        time.sleep(current_app.config["LOGIN_BACKSTOP_DELAY_SECONDS"])


@bp.post("/login/password")
@tenant_required
@limiter.limit(LOGIN_LIMITS, key_func=_login_key, deduct_when=_failed_password)
@limiter.limit(IP_LIMITS, deduct_when=_failed_password)
def password_submit():
    provider = _provider(PasswordProvider.kind)
    try:
        identity = provider.finish_login(request.form)
    except PasswordChangeRequired as required:
        if refused := disabled_before_login(
            g.tenant, identity_of(required.credential), provider.kind
        ):
            flash(refused.refusal, "error")
            return redirect(url_for(refused.endpoint))
        session.clear()
        session.rotate()
        session["password_change"] = required.credential.id
        return redirect(url_for("auth.password_change"))
    except LoginFailed as failure:
        audit.record("login_failed", method=provider.kind, reason=failure.reason,
                     login=failure.detail)  # fmt: skip
        _slow_a_distributed_guess()
        page = render_template(
            "auth/password.html", login=request.form.get("login", ""), error=str(WRONG_PASSWORD)
        )
        return page, 200
    return _enter(provider.kind, identity)


@bp.route("/login/password/change", methods=["GET", "POST"])
@tenant_required
def password_change():
    credential = passwords.credential(session.get("password_change") or 0)
    if credential is None or credential.tenant != g.tenant.slug:
        return redirect(url_for("auth.start", kind=PasswordProvider.kind))
    form, problems = PasswordChangeForm(request.form, asks_current=False), []
    if form.is_submitted():
        problems = passwords.change_from_form(
            credential, form.data, keep_sid=session.sid, current_required=form.asks_current
        )
        if not problems:
            return _enter(PasswordProvider.kind, identity_of(credential))
    return render_template(
        "auth/password_change.html", form=form, problems=problems, login=credential.login,
        min_length=passwords.MIN_LENGTH, action=url_for("auth.password_change"), first_login=True,
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

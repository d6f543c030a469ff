"""Accounts of the region (``/admin/accounts``): find a person, open their account (roles,
registry records, active sessions), disable it and enable it again — each with a reason,
after the confirmation every significant action asks (``guards.ask_first``).

The search is a POST: what is typed (a phone, an e-mail, digits of СНИЛС) is personal data,
and never goes into an address. The rules and the audit live in ``app.accounts_admin``.
"""

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app import accounts_admin, wording
from app.access.lookup import is_regional_admin
from app.blueprints.guards import ask_first, confirmed, requires
from app.errors import render_error
from app.extensions import htmx
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.models import User

from . import bp

regional_admin_required = requires(is_regional_admin)

OWN_ACCOUNT = _l(
    "Свою учётную запись отключить нельзя: так вы потеряли бы доступ к администрированию. "
    "Если это нужно, попросите другого администратора региона."
)
ALREADY = {
    True: _l(
        "Учётная запись уже отключена — возможно, это только что сделал другой "
        "администратор. Что и когда менялось, видно в истории на этой странице."
    ),
    False: _l(
        "Учётная запись уже включена — возможно, это только что сделал другой "
        "администратор. Что и когда менялось, видно в истории на этой странице."
    ),
}
STORE_SILENT = _l(
    "Учётная запись отключена. Хранилище сеансов сейчас не ответило, поэтому открытые сеансы "
    "не удалось завершить, но войти с ними всё равно нельзя: портал не принимает отключённую "
    "учётную запись ни на одной странице."
)


# --- finding a person -----------------------------------------------------------------------


def _search_page(query: str, *, found=None, problem: str | None = None, status: int = 200):
    template = "admin/_accounts.html" if htmx else "admin/accounts.html"
    page = render_template(template, query=query, found=found, problem=problem,
                           query_max=accounts_admin.QUERY_MAX)  # fmt: skip
    response = make_response(page, status)
    response.vary.add("HX-Request")
    return response


@bp.get("/accounts")
@regional_admin_required
def accounts():
    return _search_page("")


@bp.post("/accounts")
@regional_admin_required
def find_accounts():
    text = request.form.get("q", "")
    offset = min(max(request.form.get("offset", 0, type=int), 0), 1_000_000)
    try:
        found = accounts_admin.find_accounts(g.tenant.slug, text, offset)
    except accounts_admin.QueryProblem as problem:
        return _search_page(text[: accounts_admin.QUERY_MAX], problem=str(problem), status=400)
    return _search_page(found.query, found=found)


# --- one account ----------------------------------------------------------------------------


def _account(user_id: int) -> User:
    """An account of this region: any other id is a 404, another region's as well."""
    try:
        return accounts_admin.account_of(g.tenant.slug, user_id)
    except LookupError:
        abort(404)


def _account_page(user: User, *, reason: str = "", problem=None, notice=None, status=200):
    """The account's page; answering htmx, only its «Доступ» block (what the form replaces)."""
    history = accounts_admin.history_of(g.tenant.slug, user.id)
    state = {"user": user, "own": user.id == current_user.id, "reason": reason,
             "problem": problem, "notice": notice, "last": history[0] if history else None,
             "reason_max": accounts_admin.REASON_MAX}  # fmt: skip
    if htmx and request.method == "POST":
        return render_template("admin/_account_state.html", **state), status
    details = accounts_admin.details(g.tenant, user)
    return render_template("admin/account.html", details=details, history=history,
                           zone_name=wording.zone_words(g.tenant.config.timezone),
                           **state), status  # fmt: skip


@bp.get("/accounts/<int:user_id>")
@regional_admin_required
def account(user_id: int):
    return _account_page(_account(user_id))


def _words(disabled: bool, name: str, reason: str) -> dict[str, str]:
    """The question's words: to disable the account, or to enable it."""
    if disabled:
        return {
            "title": _("Отключение учётной записи"),
            "question": _("Отключить учётную запись: %(name)s?", name=name),
            "effect": _(
                "Причина: «%(reason)s». Человек сразу выйдет на всех устройствах и не сможет "
                "войти ни одним способом, пока учётную запись не включат снова.",
                reason=reason,
            ),
            "yes": _("Да, отключить"),
        }
    return {
        "title": _("Включение учётной записи"),
        "question": _("Включить учётную запись: %(name)s?", name=name),
        "effect": _("Причина: «%(reason)s». Человек снова сможет входить на портал.",
                    reason=reason),
        "yes": _("Да, включить"),
    }  # fmt: skip


def _question(user: User, disabled: bool, reason: str) -> dict:
    words = _words(disabled, user.display_name, reason)
    endpoint = "admin.disable_account" if disabled else "admin.enable_account"
    return {"id": "account-state", "action": url_for(endpoint, user_id=user.id),
            "back": url_for("admin.account", user_id=user.id), "keep": {"reason": reason},
            **words}  # fmt: skip


def _change(user: User, *, disabled: bool):
    """Ask first, then disable (``disabled``) or enable the account; said as it went."""
    try:
        reason = accounts_admin.clean_reason(request.form.get("reason"))
    except ValueError as problem:
        typed = request.form.get("reason", "")[: accounts_admin.REASON_MAX]
        return _account_page(user, reason=typed, problem=str(problem), status=400)
    if user.disabled == disabled:  # the page was older than the account's state
        return _account_page(user, notice=str(ALREADY[disabled]), status=409)
    if not confirmed():
        return ask_first(_question(user, disabled, reason))
    try:
        if disabled:
            ended = accounts_admin.disable(g.tenant.slug, user, by=current_user, reason=reason)
            message = str(STORE_SILENT) if ended is None else _(
                "Учётная запись отключена. Завершено сеансов: %(ended)s.", ended=ended)  # fmt: skip
        else:
            accounts_admin.enable(g.tenant.slug, user, by=current_user, reason=reason)
            message = _("Учётная запись снова включена: человек может входить на портал.")
    except accounts_admin.AlreadyDone:
        return _account_page(user, notice=str(ALREADY[disabled]), status=409)
    flash(message, "success")
    return redirect(url_for("admin.account", user_id=user.id), 303)


@bp.post("/accounts/<int:user_id>/disable")
@regional_admin_required
def disable_account(user_id: int):
    user = _account(user_id)
    if user.id == current_user.id:
        return render_error(409, str(OWN_ACCOUNT))
    return _change(user, disabled=True)


@bp.post("/accounts/<int:user_id>/enable")
@regional_admin_required
def enable_account(user_id: int):
    return _change(_account(user_id), disabled=False)

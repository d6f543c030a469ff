"""Loading the school registry from the web (``/admin/imports``): upload a file, read its
report line by line, apply it, watch it go in, read what changed.

The work runs outside the request (``app.schools.import_jobs``); the job's page polls its
status fragment (``admin/_import_status.html``) every second with htmx, and without
JavaScript refreshes itself. Applying and discarding ask first (``guards.ask_first``).
"""

from babel.numbers import format_decimal
from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app import i18n
from app.access.lookup import is_regional_admin
from app.blueprints.guards import ask_first, confirmed, requires
from app.errors import render_error
from app.extensions import htmx
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.schools import import_jobs, registry
from app.schools.staging import SUMMARY_KINDS

from . import bp

regional_admin_required = requires(is_regional_admin)

# Room for the form's other fields and the multipart boundaries around the file.
FORM_SLACK = 64 * 1024
KIND_WORDS = {
    "school": _l("Школы"),
    "class": _l("Классы"),
    "person": _l("Люди"),
    "enrolment": _l("Зачисления в классы"),
    "guardian": _l("Связи «родитель — ребёнок»"),
    "staff": _l("Сотрудники школ"),
    "teacher": _l("Классы учителей"),
}
STATE_WORDS = {
    registry.UPLOADING: _l("загружается"),
    registry.CHECKING: _l("проверяется"),
    registry.CHECKED: _l("проверен, ждёт решения"),
    registry.APPLYING: _l("применяется"),
    registry.DONE: _l("применён"),
    registry.FAILED: _l("не применён"),
    registry.DISCARDED: _l("отменён"),
}
FAILURE_WORDS = {
    "worker_lost": _l(
        "Работа над файлом прервалась: обработчик загрузок перестал отвечать "
        "(например, портал перезапустили)."
    ),
    "not_taken": _l(
        "Файл никто не взял в работу: обработчик загрузок не запущен. Сообщите оператору портала."
    ),
    "error": _l("Во время работы над файлом произошла ошибка."),
    "problems": _l(
        "В файле есть ошибки, а загрузка из командной строки записывает всё или ничего."
    ),
    "expired": _l("Файл не применили в течение суток, и портал его удалил."),
    "by_admin": _l("Загрузку отменил администратор."),
}
NOT_READY = _l("Этот файл уже применяется или применён: ниже — что с ним сейчас.")


def _number(value: int) -> str:
    """A count as the page's language writes it (12 000; 12,000)."""
    return format_decimal(value, locale=i18n.locale())


def _busy_words(busy: registry.Busy) -> str:
    if busy.running is None:
        return _(
            "Сейчас в реестр региона уже загружается файл «другой» — одновременно идёт только "
            "одна загрузка. Дождитесь, пока она закончится, и попробуйте снова."
        )
    return _(
        "Сейчас в реестр региона уже загружается файл «%(source)s» — одновременно идёт только "
        "одна загрузка. Дождитесь, пока она закончится, и попробуйте снова.",
        source=busy.running.source,
    )


def _job(job_id: int):
    """The region's job, after noticing any job of the region whose worker died."""
    registry.reap(g.tenant.slug)
    job = import_jobs.job_of(g.tenant.slug, job_id)
    if job is None:
        abort(404)
    if job.state in registry.QUEUED and job.worker is None:
        import_jobs.start_worker(current_app._get_current_object())
    return job


def _page_number() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), 1_000)


def _status_context(job) -> dict:
    page = _page_number()
    stored = import_jobs.stored_problems(job.id)
    return {
        "job": job,
        "running": job.state in registry.RUNNING,
        "progress": import_jobs.progress_of(job),
        "number": _number,
        "kinds": KIND_WORDS,
        "kind_order": SUMMARY_KINDS,
        "states": STATE_WORDS,
        "failures": FAILURE_WORDS,
        "fields": registry.FIELD_WORDS,
        "said": registry.problem_words,
        "problems": import_jobs.problems(job.id, page),
        "page": page,
        "stored": stored,
        "per_page": import_jobs.PROBLEMS_PER_PAGE,
    }


def _imports_page(*, errors=None, refused=None, status=200):
    page = render_template(
        "admin/imports.html",
        jobs=import_jobs.recent(g.tenant.slug),
        running=registry.running_import(g.tenant.slug),
        errors=errors or {},
        refused=refused,
        limit=import_jobs.megabytes(import_jobs.upload_limit()),
        states=STATE_WORDS,
    )
    return page, status


def _drain(most: int) -> None:
    """Read (and drop) what the browser is still sending of a refused upload, up to ``most``
    bytes, so that it shows the answer rather than a broken connection."""
    left, stream = min(request.content_length or 0, most), request.environ.get("wsgi.input")
    while stream is not None and left > 0:
        chunk = stream.read(min(left, 1 << 16))
        if not chunk:
            break
        left -= len(chunk)


@bp.get("/imports")
@regional_admin_required
def imports():
    registry.reap(g.tenant.slug)
    return _imports_page()


@bp.post("/imports")
@regional_admin_required
def upload_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _imports_page(errors={"file": _("Выберите файл реестра.")}, status=400)
    try:
        job_id = import_jobs.upload(
            g.tenant.slug,
            current_user.id,
            upload.stream,
            upload.filename,
            replace=request.form.get("replace") == "yes",
        )
    except registry.Busy as busy:
        return _imports_page(refused=_busy_words(busy), status=409)
    except import_jobs.Refused as refused:
        return _imports_page(errors={"file": str(refused)}, status=refused.status)
    import_jobs.start_worker(current_app._get_current_object())
    return redirect(url_for("admin.import_job", job_id=job_id), 303)


def _upload_limit_first() -> None:
    """A registry file may be larger than the application's limit for a request (2 MB): the
    upload gets its own before anything reads its form (the NUL-byte check, CSRF)."""
    if request.endpoint == "admin.upload_import":
        request.max_content_length = import_jobs.upload_limit() + FORM_SLACK


@bp.record_once
def _limit_before_everything(state) -> None:
    state.app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit_first)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """Over the limit: said at the upload's field to the region's administrator; the branded
    413 page to anyone else, and on any other page."""
    admin_here = g.get("tenant") is not None and current_user.is_authenticated
    if request.endpoint != "admin.upload_import" or not admin_here:
        return render_error(413)
    if not is_regional_admin(current_user):
        return render_error(413)
    _drain(2 * import_jobs.upload_limit())
    return _imports_page(errors={"file": import_jobs.too_large()}, status=413)


@bp.get("/imports/<int:job_id>")
@regional_admin_required
def import_job(job_id: int):
    return render_template("admin/import.html", **_status_context(_job(job_id)))


@bp.get("/imports/<int:job_id>/status")
@regional_admin_required
def import_status(job_id: int):
    """The job's changing part, polled every second while it runs (the page without htmx)."""
    job = _job(job_id)
    if not htmx:
        return redirect(url_for("admin.import_job", job_id=job.id, page=_page_number()))
    response = make_response(render_template("admin/_import_status.html", **_status_context(job)))
    response.headers["Vary"] = "HX-Request"
    return response


def _apply_question(job) -> dict:
    records = sum(job.records.values())
    effect = [
        _(
            "В реестр региона будут записаны верные записи файла: %(records)s. "
            "Строк с ошибками пропущено: %(skipped)s.",
            records=_number(records),
            skipped=_number(job.skipped_lines),
        )
    ]
    if job.replace:
        effect.append(
            _(
                "Файл — полная выгрузка своих школ: их зачисления, сотрудники, классы "
                "учителей и связи учеников с родителями, которых нет в файле, будут удалены."
            )
        )
    effect.append(_("Если что-то пойдёт не так, реестр останется прежним."))
    return {
        "id": "import-apply",
        "title": _("Применить файл реестра?"),
        "question": _("Применить файл «%(source)s» к реестру региона?", source=job.source),
        "effect": " ".join(effect),
        "yes": _("Да, применить"),
        "action": url_for("admin.apply_import", job_id=job.id),
        "back": url_for("admin.import_job", job_id=job.id),
    }


@bp.post("/imports/<int:job_id>/apply")
@regional_admin_required
def apply_import(job_id: int):
    job = _job(job_id)
    if job.state == registry.CHECKED and not confirmed():
        return ask_first(_apply_question(job))
    try:
        import_jobs.request_apply(g.tenant.slug, job.id, current_user.id)
    except registry.Busy as busy:
        page = render_template(
            "admin/import.html", refused=_busy_words(busy), **_status_context(job)
        )
        return page, 409
    except import_jobs.Refused as refused:
        flash(str(refused), "error")
    except import_jobs.NotReady:
        flash(str(NOT_READY), "error")
    else:
        import_jobs.start_worker(current_app._get_current_object())
    return redirect(url_for("admin.import_job", job_id=job.id), 303)


@bp.post("/imports/<int:job_id>/discard")
@regional_admin_required
def discard_import(job_id: int):
    job = _job(job_id)
    if job.state == registry.CHECKED and not confirmed():
        return ask_first(
            {
                "id": "import-discard",
                "title": _("Отменить загрузку?"),
                "question": _("Отменить загрузку файла «%(source)s»?", source=job.source),
                "effect": _("Файл будет удалён, реестр региона не изменится."),
                "yes": _("Да, отменить загрузку"),
                "action": url_for("admin.discard_import", job_id=job.id),
                "back": url_for("admin.import_job", job_id=job.id),
            }
        )
    if import_jobs.discard(g.tenant.slug, job.id, current_user.id):
        flash(_("Загрузка отменена, файл удалён. Реестр региона не изменился."), "success")
    else:
        flash(str(NOT_READY), "error")
    return redirect(url_for("admin.import_job", job_id=job.id), 303)

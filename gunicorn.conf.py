"""Gunicorn's settings for the portal: ``gunicorn -c gunicorn.conf.py wsgi:app`` (the demo
uses this file too). Everything an operator tunes comes from the environment.

- ``PORT`` / ``BIND``: where to listen (default 127.0.0.1:8000, behind the TLS proxy).
- ``WORKERS`` (default 2 × cores + 1) and ``THREADS`` (default 1).
- ``TRUSTED_PROXY_HOPS``: how many proxies stand in front. 0 (the default) believes no
  forwarded header at all, not even the scheme headers gunicorn would otherwise take from a
  loopback peer; above 0, they are believed from ``FORWARDED_ALLOW_IPS`` (default the
  loopback addresses), as the portal's ProxyFix believes that many hops.
- ``LOG_FORMAT``: json (production's default) or text, as the portal's own logs.
- ``METRICS_PORT``: Prometheus metrics of all workers on ``127.0.0.1:METRICS_PORT/metrics``.
- The worker timeout stays well above the whole-login deadline (``LOGIN_DEADLINE_SECONDS``,
  default 10 s), so a slow provider ends in the branded 503, never in a killed worker.
"""

import multiprocessing
import os


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value else default


bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(_number("WORKERS", 2 * multiprocessing.cpu_count() + 1))
threads = int(_number("THREADS", 1))


def on_starting(server):
    """At the master's start, before any worker boots (a HUP does not run it again):

    - a missing or bad setting stops the start, in one line (app/startup.py). It is checked
      in a process of its own, on the master's import path: the master imports none of the
      portal's code, so the workers a HUP starts load the code on disk then (an upgrade)
      rather than inherit what the master had imported;
    - a previous run's metrics are cleared (a HUP keeps the running workers' counts)."""
    import subprocess
    import sys

    check = "from app.startup import check_settings; check_settings()"
    path = os.pathsep.join(entry for entry in sys.path if entry)
    try:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", check], check=False, env={**os.environ, "PYTHONPATH": path}
        )
    except KeyboardInterrupt:  # stopped while checking: no traceback of the master's own
        raise SystemExit(130) from None
    if result.returncode:
        raise SystemExit(result.returncode)
    if metrics_port:
        for stale in glob.glob(os.path.join(metrics_dir, "*.db")):
            os.remove(stale)


login_deadline = _number("LOGIN_DEADLINE_SECONDS", 10.0)
timeout = int(max(30, 3 * login_deadline))
graceful_timeout = 30
keepalive = 5

if int(_number("TRUSTED_PROXY_HOPS", 0)) > 0:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
else:
    forwarded_allow_ips = ""
    secure_scheme_headers: dict[str, str] = {}

# The access log names the path without its query: callbacks carry codes and states.
# With LOG_FORMAT=json (production's default) the portal writes its own access records, with
# the request id, and gunicorn's own messages are JSON lines too (app/logs.py).
production = os.environ.get("PORTAL_ENV", "production") == "production"
# Gunicorn's logger, but its access line is made only if a handler writes it, and then only
# of the atoms its format names (gunicorn_access.py, which imports nothing of the portal's).
logger_class = "gunicorn_access.AccessLogger"
if (os.environ.get("LOG_FORMAT") or ("json" if production else "text")) == "json":
    accesslog = None
    # Gunicorn merges this over its defaults: its handler names are kept, with JSON lines.
    json_stderr = {"class": "logging.StreamHandler", "formatter": "json",
                   "stream": "ext://sys.stderr"}  # fmt: skip
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "log_lines.JsonFormatter"}},
        "handlers": {"console": json_stderr, "error_console": json_stderr},
        "loggers": {
            "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False},
        },
        # The portal's own records go through its handler (request id, region, account).
        "root": {"level": "INFO", "handlers": []},
    }
else:
    accesslog = "-"
    access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'

# Prometheus metrics (app/metrics.py), with METRICS_PORT: every worker writes its counts to
# a directory they share, and the master serves their sum on 127.0.0.1:METRICS_PORT/metrics,
# a management port that no public host reaches.
metrics_port = int(_number("METRICS_PORT", 0))
if metrics_port:
    import glob
    import tempfile

    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="portal-metrics-"
    )
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before any worker imports the app

    def when_ready(server):
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics_dir)
        start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
        server.log.info("metrics on 127.0.0.1:%s/metrics", metrics_port)

    def child_exit(server, worker):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, path=metrics_dir)

"""Gunicorn's settings for the portal: ``gunicorn -c gunicorn.conf.py wsgi:app`` (the demo
uses this file too). Everything an operator tunes comes from the environment.

- ``PORT`` / ``BIND``: where to listen (default 127.0.0.1:8000, behind the TLS proxy).
- ``WORKERS`` (default 2 × cores + 1) and ``THREADS`` (default 1).
- ``TRUSTED_PROXY_HOPS``: how many proxies stand in front. 0 (the default) believes no
  forwarded header at all, not even the scheme headers gunicorn would otherwise take from a
  loopback peer; above 0, they are believed from ``FORWARDED_ALLOW_IPS`` (default the
  loopback addresses), as the portal's ProxyFix believes that many hops.
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
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'

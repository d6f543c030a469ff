"""make stack-test: a rolling restart of the stack of deploy/compose.yaml under load, then
(``stack_test.py development``, on the development profile) whole logins through the emulator.

Signs in through nginx over HTTPS (P10's school-issued login in Moscow Oblast), then loads
the stack with that person's diary and anonymous login pages while one portal instance is
stopped (gracefully, as an upgrade does) and started again. It holds when no request fails
(nginx sends what one instance cannot take to the other; gunicorn finishes what it has),
the session outlives the restart (it lives in Redis), and the rate limit on wrong passwords
counts across both instances (Redis too). Prints the figures; exits non-zero otherwise.

The client sends a GET once more when nginx closed its kept-alive connection without an
answer, as browsers do (RFC 9112, 9.3.1): nginx's reload closes idle connections, and one
can be closed just as a request goes out on it. Those are counted and printed; anything else,
or a second failure, is a failed request.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import requests

PORT = os.environ.get("STACK_PORT", "8443")
HOST = "myschool.mosreg.ru"
BASE = f"https://127.0.0.1:{PORT}"
HEADERS = {"Host": f"{HOST}:{PORT}"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STOPPED = "myschool_portal1_1"
CERTIFICATE = os.environ.get("STACK_CERT", "build/stack-cert.pem")
SECONDS, STOP_AT, START_AT = 16, 4, 9
FAIL_TIMEOUT = 3  # nginx's, for an instance that did not answer (deploy/stack/nginx.conf)


def browser() -> requests.Session:
    """A client that checks the stack's development certificate (taken from nginx)."""
    session = requests.Session()
    session.trust_env = False  # this certificate, not the machine's bundle
    session.verify = CERTIFICATE
    session.headers.update(HEADERS)
    return session


def form(session: requests.Session, path: str, **fields: str) -> requests.Response:
    """A form sent as a browser sends it: its page's token, and the page as the Referer (over
    HTTPS the portal checks that a form comes from its own host)."""
    page = session.get(BASE + path, timeout=10)
    token = CSRF.search(page.text).group(1)
    return session.post(BASE + path, data={"csrf_token": token, **fields}, timeout=10,
                        headers={"Referer": f"https://{HOST}:{PORT}{path}"})  # fmt: skip


def sign_in() -> requests.Session:
    person = browser()
    answer = form(person, "/login/password", login="parolev.demo", password="Nachalo-P10-demo")
    assert "Придумайте свой пароль" in answer.text, answer.status_code
    new = "лето в деревне у бабушки"
    token = CSRF.search(answer.text).group(1)
    fields = {"csrf_token": token, "password": new, "password_again": new}
    referer = answer.url.replace(BASE, f"https://{HOST}:{PORT}", 1)
    answer = person.post(answer.url, data=fields, timeout=10, headers={"Referer": referer})
    assert answer.url.endswith("/diary/") and "Электронный дневник" in answer.text, answer.url
    return person


def closed_unanswered(error: requests.ConnectionError) -> bool:
    """The connection was closed or reset before any answer (not a timeout, not a refusal)."""
    cause = error.args[0] if error.args else None
    reason = cause.args[-1] if getattr(cause, "args", None) else None
    return isinstance(reason, (http.client.RemoteDisconnected, ConnectionResetError))


def get(session: requests.Session, path: str, retried: Counter, **options) -> requests.Response:
    """A GET, sent once more on a new connection if the kept-alive one was closed unanswered."""
    try:
        return session.get(BASE + path, timeout=10, **options)
    except requests.ConnectionError as error:
        if not closed_unanswered(error):
            raise
        retried[path] += 1
        return session.get(BASE + path, timeout=10, **options)


def podman(*args: str) -> None:
    subprocess.run(["podman", "--runtime", "runc", *args], check=True, capture_output=True)


def load(person: requests.Session) -> tuple[Counter, Counter, list[str]]:
    counts: Counter = Counter()
    retried: Counter = Counter()
    failures: list[str] = []
    started = time.monotonic()

    def diary() -> None:
        while (moment := time.monotonic() - started) < SECONDS:
            try:
                page = get(person, "/diary/", retried, allow_redirects=False)
                ok = page.status_code == 200 and "Электронный дневник" in page.text
            except requests.RequestException as error:
                ok, page = False, error
            counts["diary"] += 1
            if not ok:
                failures.append(f"{moment:5.1f} s diary: {getattr(page, 'status_code', page)}")

    def login_page() -> None:
        anonymous = browser()
        while (moment := time.monotonic() - started) < SECONDS:
            try:
                page = get(anonymous, "/login", retried)
                ok = page.status_code == 200
            except requests.RequestException as error:
                ok, page = False, error
            counts["login page"] += 1
            if not ok:
                failures.append(f"{moment:5.1f} s login page: {getattr(page, 'status_code', page)}")

    threads = [threading.Thread(target=t) for t in (diary, diary, login_page, login_page)]
    for thread in threads:
        thread.start()
    time.sleep(STOP_AT)
    podman("stop", "--time", "30", STOPPED)
    stopped = time.monotonic() - started
    time.sleep(START_AT - STOP_AT)
    podman("start", STOPPED)
    podman("exec", "myschool_nginx_1", "nginx", "-s", "reload")  # its new address
    print(f"stack-test: {STOPPED} stopped at {stopped:.1f} s, started at {START_AT} s")
    for thread in threads:
        thread.join()
    return counts, retried, failures


def served_by_both(path: str, since: float) -> dict[str, int]:
    served = {}
    for name in ("myschool_portal1_1", "myschool_portal2_1"):
        logs = subprocess.run(
            ["podman", "logs", "--since", str(int(since)), name],
            capture_output=True, text=True, check=True,
        ).stderr  # fmt: skip
        served[name] = logs.count(f'"method": "POST", "path": "{path}"')
    return served


def back_in_turn(name: str, seconds: float = 120) -> None:
    """Until the restarted instance answers its health check, and nginx, which counted it
    failed while it started (``fail_timeout`` in deploy/stack/nginx.conf), sends it requests
    again: the rate limit below is to be counted across both."""
    deadline = time.monotonic() + seconds
    while subprocess.run(["podman", "healthcheck", "run", name], capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise SystemExit(f"stack-test: {name} did not answer within {seconds:.0f} s")
        time.sleep(0.5)
    time.sleep(FAIL_TIMEOUT + 0.5)


def shared_rate_limit() -> dict[str, int]:
    """Wrong passwords for one login, from one address, spread over both instances: the
    sixth within a minute is refused (5 per minute), wherever it lands."""
    since = time.time() - 1
    attacker = browser()
    answers = []
    for attempt in range(6):
        if attempt % 2:  # one more request, so that nginx's turns send the next form elsewhere
            attacker.get(BASE + "/healthz", timeout=10)
        answers.append(form(attacker, "/login/password", login="nobody.demo",
                            password=f"wrong-{attempt}"))  # fmt: skip
    assert [a.status_code for a in answers[:5]] == [200] * 5, [a.status_code for a in answers]
    assert answers[5].status_code == 429, answers[5].status_code
    served = served_by_both("/login/password", since)
    assert all(count > 0 for count in served.values()), served
    return served


def development_logins() -> int:
    """The development profile (compose.dev.yaml): a whole ESIA login in Moscow Oblast and a
    mos.ru login in Moscow, as a browser makes them: the region's development host, the
    emulator on idp.localhost, both through nginx over HTTPS with the stack's certificate, and
    the portal's own calls to the emulator inside the stack's network."""
    resolve = socket.getaddrinfo

    def localhost(host, *args, **kwargs):  # as browsers resolve *.localhost (RFC 6761)
        return resolve("127.0.0.1" if str(host).endswith(".localhost") else host, *args, **kwargs)

    socket.getaddrinfo = localhost
    walks = {"mosreg": ("/login/esia", "P1", "Образцов Михаил Андреевич"),
             "moscow": ("/login/oidc", "M1", "Электронный дневник")}  # fmt: skip
    failed = 0
    for slug, (path, persona, expected) in walks.items():
        person = browser()
        person.headers.pop("Host")
        page = person.get(f"https://{slug}.localhost:{PORT}{path}", timeout=10)
        emulator = page.url.startswith(f"https://idp.localhost:{PORT}/")
        page = person.post(page.url, data={"persona": persona}, timeout=10)
        if "Предоставление прав доступа" in page.text:
            page = person.post(page.url, data={"decision": "grant"}, timeout=10)
        signed_in = page.url == f"https://{slug}.localhost:{PORT}/diary/" and expected in page.text
        print(f"stack-test: {persona} in {slug} through the emulator on idp.localhost "
              f"({emulator}): signed in: {signed_in}")  # fmt: skip
        failed += not (emulator and signed_in)
    return 1 if failed else 0


def main() -> int:
    if sys.argv[1:] == ["development"]:
        return development_logins()
    person = sign_in()
    counts, retried, failures = load(person)
    total = sum(counts.values())
    print(f"stack-test: {total} requests in {SECONDS} s ({total / SECONDS:.0f}/s): "
          + ", ".join(f"{n} {what}" for what, n in counts.items()))  # fmt: skip
    print(f"stack-test: GETs sent again after nginx closed a kept-alive connection unanswered: "
          f"{sum(retried.values())} {dict(retried)}")  # fmt: skip
    page = person.get(BASE + "/diary/", timeout=10, allow_redirects=False)
    session_kept = page.status_code == 200 and "Электронный дневник" in page.text
    print(f"stack-test: the session from before the restart is still signed in: {session_kept}")
    back_in_turn(STOPPED)
    served = shared_rate_limit()
    print(f"stack-test: wrong passwords served by {served}; the sixth refused with 429")
    for failure in failures:
        print(f"stack-test: failed at {failure}")
    print(f"stack-test: {len(failures)} failed requests")
    return 0 if not failures and session_kept else 1


if __name__ == "__main__":
    sys.exit(main())

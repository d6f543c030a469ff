"""Misbehaviours a test can switch on in the emulator, the way real providers sometimes
behave and attackers always do: answers held back before their headers, bodies trickled a
byte at a time or swollen, answers redirected, tokens issued in the future, keys rotated or
withdrawn. Off by default; a test sets them on the app's ``Misbehaviour``
(``app.extensions["misbehaviour"]``) and resets them after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

from flask import current_app


@dataclass
class Misbehaviour:
    # Paths (prefixes) the delays apply to; empty: every path.
    paths: tuple[str, ...] = field(default_factory=tuple)
    # Seconds to wait before the status line and headers.
    delay: float = 0.0
    # Seconds between the body's bytes (the body is sent one byte at a time).
    trickle: float = 0.0
    # Bytes of spaces added after the body (JSON stays JSON): an answer too long.
    swell: int = 0
    # Answer with a redirect to the same address, marked so that it is answered when followed.
    redirect: bool = False
    # Seconds added to the tokens' iat: issued in the future.
    iat_ahead: int = 0
    # mos.ru: sign the id_token with this key (its kid) instead of the emulator's own…
    signing_key: object = None
    # …and publish these keys at the JWKS instead (a rotation, or a key withdrawn).
    published_keys: list | None = None

    def reset(self) -> None:
        for spec in fields(self):
            setattr(self, spec.name, spec.default_factory() if callable(spec.default_factory)
                    else spec.default)  # fmt: skip

    def applies_to(self, path: str) -> bool:
        return not self.paths or path.startswith(self.paths)


def iat_ahead() -> int:
    return current_app.extensions["misbehaviour"].iat_ahead


# The query mark of a request that followed the emulator's redirect.
REDIRECTED = "redirected=1"


class Middleware:
    """WSGI middleware that holds back, trickles, swells or redirects the answers the
    misbehaviour names."""

    def __init__(self, wsgi_app, misbehaviour: Misbehaviour):
        self.wsgi_app, self.misbehaviour = wsgi_app, misbehaviour

    def __call__(self, environ, start_response):
        m = self.misbehaviour
        query = environ.get("QUERY_STRING", "")
        if not m.applies_to(environ.get("PATH_INFO", "")) or not (
            m.delay or m.trickle or m.swell or (m.redirect and REDIRECTED not in query)
        ):
            return self.wsgi_app(environ, start_response)
        if m.redirect and REDIRECTED not in query:
            target = f"{environ['PATH_INFO']}?{query}&{REDIRECTED}" if query else (
                f"{environ['PATH_INFO']}?{REDIRECTED}"
            )  # fmt: skip
            # 307: a client that follows it sends the same request again, body and all.
            start_response("307 Temporary Redirect",
                           [("Location", target), ("Content-Length", "0")])  # fmt: skip
            return [b""]
        if m.delay:
            time.sleep(m.delay)
        answer = {}

        def keep(status, headers, exc_info=None):
            answer.update(status=status, headers=headers, exc_info=exc_info)

        body = b"".join(self.wsgi_app(environ, keep)) + b" " * m.swell
        headers = [(name, value) for name, value in answer["headers"]
                   if name.lower() != "content-length"]  # fmt: skip
        start_response(answer["status"], [*headers, ("Content-Length", str(len(body)))],
                       answer["exc_info"])  # fmt: skip
        return self._trickled(body, m.trickle) if m.trickle else [body]

    @staticmethod
    def _trickled(body: bytes, pause: float):
        for index in range(len(body)):
            yield body[index : index + 1]
            time.sleep(pause)

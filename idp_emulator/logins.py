"""Logins in progress at the emulator, shared by its ESIA and mos.ru profiles: the client's
request kept under a random id while the person picks a persona and grants rights."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import abort


@dataclass
class PendingLogins:
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: dict[str, dict] = field(default_factory=dict)

    def begin(self, params: dict, ttl: float) -> str:
        request_id = secrets.token_urlsafe(24)
        with self.lock:
            self.pending[request_id] = {**params, "expires": time.time() + ttl}
        return request_id

    def waiting(self, request_id: str) -> dict:
        """The login's request, or 404 when unknown or expired."""
        with self.lock:
            params = self.pending.get(request_id)
        if params is None or params["expires"] < time.time():
            abort(404)
        return params

"""The portal's log lines: one JSON object per line, or a readable line, each with the
request's context (its id, region and account) when the record carries it.

Plain Python, the standard library alone: gunicorn's master writes its own lines with these
formatters (``gunicorn.conf.py``), and a master that imported the portal's package would
start the workers of a ``HUP`` on the code it had imported, not on the code on disk.
``app.logs`` puts the context on the records and sets the formatters up in the portal's
processes.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

# What a LogRecord holds by itself; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
CONTEXT = ("request_id", "region", "user_id")


def where(exc_info) -> dict[str, Any]:
    """An exception by its type and the innermost frames: never its message."""
    kind, _, trace = exc_info
    frames = traceback.extract_tb(trace)[-5:]
    return {
        "error": kind.__name__ if kind else None,
        "where": [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} in {f.name}" for f in frames],
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        for key in CONTEXT:
            if getattr(record, key, None) is not None:
                entry[key] = getattr(record, key)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in CONTEXT and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry.update(where(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record) if not record.exc_info else self._without_trace(record)
        context = [f"{key}={getattr(record, key)}" for key in CONTEXT
                   if getattr(record, key, None) is not None]  # fmt: skip
        return f"{line} [{' '.join(context)}]" if context else line

    def _without_trace(self, record: logging.LogRecord) -> str:
        found = where(record.exc_info)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return f"{super().format(record)} ({found['error']} at {', '.join(found['where'])})"
        finally:
            record.exc_info, record.exc_text = saved

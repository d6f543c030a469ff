"""Starting a deployment: what stops it is said in one line, never as a traceback.

A missing or bad setting, a secret file that cannot be read, a regions.yaml with problems
(one line each) stop the start with exit code 3, gunicorn's "worker failed to boot", so its
master stops instead of restarting workers forever. A command (``flask db upgrade``,
``flask qa check``…) that cannot reach the database says so in one line and exits with 1.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from sqlalchemy.exc import InterfaceError, OperationalError

from app import create_app
from app.settings import SettingsError
from app.tenants import ConfigError

T = TypeVar("T")

# gunicorn's WORKER_BOOT_ERROR: the arbiter halts rather than booting the worker again.
CANNOT_START = 3


def say(message: str) -> None:
    for line in message.splitlines():
        if line.strip():
            print(f"myschool: {line.strip()}", file=sys.stderr)


def built_then_frozen(build: Callable[[], T]) -> T:
    """``build()`` with the cyclic garbage collector paused.

    Building an app makes most of the objects a worker keeps for its life (the regions'
    configuration, the routes, the templates' environment). The collector would go through
    them again and again while they are made (with 89 regions, 60 of the portal's 190 ms; 6
    ms with 4) and on every full collection afterwards. So it waits: what the build left
    over is collected once, and what it built is frozen, kept out of later collections."""
    gc.disable()
    try:
        built = build()
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()
    return built


def start() -> Flask:
    try:
        return built_then_frozen(create_app)
    except (SettingsError, ConfigError) as error:
        say(str(error))
        raise SystemExit(CANNOT_START) from None


def check_settings() -> None:
    """The settings alone, before any worker boots (gunicorn's master calls this): a missing
    or bad one stops the start here in one line. Left to the workers, several of them fail at
    once, and gunicorn's master reports that with a traceback of its own."""
    from pathlib import Path

    from app.audit_spool import spool_directory, writable
    from app.settings import from_environ

    instance = Path(Flask("app").instance_path)
    try:
        settings = from_environ(os.environ, instance)
        spool = spool_directory(settings["SQLALCHEMY_DATABASE_URI"], instance)
        if spool is not None:  # as the workers would find it, in one line here
            writable(spool)
    except SettingsError as error:
        say(str(error))
        raise SystemExit(CANNOT_START) from None


def explain_failures() -> None:
    """A database that does not answer a command: one line (the driver's own first line,
    which names the host and port, never the password), exit code 1."""
    previous = sys.excepthook

    def hook(kind, error, trace):
        if isinstance(error, OperationalError | InterfaceError):
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            say(f"the database did not answer: {reason}")
            return
        previous(kind, error, trace)

    sys.excepthook = hook

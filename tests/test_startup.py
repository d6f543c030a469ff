"""A deployment that cannot start says why in one line, exits non-zero, and shows no
traceback; secrets may come from files, as container platforms hand them over."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from app import settings
from app.settings import PROJECT_ROOT, SettingsError, from_environ, secret


def flask(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PORTAL_ENV": "development", "REDIS_URL": "", **env}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def assert_said(result: subprocess.CompletedProcess, code: int, *lines: str) -> None:
    assert result.returncode == code, result.stderr
    said = [line for line in result.stderr.splitlines() if line.strip()]
    assert said == [f"myschool: {line}" for line in lines]


def test_a_missing_secret(tmp_path):
    result = flask("db", "upgrade", PORTAL_ENV="production", SECRET_KEY="",
                   DATABASE_URL=f"sqlite:///{tmp_path / 'db'}")  # fmt: skip
    assert_said(result, 3, "SECRET_KEY must be set outside development (PORTAL_ENV)")


def gunicorn_refuses(tmp_path, **env: str) -> list[str]:
    """Gunicorn started with the project's configuration (on ``tmp_path/db``): it must stop
    in its master, exit code 3, no worker booted, no traceback; the portal's lines it said."""
    environ = {**os.environ, "PORT": "0", "LOG_FORMAT": "text",
               "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}", **env}  # fmt: skip
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    result = subprocess.run(  # noqa: S603
        [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("myschool:")]


def test_gunicorn_with_a_missing_secret_says_one_line_and_boots_no_worker(tmp_path):
    """Checked in gunicorn's master before any worker boots: five workers failing at once
    made its master print a traceback of its own (a race between them)."""
    said = gunicorn_refuses(tmp_path, PORTAL_ENV="production", SECRET_KEY="", WORKERS="5")
    assert said == ["myschool: SECRET_KEY must be set outside development (PORTAL_ENV)"]


def test_gunicorn_with_an_audit_spool_it_cannot_write_says_one_line(tmp_path):
    """On SQLite the diary's audit rows go through a spool beside the database: a start that
    could not write it would fail every diary view, so it stops in the master, in a line."""
    (tmp_path / "db-audit-spool").write_text("a file where the spool goes")
    said = gunicorn_refuses(tmp_path, PORTAL_ENV="development", WORKERS="2", REDIS_URL="",
                            METRICS_PORT="")  # fmt: skip
    assert said == [f"myschool: the audit spool {tmp_path / 'db-audit-spool'} (beside the "
                    "database) cannot be written: File exists; the portal's user needs it "
                    "(docs/operations.md)"]  # fmt: skip


def test_an_unreadable_secret_file(tmp_path):
    result = flask("db", "upgrade", PORTAL_ENV="production", SECRET_KEY="",
                   SECRET_KEY_FILE=str(tmp_path / "absent"))  # fmt: skip
    assert_said(result, 3, f"SECRET_KEY_FILE: cannot read {tmp_path / 'absent'} "
                           "(No such file or directory)")  # fmt: skip


def test_a_broken_regions_file(tmp_path):
    broken = tmp_path / "regions.yaml"
    broken.write_text("portal: [\n")
    result = flask("qa", "check", REGIONS_FILE=str(broken))
    assert_said(result, 3, f"{broken}: 1 problem(s)",
                "line 2, column 1: did not find expected node content")  # fmt: skip


def test_a_database_that_does_not_answer():
    result = flask("db", "upgrade", DATABASE_URL="postgresql://portal:hunter2@127.0.0.1:1/x")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("myschool: the database did not answer: ")
    assert "port 1" in line and "hunter2" not in line


def test_secrets_from_files(tmp_path):
    (tmp_path / "key").write_text("s" * 40 + "\n")
    assert secret({"SECRET_KEY_FILE": str(tmp_path / "key")}, "SECRET_KEY") == "s" * 40
    assert secret({"SECRET_KEY": "inline"}, "SECRET_KEY") == "inline"
    assert secret({}, "SECRET_KEY") == ""
    with pytest.raises(SettingsError, match="both set"):
        secret({"SECRET_KEY": "a", "SECRET_KEY_FILE": str(tmp_path / "key")}, "SECRET_KEY")


def test_the_built_app_is_frozen_and_the_collector_left_on(tmp_path):
    """The collector is paused while the app is built, then what was built is kept out of
    later collections (app/startup.py)."""
    code = "import gc, wsgi; print(gc.isenabled(), gc.get_freeze_count() > 10_000)"
    environ = {**os.environ, "PORTAL_ENV": "development", "REDIS_URL": "",
               "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}  # fmt: skip
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_the_development_key_is_made_where_a_checkout_has_no_instance_folder(tmp_path):
    instance = tmp_path / "fresh" / "instance"
    first = from_environ({"PORTAL_ENV": "development"}, instance)["SECRET_KEY"]
    assert len(first) == 64 and (instance / "dev-secret-key").stat().st_mode & 0o777 == 0o600
    assert from_environ({"PORTAL_ENV": "development"}, instance)["SECRET_KEY"] == first
    assert [path.name for path in instance.iterdir()] == ["dev-secret-key"]


def test_processes_starting_at_once_share_one_development_key(tmp_path):
    """`make demo` starts the portal's and the emulator's masters together. Each process
    imports first and then waits for the same moment, so that they really race."""
    script = (
        "import sys, time; from pathlib import Path; from app.settings import from_environ\n"
        "go = Path(sys.argv[2])\n"
        "while not go.exists(): time.sleep(0.001)\n"
        "print(from_environ({'PORTAL_ENV': 'development'}, Path(sys.argv[1]))['SECRET_KEY'])"
    )
    for trial in range(3):
        instance, go = tmp_path / f"instance-{trial}", tmp_path / f"go-{trial}"
        command = [sys.executable, "-c", script, str(instance), str(go)]
        processes = [
            subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
            for _ in range(6)
        ]
        time.sleep(2)  # all of them imported and waiting
        go.touch()
        keys = {process.communicate(timeout=60)[0].strip() for process in processes}
        assert len(keys) == 1 and keys == {(instance / "dev-secret-key").read_text()}
        assert [path.name for path in instance.iterdir()] == ["dev-secret-key"]


def test_the_development_key_without_hard_links(tmp_path, monkeypatch):
    """Some file systems (vfat, some shared folders) refuse a hard link: the key is then made
    in place, its owner's alone."""

    def refused(*args):
        raise PermissionError("no hard links here")

    monkeypatch.setattr(os, "link", refused)
    instance = tmp_path / "instance"
    key = from_environ({"PORTAL_ENV": "development"}, instance)["SECRET_KEY"]
    assert len(key) == 64 and (instance / "dev-secret-key").stat().st_mode & 0o777 == 0o600
    assert from_environ({"PORTAL_ENV": "development"}, instance)["SECRET_KEY"] == key
    assert [path.name for path in instance.iterdir()] == ["dev-secret-key"]


def test_an_empty_development_key_stops_the_start_with_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(settings.time, "sleep", lambda seconds: None)
    (tmp_path / "dev-secret-key").write_text("short\n")
    with pytest.raises(SettingsError, match="holds no key of 32 characters or more: delete it"):
        from_environ({"PORTAL_ENV": "development"}, tmp_path)


def test_a_key_put_in_place_by_another_process_is_the_one_kept(tmp_path, monkeypatch):
    """The race made certain: another process's key appears after this one looked for it."""
    instance = tmp_path / "instance"
    instance.mkdir()
    theirs = "a" * 64
    (instance / "dev-secret-key").write_text(theirs)
    monkeypatch.setattr(settings.Path, "exists", lambda self: False)
    assert from_environ({"PORTAL_ENV": "development"}, instance)["SECRET_KEY"] == theirs
    monkeypatch.undo()
    assert [path.name for path in instance.iterdir()] == ["dev-secret-key"]


def test_gunicorns_settings_check_runs_on_the_masters_import_path(tmp_path):
    """gunicorn's master checks the settings in a process of its own (so that it imports
    nothing of the portal's): that process must find the portal where the master does, with
    ``--pythonpath`` or from another directory, not wherever the interpreter looks alone."""
    portal = tmp_path / "elsewhere"
    (portal / "app").mkdir(parents=True)
    (portal / "app" / "__init__.py").write_text("")
    marker = tmp_path / "checked"
    (portal / "app" / "startup.py").write_text(
        f"def check_settings():\n    open({str(marker)!r}, 'w').close()\n"
    )
    probe = (
        f"import runpy, sys\nsys.path.insert(0, {str(portal)!r})\n"
        f"runpy.run_path({str(PROJECT_ROOT / 'gunicorn.conf.py')!r})['on_starting'](None)\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PORTAL_ENV": "development", "METRICS_PORT": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert marker.exists()  # the check found the portal on the master's path

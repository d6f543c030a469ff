"""A signed-in person's requests are logged under their account id, and nothing else of them."""

from __future__ import annotations

import io
import json
import logging

from app import create_app
from app.logs import configure


def test_a_signed_in_request_names_the_account_by_id_only(browser, live):
    b = browser("mosreg")
    assert b.esia_login("P1").url.endswith("/diary/")
    # The same deployment in production's log format: another worker, the same session.
    config = live.portal_app.config
    worker = create_app({"PORTAL_ENV": "testing", "LOG_FORMAT": "json",
                         "SECRET_KEY": config["SECRET_KEY"],
                         "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
                         "REDIS_URL": config["REDIS_URL"] or "",
                         "REDIS_KEY_PREFIX": config["REDIS_KEY_PREFIX"],
                         "IDP_EMULATOR_URL": live.emulator_url})  # fmt: skip
    stream = io.StringIO()
    configure("json", stream)
    try:
        client = worker.test_client()
        client.set_cookie("session", b.http.cookies["session"], domain="mosreg.localhost")
        assert client.get("/diary/", headers={"Host": "mosreg.localhost"}).status_code == 200
    finally:
        configure("text", logging.sys.stderr)
    [entry] = [json.loads(line) for line in stream.getvalue().splitlines()
               if '"event": "request"' in line]  # fmt: skip
    assert isinstance(entry["user_id"], int) and entry["region"] == "mosreg"
    assert entry["path"] == "/diary/" and entry["status"] == 200
    for personal in ("Образцова", "547-712-782", "anna.obraztsova", "000-01-01"):
        assert personal not in stream.getvalue()

"""A signed-in person's requests are logged under their account id, and nothing else of them."""

from __future__ import annotations

import io
import json
import logging

from app.logs import configure


def test_a_signed_in_request_names_the_account_by_id_only(browser):
    stream = io.StringIO()
    configure("json", stream)
    try:
        b = browser("mosreg")
        assert b.esia_login("P1").url.endswith("/diary/")
        b.get("/diary/")
    finally:
        configure("text", logging.sys.stderr)
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    diary = [e for e in entries if e.get("path") == "/diary/" and e.get("status") == 200]
    assert diary and all(isinstance(e["user_id"], int) and e["region"] == "mosreg" for e in diary)
    text = stream.getvalue()
    for personal in ("Образцова", "547-712-782", "anna.obraztsova", "+7 (900) 000-01-01"):
        assert personal not in text

"""Calls to providers read the environment's proxy and certificate settings once per host."""

from __future__ import annotations

from unittest import mock

import requests

from app.identity.deadline import ProviderSession


def settings(session: requests.Session, url: str) -> dict:
    return session.merge_environment_settings(url, {}, None, None, None)


def test_the_environment_is_honoured_per_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "emulator")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/region-ca.pem")
    session = ProviderSession()
    esia = settings(session, "https://esia.gosuslugi.ru/aas/oauth2/v3/te")
    assert esia["proxies"]["https"] == "http://proxy.example:3128"
    assert esia["verify"] == "/etc/ssl/region-ca.pem"
    assert "https" not in settings(session, "https://emulator/rs/prns/1")["proxies"]
    # What plain requests decides, for the same environment.
    plain = settings(requests.Session(), "https://esia.gosuslugi.ru/rs/prns/1")
    assert settings(session, "https://esia.gosuslugi.ru/rs/prns/1") == plain


def test_the_environment_is_read_once_per_host(monkeypatch):
    session = ProviderSession()
    with mock.patch("requests.sessions.get_environ_proxies", return_value={}) as read:
        for path in ("/aas/oauth2/v3/te", "/rs/prns/1", "/rs/prns/1/ctts", "/rs/prns/1/kids"):
            settings(session, "https://esia.gosuslugi.ru" + path)
        assert read.call_count == 1
        settings(session, "https://other.example/jwks")
        assert read.call_count == 2


def test_a_call_that_names_its_own_settings_is_not_cached():
    session = ProviderSession()
    own = session.merge_environment_settings("https://a.example/", {}, None, False, None)
    assert own["verify"] is False
    assert settings(session, "https://a.example/")["verify"] is not False

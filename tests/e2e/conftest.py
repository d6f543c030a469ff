"""End-to-end tests share the live servers of ``tests.live``."""

from tests.live import browser, esia_env, live, localhost_subdomains, servers  # noqa: F401

"""The headers every page carries, the portal's own and its refusal of an unknown host.

The CSP has no ``unsafe-inline``: styles and scripts come from our static files only,
branding colours from a stylesheet route, and htmx is configured not to inject inline styles
or evaluate code. (A module of its own, free of the app's imports, so that the host check in
front of Flask can use it too.)
"""

from __future__ import annotations

from urllib.parse import urlsplit

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'{form_targets}",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def form_targets(tenant) -> str:
    """Origins a form on this region's pages may lead to: logout ends at the provider's."""
    if tenant is None:
        return ""
    provider = tenant.config.identity_provider
    urls = [getattr(provider, "people_url", None), getattr(provider, "issuer", None)]
    urls += [getattr(provider, "authorization_endpoint", None)]
    origins = sorted({o for o in map(_origin, urls) if o})
    return "".join(f" {origin}" for origin in origins)


# (region, version, https) → (the configuration they were made for, the headers).
_MADE: dict[tuple, tuple[object, dict[str, str]]] = {}


def page_headers(https: bool, tenant=None) -> dict[str, str]:
    """What every page carries, ours or the refusal of a host we do not serve; made once per
    version of a region (the configuration object is kept and compared, so a region reloaded
    with other settings under the same version number is made anew)."""
    key = (getattr(tenant, "slug", None), getattr(tenant, "version", None), https)
    config = getattr(tenant, "config", None)
    made = _MADE.get(key)
    if made is not None and made[0] is config:
        return made[1]
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY.format(
        form_targets=form_targets(tenant)), **BASE_HEADERS}  # fmt: skip
    if https:
        headers["Strict-Transport-Security"] = HSTS
    _MADE[key] = (config, headers)
    return headers


def vary(headers, *names: str) -> None:
    """Add ``names`` to a response's ``Vary`` (``response.headers``), each once whatever its
    case. Werkzeug's ``response.vary`` parses the header into a set and writes it back at
    each change; every page adds two or three names."""
    current = headers.get("Vary")
    if not current:
        headers["Vary"] = ", ".join(dict.fromkeys(names))
        return
    present = {name.strip().lower() for name in current.split(",")}
    missing = [name for name in dict.fromkeys(names) if name.lower() not in present]
    if missing:
        headers["Vary"] = ", ".join([current, *missing])

"""The portal's blueprints, one package per concern (DESIGN.md §7)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .auth import bp as auth
    from .portal import bp as portal

    app.register_blueprint(portal)
    app.register_blueprint(auth)

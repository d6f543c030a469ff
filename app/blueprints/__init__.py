"""The portal's blueprints, one package per concern (DESIGN.md §7)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    # Each package holds its blueprint; importing its routes attaches the views to it.
    from .access import routes as access
    from .account import routes as account
    from .admin import accounts, audit, checks, imports, stats  # noqa: F401 (more admin views)
    from .admin import routes as admin
    from .auth import routes as auth
    from .diary import routes as diary
    from .notifications import routes as notifications
    from .portal import routes as portal
    from .school import routes as school
    from .trusted import routes as trusted

    views = (portal, auth, access, diary, account, notifications, admin, school, trusted)
    for routes in views:
        app.register_blueprint(routes.bp)

    @app.context_processor
    def _access():
        """For every page, base.html included: the login's access (roles, the current role),
        and the name of the region's identity provider in the cases sentences need."""
        from flask import g

        from app.identity import provider_names
        from app.signin import current_access

        tenant = g.get("tenant")
        return {"access": current_access(), "idp": provider_names(tenant) if tenant else None}

    @app.context_processor
    def _notification_badge():
        from flask_login import current_user

        from app.notifications import unread_count

        if current_user.is_authenticated:
            return {"unread_notifications": unread_count(current_user)}
        return {"unread_notifications": 0}

"""The portal's blueprints, one package per concern (DESIGN.md §7)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .access import bp as access
    from .account import bp as account
    from .admin import bp as admin
    from .auth import bp as auth
    from .diary import bp as diary
    from .notifications import bp as notifications
    from .portal import bp as portal
    from .school import bp as school
    from .trusted import bp as trusted

    blueprints = (portal, auth, access, diary, account, notifications, admin, school, trusted)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    @app.context_processor
    def _notification_badge():
        from flask_login import current_user

        from app.notifications import unread_count

        if current_user.is_authenticated:
            return {"unread_notifications": unread_count(current_user)}
        return {"unread_notifications": 0}

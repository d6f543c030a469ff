"""``gunicorn idp_emulator.wsgi:app``: the emulator as ``make demo`` runs it."""

from app.startup import built_then_frozen
from idp_emulator import create_app_from_environ

app = built_then_frozen(create_app_from_environ)

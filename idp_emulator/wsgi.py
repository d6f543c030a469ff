"""``gunicorn idp_emulator.wsgi:app``: the emulator as ``make demo`` runs it."""

from idp_emulator import create_app_from_environ

app = create_app_from_environ()

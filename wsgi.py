"""The WSGI entry point: ``gunicorn wsgi:app`` in production, ``flask --app wsgi`` for commands.

A deployment that cannot start says why in one line and exits non-zero, without a
traceback (app/startup.py).
"""

from app.startup import explain_failures, start

explain_failures()
app = start()

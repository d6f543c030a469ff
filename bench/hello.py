"""The yardstick: a bare Flask app, served by the same gunicorn config as the portal."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
@app.get("/healthz")
def hello() -> str:
    return "hello"

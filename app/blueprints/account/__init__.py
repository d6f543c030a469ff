"""Account: «Настройки аккаунта»: the person's structural roles."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

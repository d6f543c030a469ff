"""Diary: the e-diary a person reaches once the access decision lets them in."""

from flask import Blueprint

bp = Blueprint("diary", __name__, url_prefix="/diary")

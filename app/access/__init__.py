"""The access decision and its inputs: who a person is in the diary, or why not."""

from .decision import Decision, Outcome, Role, RoleKind, decide
from .labels import FIELD_LABELS, ROLE_LABELS
from .lookup import evaluate

__all__ = [
    "FIELD_LABELS",
    "ROLE_LABELS",
    "Decision",
    "Outcome",
    "Role",
    "RoleKind",
    "decide",
    "evaluate",
]

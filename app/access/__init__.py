"""The access decision and its inputs: who a person is in the diary, or why not."""

from .decision import Decision, Outcome, Role, RoleKind, decide
from .lookup import evaluate

__all__ = ["Decision", "Outcome", "Role", "RoleKind", "decide", "evaluate"]

"""The words for the decision's roles and matching fields, as people read them on every page
that names one (the role choice, the diary, account settings, the school's queue). The tables
live in ``app.wording`` with the portal's other words for codes (the audit trail names roles
too, and the session store, which ``app.access`` needs, reads that module): here they are
where the decision's users look for them, and every role is checked to have words."""

from app.wording import FIELD_LABELS, ROLE_LABELS

from .decision import RoleKind

__all__ = ["FIELD_LABELS", "ROLE_LABELS"]

if set(ROLE_LABELS) != {kind.value for kind in RoleKind}:
    raise RuntimeError("app.wording.ROLE_LABELS must name every RoleKind, and nothing else")

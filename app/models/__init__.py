"""SQLAlchemy models, one module per capability; importing this package registers them all."""

from .audit import AuditEvent
from .base import Base

__all__ = ["AuditEvent", "Base"]

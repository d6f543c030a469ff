"""SQLAlchemy models, one module per capability; importing this package registers them all."""

from .accounts import (
    Consent,
    Notification,
    PasswordCredential,
    RegionalAdmin,
    StructuralRole,
    User,
)
from .audit import AuditEvent, AuditSpoolBatch
from .base import Base
from .counters import LoginCounter as LoginCounter  # registers the table
from .imports import RegistryImport as RegistryImport  # registers the import tables
from .registry import (
    Enrolment,
    Guardianship,
    Person,
    School,
    SchoolClass,
    StaffRole,
    TeacherClass,
)
from .requests import JoinRequest, MismatchReport
from .sessions import ServerSession
from .tenants import BrandingAsset, TenantVersion
from .trusted import TrustedGrant, TrustedGrantChild

__all__ = [
    "AuditEvent",
    "AuditSpoolBatch",
    "Base",
    "BrandingAsset",
    "Consent",
    "Enrolment",
    "Guardianship",
    "JoinRequest",
    "MismatchReport",
    "Notification",
    "PasswordCredential",
    "Person",
    "RegionalAdmin",
    "School",
    "SchoolClass",
    "ServerSession",
    "StaffRole",
    "StructuralRole",
    "TeacherClass",
    "TenantVersion",
    "TrustedGrant",
    "TrustedGrantChild",
    "User",
]

"""Regions' configuration as their administrators change it: versions over the YAML baseline.

A version holds the region's whole configuration as it was saved (validated by the same
schema as ``regions.yaml``), who saved it, when, why, and the diff from the one before.
Numbers count up per region from 1 (``regions.yaml`` itself is version 0); the unique
(tenant, number) pair is the optimistic lock: two saves based on the same version cannot
both become the next one. A draft is one administrator's unpublished change, made over a
version (its ``base``): nobody but its author sees it until it is published as a version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, utcnow


class TenantVersion(Base):
    __tablename__ = "tenant_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    number: Mapped[int]
    config: Mapped[dict] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[str] = mapped_column(Text, default="")
    # A rollback: the number of the version it restores.
    restores: Mapped[int | None]
    author: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("tenant", "number"),)


class ConfigDraft(Base):
    """An administrator's unpublished configuration of their region: one per administrator,
    kept until it is published or discarded (signing out does not end it)."""

    __tablename__ = "config_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # The version the draft was made over: publishing over any other is refused.
    base: Mapped[int]
    config: Mapped[dict] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    # Counts the draft's saves: a publish removes the draft only as it was published, never
    # a newer save made meanwhile in another tab.
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("tenant", "author_id"),)


class BrandingAsset(Base):
    """An uploaded logo, kept in the database so every instance serves the same file."""

    __tablename__ = "branding_asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    # "<sha256>.<png|svg|webp>": the name a configuration's logo refers to (upload:<name>).
    name: Mapped[str] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("tenant", "name"),)

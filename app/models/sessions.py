"""Server-side session records for the local (database) store; Redis keeps its own."""

from __future__ import annotations

from sqlalchemy import JSON, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ServerSession(Base):
    __tablename__ = "server_session"

    # SHA-256 of the session id: the id itself is only ever in the person's cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None]
    created_at: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")

    __table_args__ = (Index("ix_server_session_user", "tenant", "user_id"),)

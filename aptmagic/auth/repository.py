"""Every query on users, sessions, API keys and audit events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from aptmagic.auth.models import ApiKey, AuditEvent, User, WebSession
from aptmagic.kit.repository import Repository


class UserRepository(Repository[User]):
    model = User

    def by_login(self, login: str) -> User | None:
        value = login.strip().lower()
        return self.session.scalars(select(User).where(or_(User.email == value, User.username == value))).first()

    def exists(self, *, email: str | None = None, username: str | None = None) -> bool:
        # No placeholder value for a missing one: PostgreSQL refuses NUL characters in text.
        conditions = [User.email == email] if email else []
        conditions += [User.username == username] if username else []
        if not conditions:
            return False
        return self.session.scalar(select(User.id).where(or_(*conditions)).limit(1)) is not None

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(User)) or 0)

    def all(self, limit: int = 100, offset: int = 0) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.created_at, User.id).limit(limit).offset(offset)).all()


class SessionRepository(Repository[WebSession]):
    model = WebSession

    def by_hash(self, token_hash: str) -> WebSession | None:
        return self.session.scalars(select(WebSession).where(WebSession.token_hash == token_hash)).first()

    def end_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        query = delete(WebSession).where(WebSession.user_id == user_id)
        if keep is not None:
            query = query.where(WebSession.id != keep)
        return int(self.session.execute(query).rowcount or 0)  # type: ignore[attr-defined]

    def delete_expired(self, now: datetime) -> int:
        result = self.session.execute(delete(WebSession).where(WebSession.expires_at < now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    def by_hash(self, key_hash: str) -> ApiKey | None:
        return self.session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()

    def for_user(self, user_id: str) -> Sequence[ApiKey]:
        return self.session.scalars(
            select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
        ).all()


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    actor_id: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditRepository:
    """Append and read; there is deliberately no update or delete."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, event: AuditEvent) -> AuditEvent:
        self.session.add(event)
        return event

    def page(self, filters: AuditFilters, before_id: int | None, limit: int) -> Sequence[AuditEvent]:
        """Newest first, keyset-paginated on id."""
        query = select(AuditEvent)
        if filters.action:
            query = query.where(AuditEvent.action == filters.action)
        if filters.actor_id:
            query = query.where(AuditEvent.actor_id == filters.actor_id)
        if filters.target_id:
            query = query.where(AuditEvent.target_id == filters.target_id)
        if filters.outcome:
            query = query.where(AuditEvent.outcome == filters.outcome)
        if filters.since:
            query = query.where(AuditEvent.created_at >= filters.since)
        if filters.until:
            query = query.where(AuditEvent.created_at < filters.until)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        return self.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()

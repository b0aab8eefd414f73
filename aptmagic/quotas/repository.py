"""The quota check's one query of its own: the submitting user's row, locked.
Job counts come from ``JobRepository``."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from aptmagic.auth.models import User


def lock_user_statement(user_id: str) -> Select[User]:
    """The user's row, locked until the transaction ends (FOR UPDATE; SQLite leaves the clause out)."""
    return select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)


class QuotaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_user(self, user_id: str) -> User | None:
        return self.session.scalars(lock_user_statement(user_id)).first()

    def user(self, user_id: str) -> User | None:
        return self.session.get(User, user_id)

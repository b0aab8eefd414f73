"""A small typed base for repositories: the only place queries are built."""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from aptmagic.db.base import Base

ModelT = TypeVar("ModelT", bound=Base)


class Repository(Generic[ModelT]):
    model: type[ModelT]

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, id_: str) -> ModelT | None:
        return self.session.get(self.model, id_)

    def add(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        return obj

    def delete(self, obj: ModelT) -> None:
        self.session.delete(obj)

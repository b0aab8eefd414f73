"""Route dependencies shared by every domain, as Annotated aliases.

The composition root builds each backend and service once and hands them to the app as
a ``Provided`` (a map from a type to its one instance). A domain's ``deps.py`` asks for
the types it needs with ``provider(SomeService)``, so no route depends on the whole
container and no domain imports the composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import State

from aptmagic.config import Settings
from aptmagic.kit.errors import Unavailable
from aptmagic.storage.base import BlobStore

T = TypeVar("T")


class Provided:
    """The instances the composition root built, looked up by their type."""

    def __init__(self) -> None:
        self._items: dict[type[Any], Any] = {}

    def add(self, kind: type[T], value: T) -> None:
        self._items[kind] = value

    def get(self, kind: type[T]) -> T:
        try:
            return cast(T, self._items[kind])
        except KeyError:
            raise LookupError(f"nothing provides {kind.__name__}") from None


def provided_of(state: State) -> Provided | None:
    """The app's ``Provided`` once it has started, else None (for middleware that may run before)."""
    return getattr(state, "provided", None)


def lookup(state: State, kind: type[T]) -> T:
    provided = provided_of(state)
    if provided is None:
        raise Unavailable("the server is starting; try again in a moment", headers={"Retry-After": "1"})
    return provided.get(kind)


def provider(kind: type[T]) -> Callable[[Request], T]:
    """A dependency that answers the app's instance of ``kind``."""

    def get(request: Request) -> T:
        return lookup(request.app.state, kind)

    get.__name__ = f"get_{kind.__name__}"
    return get


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionFactoryDep = Annotated["sessionmaker[Session]", Depends(provider(sessionmaker))]


async def get_session(factory: SessionFactoryDep) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent.

    The commit runs on the event loop, not in another worker thread: a
    transaction that holds SQLite's write lock must never wait for a free
    thread while every thread waits for that lock. Commits are short (the
    lock is already held); the route's own queries run in the thread pool."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
StoreDep = Annotated[BlobStore, Depends(provider(BlobStore))]

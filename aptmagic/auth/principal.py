"""Who is making a request, as the routes and services see it."""

from __future__ import annotations

from dataclasses import dataclass

from aptmagic.auth.models import ALL_SCOPES, Role


@dataclass(frozen=True)
class Principal:
    user_id: str | None
    username: str
    role: str
    via: str  # "session", "key" or "anonymous" (authentication switched off)
    scopes: frozenset[str] = frozenset(ALL_SCOPES)
    session_id: str | None = None
    csrf_token: str | None = None
    key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def can_see(self, owner_id: str | None) -> bool:
        """Admins see everything; everyone else only what they own."""
        return self.is_admin or (owner_id is not None and owner_id == self.user_id)

    @property
    def owner_filter(self) -> str | None:
        """The owner to list by default: your own, or everything (None) for admins."""
        return None if self.is_admin else self.user_id


# With auth_required=False, requests without credentials act as this (loopback only unless configured).
ANONYMOUS = Principal(user_id=None, username="anonymous", role=Role.admin, via="anonymous")

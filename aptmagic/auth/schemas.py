"""Account payloads as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aptmagic.auth.models import ApiKey, AuditEvent, Role, Scope, User
from aptmagic.auth.passwords import MAX_PASSWORD_CHARS


class SignupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    username: str = Field(max_length=64)
    password: str = Field(
        max_length=MAX_PASSWORD_CHARS, description="At least the minimum length; not a common password."
    )


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Field(max_length=254, description="Username or email address.")
    password: str = Field(max_length=MAX_PASSWORD_CHARS)


class PasswordChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=MAX_PASSWORD_CHARS)
    new_password: str = Field(max_length=MAX_PASSWORD_CHARS)


class UserRead(BaseModel):
    id: str
    email: str
    username: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None
    plan: str | None = Field(None, description="The user's plan; null: the server's default plan.")

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            id=user.id, email=user.email, username=user.username, role=Role(user.role),
            created_at=user.created_at, last_login_at=user.last_login_at, plan=user.plan,
        )  # fmt: skip


class SessionRead(BaseModel):
    user: UserRead
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token with every state-changing request of this session."
    )


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.read, Scope.generate], min_length=1, max_length=3)
    expires_at: datetime | None = Field(None, description="Timezone-aware; no expiry when omitted.")


class KeyRead(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyRead:
        return cls(
            id=key.id, name=key.name, prefix=key.prefix, scopes=list(key.scopes), created_at=key.created_at,
            expires_at=key.expires_at, last_used_at=key.last_used_at, revoked_at=key.revoked_at,
        )  # fmt: skip


class KeyCreated(KeyRead):
    key: str = Field(description="The key itself. It is shown this once and never again.")


class RoleChange(BaseModel):
    """What an admin changes on an account; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    plan: str | None = Field(
        None, max_length=32, description="A plan name from the server's plans; null: back to the default plan."
    )


class AuditRead(BaseModel):
    id: int
    created_at: datetime
    action: str
    outcome: str
    actor_id: str | None
    target_type: str | None
    target_id: str | None
    ip: str | None
    message: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, event: AuditEvent) -> AuditRead:
        return cls(
            id=event.id, created_at=event.created_at, action=event.action, outcome=event.outcome,
            actor_id=event.actor_id, target_type=event.target_type, target_id=event.target_id, ip=event.ip,
            message=event.message, details=event.details,
        )  # fmt: skip


class AuditPage(BaseModel):
    items: list[AuditRead]
    next_cursor: str | None

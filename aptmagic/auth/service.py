"""Account logic: sign-up, log-in, sessions, API keys, roles and the audit log."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aptmagic.auth.errors import Forbidden, LoginThrottled, Unauthorized
from aptmagic.auth.models import ALL_SCOPES, ApiKey, AuditEvent, Role, User, WebSession
from aptmagic.auth.passwords import PasswordRejected, Passwords, check_policy, make_hasher
from aptmagic.auth.principal import Principal
from aptmagic.auth.repository import ApiKeyRepository, AuditFilters, AuditRepository, SessionRepository, UserRepository
from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.kit.errors import Conflict, InvalidRequest, NotFound
from aptmagic.shared_state.throttle import LoginThrottle, MemoryLoginThrottle

KEY_PREFIX = "amk_"
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def digest(token: str) -> str:
    """SHA-256 of a high-entropy token (session cookie or API key): what the database keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    web_session: WebSession


class AuthService:
    def __init__(self, settings: Settings, throttle: LoginThrottle | None = None) -> None:
        self.settings = settings
        self.passwords = Passwords(
            make_hasher(
                settings.password_hash_memory_kib, settings.password_hash_time_cost, settings.password_hash_parallelism
            )
        )
        self.throttle = throttle or MemoryLoginThrottle(
            settings.login_max_failures, settings.login_failure_window_seconds, settings.login_lockout_seconds
        )

    # audit

    @staticmethod
    def audit(
        session: Session,
        action: str,
        *,
        actor_id: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        outcome: str = "success",
        ip: str | None = None,
        message: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        AuditRepository(session).append(
            AuditEvent(
                action=action, outcome=outcome, actor_id=actor_id, target_type=target_type, target_id=target_id,
                ip=ip, message=message, details=details, created_at=utcnow(),
            )
        )  # fmt: skip

    def audit_page(
        self, session: Session, filters: AuditFilters, before_id: int | None, limit: int
    ) -> Sequence[AuditEvent]:
        return AuditRepository(session).page(filters, before_id, limit)

    # accounts

    def check_password(self, password: str, *personal: str, loc: str = "password") -> None:
        try:
            check_policy(password, self.settings.password_min_length, personal=personal)
        except PasswordRejected as exc:
            raise InvalidRequest.field(["body", loc], str(exc), "password_policy") from None

    def create_user(
        self, session: Session, email: str, username: str, password: str, *, role: Role = Role.user,
        actor_id: str | None = None, ip: str | None = None,
    ) -> User:  # fmt: skip
        email, username = email.strip().lower(), username.strip().lower()
        if not EMAIL_RE.match(email) or len(email) > 254:
            raise InvalidRequest.field(["body", "email"], "not a valid email address")
        if not USERNAME_RE.match(username):
            raise InvalidRequest.field(
                ["body", "username"],
                "3 to 32 characters: letters, digits, '_', '.', '-', starting with a letter or digit",
            )
        self.check_password(password, username, email.split("@")[0])
        users = UserRepository(session)
        if users.exists(email=email):
            raise Conflict("an account with this email address already exists", details={"field": "email"})
        if users.exists(username=username):
            raise Conflict("this username is taken", details={"field": "username"})
        now = utcnow()
        user = User(
            email=email, username=username, password_hash=self.passwords.hash(password), role=role,
            is_active=True, password_changed_at=now, created_at=now,
        )  # fmt: skip
        users.add(user)
        session.flush()
        self.audit(session, "user.create", actor_id=actor_id or user.id, target_type="user", target_id=user.id, ip=ip,
                   details={"role": str(role), "username": username})  # fmt: skip
        return user

    # log-in and sessions

    def _throttle_keys(self, login: str, ip: str | None) -> tuple[str, str]:
        return f"account:{login.strip().lower()}", f"ip:{ip or '-'}"

    def login(
        self, session: Session, login: str, password: str, *, ip: str | None, user_agent: str | None,
        old_token: str | None = None,
    ) -> LoginResult:  # fmt: skip
        account_key, ip_key = self._throttle_keys(login, ip)
        wait = self.throttle.retry_after(account_key, ip_key)
        if wait:
            self.audit(session, "login", outcome="throttled", ip=ip, details={"login": login[:254]})
            raise LoginThrottled(wait)
        user = UserRepository(session).by_login(login) if len(login) <= 254 else None
        ok = self.passwords.verify(user.password_hash if user else None, password[:4096])
        if not ok or user is None or not user.is_active:
            self.throttle.failure(account_key)
            self.throttle.failure(ip_key, self.settings.login_max_failures_per_ip)
            self.audit(session, "login", outcome="failure", actor_id=user.id if user else None,
                       target_type="user", target_id=user.id if user else None, ip=ip,
                       details={"login": login[:254]})  # fmt: skip
            raise Unauthorized("wrong username, email or password")
        self.throttle.success(account_key)
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.passwords.hash(password)
        sessions = SessionRepository(session)
        if old_token:  # rotation: whatever session the browser had ends here
            old = sessions.by_hash(digest(old_token))
            if old is not None:
                sessions.delete(old)
        token, web_session = self._new_session(session, user, ip, user_agent)
        user.last_login_at = utcnow()
        self.audit(session, "login", actor_id=user.id, target_type="user", target_id=user.id, ip=ip)
        return LoginResult(user, token, web_session)

    def start_session(
        self, session: Session, user: User, ip: str | None, user_agent: str | None
    ) -> tuple[str, WebSession]:
        return self._new_session(session, user, ip, user_agent)

    def _new_session(
        self, session: Session, user: User, ip: str | None, user_agent: str | None
    ) -> tuple[str, WebSession]:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        web_session = WebSession(
            user_id=user.id, token_hash=digest(token), csrf_token=secrets.token_urlsafe(32),
            expires_at=now + timedelta(seconds=self.settings.session_ttl_seconds), last_seen_at=now,
            ip=ip, user_agent=(user_agent or "")[:255] or None, created_at=now,
        )  # fmt: skip
        SessionRepository(session).add(web_session)
        session.flush()
        return token, web_session

    def logout(
        self, session: Session, principal: Principal, *, everywhere: bool = False, ip: str | None = None
    ) -> None:
        sessions = SessionRepository(session)
        if principal.user_id is None:
            return
        if everywhere:
            sessions.end_for_user(principal.user_id)
        elif principal.session_id:
            current = sessions.get(principal.session_id)
            if current is not None:
                sessions.delete(current)
        self.audit(session, "logout", actor_id=principal.user_id, target_type="user", target_id=principal.user_id,
                   ip=ip, details={"everywhere": everywhere})  # fmt: skip

    def change_password(
        self, session: Session, principal: Principal, current: str, new: str, *, ip: str | None = None
    ) -> None:
        user = self.user_of(session, principal)
        if not self.passwords.verify(user.password_hash, current[:4096]):
            self.audit(session, "password.change", outcome="failure", actor_id=user.id, target_type="user",
                       target_id=user.id, ip=ip)  # fmt: skip
            raise Forbidden("the current password is wrong")
        self.check_password(new, user.username, user.email.split("@")[0], loc="new_password")
        user.password_hash = self.passwords.hash(new)
        user.password_changed_at = utcnow()
        ended = SessionRepository(session).end_for_user(user.id, keep=principal.session_id)
        self.audit(session, "password.change", actor_id=user.id, target_type="user", target_id=user.id, ip=ip,
                   details={"sessions_ended": ended})  # fmt: skip

    def user_of(self, session: Session, principal: Principal) -> User:
        user = UserRepository(session).get(principal.user_id) if principal.user_id else None
        if user is None:
            raise Unauthorized()
        return user

    # authentication of a request

    def authenticate_session(self, session: Session, token: str) -> Principal | None:
        if not token or len(token) > 200:
            return None
        web_session = SessionRepository(session).by_hash(digest(token))
        if web_session is None or web_session.expires_at <= utcnow():
            return None
        user = UserRepository(session).get(web_session.user_id)
        if user is None or not user.is_active:
            return None
        return Principal(
            user_id=user.id, username=user.username, role=user.role, via="session",
            session_id=web_session.id, csrf_token=web_session.csrf_token,
        )  # fmt: skip

    def authenticate_key(self, session: Session, raw_key: str) -> Principal | None:
        if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
            return None
        key = ApiKeyRepository(session).by_hash(digest(raw_key))
        now = utcnow()
        if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
            return None
        user = UserRepository(session).get(key.user_id)
        if user is None or not user.is_active:
            return None
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            key.last_used_at = now
        scopes = frozenset(key.scopes)
        if not user.is_admin:
            scopes -= {"admin"}
        return Principal(
            user_id=user.id, username=user.username, role=user.role, via="key", scopes=scopes, key_id=key.id
        )

    # API keys

    def create_key(
        self, session: Session, principal: Principal, name: str, scopes: Sequence[str], expires_at: datetime | None,
        *, ip: str | None = None,
    ) -> tuple[ApiKey, str]:  # fmt: skip
        user = self.user_of(session, principal)
        wanted = sorted(set(scopes))
        if unknown := [s for s in wanted if s not in ALL_SCOPES]:
            raise InvalidRequest.field(["body", "scopes"], f"unknown scopes {unknown}; known: {list(ALL_SCOPES)}")
        if "admin" in wanted and not user.is_admin:
            raise Forbidden("only admins can create keys with the admin scope")
        if principal.via == "key" and not set(wanted) <= principal.scopes:
            raise Forbidden("an API key can only create keys with scopes it has itself")
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidRequest.field(["body", "expires_at"], "must be in the future")
        raw = KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
        key = ApiKey(
            user_id=user.id, name=name, prefix=raw[: len(KEY_PREFIX) + 8], key_hash=digest(raw), scopes=wanted,
            expires_at=expires_at, created_at=utcnow(),
        )  # fmt: skip
        ApiKeyRepository(session).add(key)
        session.flush()
        self.audit(session, "api_key.create", actor_id=principal.user_id, target_type="api_key", target_id=key.id,
                   ip=ip, details={"scopes": wanted, "name": name, "owner": user.id})  # fmt: skip
        return key, raw

    def list_keys(self, session: Session, principal: Principal) -> Sequence[ApiKey]:
        return ApiKeyRepository(session).for_user(principal.user_id or "")

    def revoke_key(self, session: Session, principal: Principal, key_id: str, *, ip: str | None = None) -> ApiKey:
        key = ApiKeyRepository(session).get(key_id) if len(key_id) <= 64 else None
        if key is None or not principal.can_see(key.user_id):
            raise NotFound(f"API key {key_id!r} not found")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.audit(session, "api_key.revoke", actor_id=principal.user_id, target_type="api_key",
                       target_id=key.id, ip=ip, details={"owner": key.user_id})  # fmt: skip
        return key

    # administration

    def list_users(self, session: Session, limit: int, offset: int) -> Sequence[User]:
        return UserRepository(session).all(limit, offset)

    def get_user(self, session: Session, user_id: str) -> User:
        user = UserRepository(session).get(user_id) if len(user_id) <= 64 else None
        if user is None:
            raise NotFound(f"user {user_id!r} not found")
        return user

    def set_role(
        self, session: Session, principal: Principal, user_id: str, role: Role, *, ip: str | None = None
    ) -> User:
        user = self.get_user(session, user_id)
        if user.role != role:
            if user.id == principal.user_id and role != Role.admin:
                raise Conflict("you cannot take the admin role from yourself; ask another admin")
            old, user.role = user.role, role
            self.audit(session, "user.role_change", actor_id=principal.user_id, target_type="user", target_id=user.id,
                       ip=ip, details={"from": old, "to": str(role)})  # fmt: skip
        return user

    def delete_user(self, session: Session, principal: Principal, user_id: str, *, ip: str | None = None) -> None:
        user = self.get_user(session, user_id)
        if user.id == principal.user_id:
            raise Conflict("you cannot delete your own account here")
        self.audit(session, "user.delete", actor_id=principal.user_id, target_type="user", target_id=user.id, ip=ip,
                   details={"username": user.username, "email": user.email})  # fmt: skip
        UserRepository(session).delete(user)
        session.flush()

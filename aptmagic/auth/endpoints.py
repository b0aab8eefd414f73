"""HTTP routes for accounts (/api/v1/auth) and administration (/api/v1/admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from aptmagic.api.deps import SessionDep, SettingsDep
from aptmagic.auth.cookies import clear_session_cookie, set_session_cookie
from aptmagic.auth.deps import AdminDep, AuthServiceDep, PlanSetterDep, PrincipalDep, client_ip
from aptmagic.auth.errors import Forbidden, LoginThrottled, Unauthorized
from aptmagic.auth.middleware import SESSION_COOKIE
from aptmagic.auth.repository import AuditFilters
from aptmagic.auth.schemas import (
    AuditPage,
    AuditRead,
    KeyCreate,
    KeyCreated,
    KeyRead,
    LoginBody,
    PasswordChangeBody,
    RoleChange,
    SessionRead,
    SignupBody,
    UserRead,
)
from aptmagic.kit.errors import AppError, ErrorResponse, InvalidRequest, error_json


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in codes}


def _answered(exc: AppError) -> JSONResponse:
    """The error as a response, not raised: the request's transaction then commits, so the
    audit row of the failure stays (a raised error rolls the transaction back)."""
    return error_json(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


router = APIRouter(prefix="/auth", tags=["auth"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/signup", status_code=201, response_model=SessionRead, responses=_errors(403, 409, 422))
def signup(body: SignupBody, request: Request, response: Response, auth: AuthServiceDep, settings: SettingsDep,
           session: SessionDep) -> SessionRead:  # fmt: skip
    """Create an account (role user) and sign in. The password must be long enough and not a common one."""
    if not settings.allow_signup:
        raise Forbidden("sign-up is closed on this server; ask an admin for an account")
    ip = client_ip(request)
    user = auth.create_user(session, body.email, body.username, body.password, ip=ip)
    token, web_session = auth.start_session(session, user, ip, request.headers.get("user-agent"))
    set_session_cookie(response, request, settings, token)
    return SessionRead(user=UserRead.of(user), csrf_token=web_session.csrf_token)


@router.post("/login", response_model=SessionRead, responses=_errors(401, 429))
def login(body: LoginBody, request: Request, response: Response, auth: AuthServiceDep, settings: SettingsDep,
          session: SessionDep) -> SessionRead | JSONResponse:  # fmt: skip
    """Sign in with a username or email and a password; sets a new session cookie.
    Repeated failures are slowed down (429 with Retry-After)."""
    try:
        result = auth.login(
            session, body.login, body.password, ip=client_ip(request),
            user_agent=request.headers.get("user-agent"), old_token=request.cookies.get(SESSION_COOKIE),
        )  # fmt: skip
    except (Unauthorized, LoginThrottled) as exc:
        return _answered(exc)
    set_session_cookie(response, request, settings, result.token)
    return SessionRead(user=UserRead.of(result.user), csrf_token=result.web_session.csrf_token)


@router.post("/logout", status_code=204, responses=_errors(401, 403))
def logout(
    request: Request, principal: PrincipalDep, auth: AuthServiceDep, settings: SettingsDep, session: SessionDep,
    everywhere: Annotated[bool, Query(description="End every session of the account")] = False,
) -> Response:  # fmt: skip
    """End this session (or all of them)."""
    auth.logout(session, principal, everywhere=everywhere, ip=client_ip(request))
    response = Response(status_code=204)
    clear_session_cookie(response, request, settings)
    return response


@router.get("/me", response_model=SessionRead, responses=_errors(401))
def me(principal: PrincipalDep, auth: AuthServiceDep, session: SessionDep) -> SessionRead:
    """The signed-in user, and this session's CSRF token."""
    return SessionRead(user=UserRead.of(auth.user_of(session, principal)), csrf_token=principal.csrf_token)


@router.post("/password", status_code=204, responses=_errors(401, 403, 422))
def change_password(body: PasswordChangeBody, request: Request, principal: PrincipalDep, auth: AuthServiceDep,
                    session: SessionDep) -> Response:  # fmt: skip
    """Change the password; every other session of the account ends."""
    if principal.via == "key":
        raise Forbidden("change the password from a signed-in session, not with an API key")
    try:
        auth.change_password(session, principal, body.current_password, body.new_password, ip=client_ip(request))
    except Forbidden as exc:
        return _answered(exc)
    return Response(status_code=204)


@router.get("/keys", response_model=list[KeyRead], responses=_errors(401))
def list_keys(principal: PrincipalDep, auth: AuthServiceDep, session: SessionDep) -> list[KeyRead]:
    """Your API keys, newest first (never the keys themselves)."""
    return [KeyRead.of(key) for key in auth.list_keys(session, principal)]


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=_errors(401, 403, 422))
def create_key(body: KeyCreate, request: Request, principal: PrincipalDep, auth: AuthServiceDep,
               session: SessionDep) -> KeyCreated:  # fmt: skip
    """Create an API key. The response holds the key; it is shown this once.
    Send it as `Authorization: Bearer <key>`."""
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise InvalidRequest.field(["body", "expires_at"], "give a time zone, e.g. 2030-01-01T00:00:00Z")
    key, raw = auth.create_key(
        session, principal, body.name, [str(s) for s in body.scopes], body.expires_at, ip=client_ip(request)
    )
    return KeyCreated(**KeyRead.of(key).model_dump(), key=raw)


@router.delete("/keys/{key_id}", response_model=KeyRead, responses=_errors(401, 404))
def revoke_key(key_id: str, request: Request, principal: PrincipalDep, auth: AuthServiceDep,
               session: SessionDep) -> KeyRead:  # fmt: skip
    """Revoke an API key; it stops working at once."""
    return KeyRead.of(auth.revoke_key(session, principal, key_id, ip=client_ip(request)))


@admin_router.get("/audit", response_model=AuditPage, responses=_errors(401, 403))
def audit(
    admin: AdminDep,
    auth: AuthServiceDep,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=32)] = None,
    target: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """The audit log, newest first: log-ins, key changes, role changes, deletions."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest.field(["query", name], "give a time zone, e.g. 2030-01-01T00:00:00Z")
    filters = AuditFilters(action=action, actor_id=actor, target_id=target, outcome=outcome, since=since, until=until)
    events = auth.audit_page(session, filters, cursor, limit + 1)
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(items=[AuditRead.of(e) for e in events], next_cursor=str(events[-1].id) if more else None)


@admin_router.get("/users", response_model=list[UserRead], responses=_errors(401, 403))
def users(
    admin: AdminDep, auth: AuthServiceDep, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> list[UserRead]:  # fmt: skip
    return [UserRead.of(u) for u in auth.list_users(session, limit, offset)]


@admin_router.patch("/users/{user_id}", response_model=UserRead, responses=_errors(401, 403, 404, 409, 422))
def change_user(user_id: str, body: RoleChange, request: Request, admin: AdminDep, auth: AuthServiceDep,
                plans: PlanSetterDep, session: SessionDep) -> UserRead:  # fmt: skip
    """Change a user's role (make a user an admin, or an admin a user) and/or plan
    (`{"plan": "pro"}`; null puts them back on the default plan). Takes effect at once."""
    if body.role is None and "plan" not in body.model_fields_set:
        raise InvalidRequest.field(["body"], "give role and/or plan")
    ip = client_ip(request)
    if "plan" in body.model_fields_set:
        plans.set_plan(session, admin, user_id, body.plan, ip=ip)
    if body.role is not None:
        auth.set_role(session, admin, user_id, body.role, ip=ip)
    return UserRead.of(auth.get_user(session, user_id))


@admin_router.delete("/users/{user_id}", status_code=204, responses=_errors(401, 403, 404, 409))
def delete_user(user_id: str, request: Request, admin: AdminDep, auth: AuthServiceDep, session: SessionDep) -> Response:
    """Delete an account with its sessions and keys. Its jobs and files stay, visible to admins."""
    auth.delete_user(session, admin, user_id, ip=client_ip(request))
    return Response(status_code=204)

"""Route dependencies: the request's principal, the admin check, and this domain's services."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from aptmagic.api.deps import provider
from aptmagic.auth.errors import Forbidden, Unauthorized
from aptmagic.auth.principal import Principal
from aptmagic.auth.service import AuthService


class PlanSetter(Protocol):
    """Puts a user on a plan (None: the default plan). The quotas domain provides it; it builds
    on this one, so this domain names only what it needs (the composition root registers it)."""

    def set_plan(self, session: Session, admin: Principal, user_id: str, plan: str | None, *,
                 ip: str | None = None) -> object: ...  # fmt: skip


def get_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized()
    return principal


def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this needs the admin role")
    return principal


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(get_admin)]
AuthServiceDep = Annotated[AuthService, Depends(provider(AuthService))]
PlanSetterDep = Annotated[PlanSetter, Depends(provider(PlanSetter))]

"""Route dependencies: the request's principal, and the admin check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aptmagic.api.deps import provider
from aptmagic.auth.errors import Forbidden, Unauthorized
from aptmagic.auth.principal import Principal
from aptmagic.auth.service import AuthService


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

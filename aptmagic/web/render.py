"""One way to render a page: the template, the signed-in user, the nav, no caching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from aptmagic.auth.principal import Principal

TEMPLATES_DIR = Path(__file__).parent / "templates"
NO_STORE = {"Cache-Control": "no-store"}


class Pages:
    """Renders the templates under web/templates with the base layout's context."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=TEMPLATES_DIR)  # autoescape is on for .html

    def render(
        self, request: Request, template: str, principal: Principal | None, *, active: str = "",
        status: int = 200, **context: Any,
    ) -> HTMLResponse:  # fmt: skip
        settings = getattr(request.app.state, "settings", None)
        values = {
            "user": principal,
            "signed_in": principal is not None,
            "is_admin": bool(principal and principal.is_admin),
            "csrf_token": (principal.csrf_token if principal else None) or "",
            "active": active,
            "demo": bool(settings and settings.demo),
            **context,
        }
        return self.templates.TemplateResponse(request, template, values, status_code=status, headers=NO_STORE)

    def not_found(self, request: Request, principal: Principal | None, what: str = "page") -> HTMLResponse:
        return self.render(request, "not_found.html", principal, status=404, title="Not found", what=what)


PAGES = Pages()

"""The sign-up and log-in pages (plain HTML forms) and the log-out form target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from aptmagic.api.deps import SessionDep, SettingsDep
from aptmagic.auth.cookies import clear_session_cookie, set_session_cookie
from aptmagic.auth.deps import AuthServiceDep, PrincipalDep, client_ip
from aptmagic.auth.errors import LoginThrottled, Unauthorized
from aptmagic.auth.middleware import SESSION_COOKIE
from aptmagic.config import Settings
from aptmagic.kit.errors import Conflict, InvalidRequest

TEMPLATES_DIR = Path(__file__).parent.parent / "web" / "templates"
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def render(request: Request, settings: Settings, mode: str, status: int = 200, **context: Any) -> HTMLResponse:
    values = {
        "mode": mode,
        "title": "Sign up" if mode == "signup" else "Sign in",
        "values": {},
        "errors": {},
        "error": None,
        "next": request.query_params.get("next"),
        "min_length": settings.password_min_length,
        "allow_signup": settings.allow_signup,
        "active": mode,
        "signed_in": False,
        **context,
    }
    return templates.TemplateResponse(request, "auth.html", values, status_code=status, headers=NO_STORE)


def _signed_in(request: Request, settings: Settings, token: str) -> Response:
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    set_session_cookie(response, request, settings, token)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep) -> Response:
    if getattr(request.state, "principal", None) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(request, settings, "login")


@router.post("/login", response_class=HTMLResponse)
async def login_form(request: Request, auth: AuthServiceDep, settings: SettingsDep, session: SessionDep) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    login, password = str(form.get("login") or ""), str(form.get("password") or "")
    try:
        result = await run_in_threadpool(
            auth.login, session, login[:254], password[:1024], ip=client_ip(request),
            user_agent=request.headers.get("user-agent"), old_token=request.cookies.get(SESSION_COOKIE),
        )  # fmt: skip
    except (Unauthorized, LoginThrottled) as exc:  # answered, not raised: the audit row of the failure commits
        page = render(request, settings, "login", exc.status_code, values={"login": login}, error=exc.message)
        return _with_headers(page, exc.headers or {})
    return _signed_in(request, settings, result.token)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, settings: SettingsDep) -> Response:
    if not settings.allow_signup:
        return render(request, settings, "signup", 403, error="Sign-up is closed on this server.")
    return render(request, settings, "signup")


@router.post("/signup", response_class=HTMLResponse)
async def signup_form(request: Request, auth: AuthServiceDep, settings: SettingsDep, session: SessionDep) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    values = {k: str(form.get(k) or "") for k in ("email", "username")}
    password = str(form.get("password") or "")
    if not settings.allow_signup:
        return render(request, settings, "signup", 403, error="Sign-up is closed on this server.")

    def sign_up() -> str:
        ip = client_ip(request)
        user = auth.create_user(session, values["email"][:254], values["username"][:64], password[:2048], ip=ip)
        token, _ = auth.start_session(session, user, ip, request.headers.get("user-agent"))
        return token

    try:
        token = await run_in_threadpool(sign_up)
    except InvalidRequest as exc:
        errors = {str(d["loc"][-1]): d["msg"] for d in exc.details or []}
        return render(
            request, settings, "signup", 422, values=values, errors=errors, error="Please fix the fields marked."
        )
    except Conflict as exc:
        field = (exc.details or {}).get("field", "")
        return render(request, settings, "signup", 409, values=values, errors={field: exc.message}, error=exc.message)
    return _signed_in(request, settings, token)


@router.post("/logout")
def logout_form(request: Request, principal: PrincipalDep, auth: AuthServiceDep, settings: SettingsDep,
                session: SessionDep) -> Response:  # fmt: skip
    """The page's log-out button: a form POST with the session's CSRF token."""
    auth.logout(session, principal, ip=client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request, settings)
    return response


def _with_headers(response: Response, headers: dict[str, str]) -> Response:
    if "Retry-After" in headers:
        response.headers["Retry-After"] = headers["Retry-After"]
    return response

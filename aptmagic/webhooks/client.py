"""One guarded HTTP POST: checked URL, checked resolved address, no redirects."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from aptmagic.kit.ssrf import (
    Allowlist,
    Resolver,
    UrlRefused,
    check_url,
    resolve,
    system_resolver,
)

USER_AGENT = "aptmagic-webhooks/1"
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    error: str | None
    refused: bool
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class GuardedPoster:
    def __init__(self, allow: Allowlist, timeout: float, resolver: Resolver = system_resolver) -> None:
        self.allow = allow
        self.timeout = timeout
        self.resolver = resolver

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        started = time.perf_counter()
        try:
            target = check_url(url, self.allow)
            address = resolve(target, self.allow, self.resolver)
        except UrlRefused as exc:
            return PostResult(None, str(exc), True, _ms(started))
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
                response = client.post(
                    target.url_for(address), content=body, extensions=extensions,
                    headers={**headers, "Host": target.host_header, "User-Agent": USER_AGENT},
                )  # fmt: skip
        except httpx.HTTPError as exc:
            return PostResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS], False, _ms(started))
        if response.is_redirect:
            error = f"answered {response.status_code} (a redirect); redirects are not followed"
            return PostResult(response.status_code, error, True, _ms(started))
        failure = None if response.is_success else f"answered {response.status_code}"
        return PostResult(response.status_code, failure, False, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)

"""GET /api/v1/admin/queue: admins only; depth and job counts of the in-process queue."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer, create_account


def test_queue_status_is_for_admins_only(live: LiveServer) -> None:
    url = f"{live.url}/api/v1/admin/queue"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert httpx.get(url, headers=live.auth_headers).status_code == 403
    admin = create_account(live.services, "boss", admin=True)
    answer = httpx.get(url, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["backend"] == "inprocess"
    assert body["depth"] == {"inprocess": 0}
    assert body["jobs"] == {"queued": 0, "running": 0}
    assert httpx.post(url, headers=admin.headers).status_code == 405

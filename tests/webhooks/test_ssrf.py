"""The SSRF matrix: refused at submit, after DNS, and on redirects; the allowlist admits."""

from __future__ import annotations

import pytest

from aptmagic.kit.ssrf import Allowlist, UrlRefused, check_url, resolve
from aptmagic.webhooks.client import GuardedPoster
from tests.webhooks.receiver import webhook_receiver

NONE = Allowlist()

REFUSED_AT_SUBMIT = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://017700000001/hook",
    "http://0177.0.0.1/hook",
    "http://0x7f.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[::127.0.0.1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
    "file:///etc/passwd",
    "gopher://example.com/",
    "ftp://example.com/",
    "javascript:alert(1)",
    "http://user:pass@example.com/",
    "http:///nohost",
    "http://example.com:99999/",
    "http://exa mple.com/",
    "http://example.com/\r\nX-Injected: 1",
    "https://example.com/" + "a" * 2048,
    "",
]


@pytest.mark.parametrize("url", REFUSED_AT_SUBMIT)
def test_refused_without_dns(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_url(url, NONE)


@pytest.mark.parametrize("url", ["https://example.com/hook", "http://8.8.8.8:8080/x?y=1", "https://[2606:4700::1111]/",
                                 "https://cafe.be/"])  # fmt: skip
def test_public_urls_pass_the_shape_check(url: str) -> None:
    target = check_url(url, NONE)
    assert target.scheme in ("http", "https")


def fake_dns(mapping: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolver(host: str, port: int) -> list[str]:
        if host not in mapping:
            raise OSError("no such host")
        return mapping[host]

    return resolver


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "192.168.0.10", "::1", "fd00::5",
                                     "::ffff:10.0.0.1"])  # fmt: skip
def test_a_name_resolving_to_a_private_address_is_refused(address: str) -> None:
    target = check_url("https://innocent.example/hook", NONE)
    with pytest.raises(UrlRefused, match="not a public address"):
        resolve(target, NONE, fake_dns({"innocent.example": [address]}))


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    target = check_url("https://mixed.example/", NONE)
    with pytest.raises(UrlRefused):
        resolve(target, NONE, fake_dns({"mixed.example": ["93.184.216.34", "10.0.0.1"]}))


def test_a_public_name_resolves_to_its_checked_address() -> None:
    target = check_url("https://public.example/", NONE)
    assert resolve(target, NONE, fake_dns({"public.example": ["93.184.216.34"]})) == "93.184.216.34"
    with pytest.raises(UrlRefused, match="does not resolve"):
        resolve(check_url("https://nxdomain.example/", NONE), NONE, fake_dns({}))


def test_the_allowlist_admits_networks_and_names() -> None:
    allow = Allowlist.parse(["127.0.0.0/8", "internal.corp", "fd00::/8"])
    assert check_url("http://127.0.0.1:9/x", allow).port == 9
    check_url("http://[fd00::1]/", allow)
    with pytest.raises(UrlRefused):
        check_url("http://10.0.0.1/", allow)
    with pytest.raises(UrlRefused):
        check_url("http://2130706433/", allow)  # odd forms stay refused
    target = check_url("https://internal.corp/", allow)
    assert resolve(target, allow, fake_dns({"internal.corp": ["10.9.9.9"]})) == "10.9.9.9"


def test_delivery_refuses_a_name_that_resolves_privately_and_sends_nothing() -> None:
    with webhook_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        poster = GuardedPoster(NONE, 5, fake_dns({"rebind.example": ["127.0.0.1"]}))
        result = poster.post(f"http://rebind.example:{port}/hook", b"{}", {})
        assert result.refused and "not a public address" in (result.error or "")
        assert receiver.requests == []


def test_a_redirect_to_a_private_address_is_not_followed() -> None:
    with webhook_receiver() as target, webhook_receiver() as redirector:
        redirector.redirect_to = target.url  # loopback: where the attacker wants us to go
        poster = GuardedPoster(Allowlist.parse(["127.0.0.1/32"]), 5)
        result = poster.post(redirector.url, b"{}", {})
        assert result.refused and result.status_code == 302 and "redirect" in (result.error or "")
        assert len(redirector.requests) == 1 and target.requests == []
        redirector.redirect_to = "http://169.254.169.254/latest/meta-data/"
        assert poster.post(redirector.url, b"{}", {}).refused


def test_the_delivery_connects_to_the_checked_address_with_the_original_host() -> None:
    with webhook_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        allow = Allowlist.parse(["127.0.0.1/32"])
        poster = GuardedPoster(allow, 5, fake_dns({"hooks.example": ["127.0.0.1"]}))
        result = poster.post(f"http://hooks.example:{port}/hook?a=1", b"{}", {"X-Test": "1"})
        assert result.ok, result
        assert receiver.requests[0].headers["Host"] == f"hooks.example:{port}"
        assert receiver.requests[0].path == "/hook?a=1"

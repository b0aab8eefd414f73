"""Signed job webhooks with an SSRF guard. ``verify`` is for receivers."""

from aptmagic.webhooks.signing import InvalidSignature, verify

__all__ = ["InvalidSignature", "verify"]

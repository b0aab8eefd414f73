"""Accounts, web sessions, API keys, roles and the audit log.

Every request that is not on the public allowlist (``aptmagic.auth.public``)
is authenticated by ``AuthMiddleware`` before it reaches a route."""

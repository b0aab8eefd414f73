"""The blocklist, user reports and hiding posts."""

"""The audit log's export and admin page (the log itself: aptmagic.auth)."""

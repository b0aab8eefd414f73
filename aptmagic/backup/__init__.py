"""Backups of the embedded default: the SQLite database and the local blob folder, together."""

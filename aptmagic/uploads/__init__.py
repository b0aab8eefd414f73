"""Checked uploads: files users send for jobs to read.

Every upload is typed by its bytes (never its name), size- and pixel-limited,
decoded once to prove it is what it claims, optionally virus-scanned, and kept
as a temporary asset until a job uses it or the sweeper deletes it."""

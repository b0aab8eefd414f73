"""Plans (daily and concurrent job limits, per-job caps) and request rate limits."""

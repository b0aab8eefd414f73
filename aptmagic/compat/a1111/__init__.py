"""AUTOMATIC1111-compatible routes under /sdapi/v1."""

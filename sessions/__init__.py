"""Server-side sessions in Redis: the Flask session interface and the per-user index."""

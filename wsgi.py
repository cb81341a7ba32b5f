"""The gunicorn target: ``gunicorn wsgi:app``."""

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # one line for `flask run` too, as gunicorn.conf.py gives
    raise SystemExit(f"configuration error: {error}") from None

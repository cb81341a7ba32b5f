"""The gunicorn target: ``gunicorn wsgi:app``."""

from app import create_app
from serving import configuration_checked

with configuration_checked():  # one line for `flask run` too, as gunicorn.conf.py gives
    app = create_app()

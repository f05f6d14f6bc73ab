"""WSGI entry point: `gunicorn wsgi:app`."""

from webhook import create_app_or_exit

app = create_app_or_exit()

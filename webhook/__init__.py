"""webhook: the thin edge — verify, record, decide, enqueue, answer 202; plus health and run pages."""

from webhook.app import create_app, create_app_or_exit

__all__ = ["create_app", "create_app_or_exit"]

"""Logging set-up shared by the web app, the worker and the CLI: one line per event, key facts first."""

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def configure(level: str = "INFO") -> None:
    root = logging.getLogger()
    if getattr(root, "_verdict_configured", False):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    root._verdict_configured = True  # type: ignore[attr-defined]
    for noisy in ("httpx", "httpcore", "urllib3", "docker"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))

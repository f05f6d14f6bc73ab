"""A stand-in for GitHub (REST API and git smart HTTP) that Verdict's tests start in-process."""

from .model import CheckRunRecord, RecordedRequest
from .payloads import sign, webhook_payload
from .server import GitHubStandin

__all__ = ["CheckRunRecord", "GitHubStandin", "RecordedRequest", "sign", "webhook_payload"]

"""X-Hub-Signature-256: HMAC-SHA256 of the raw body with the webhook secret, compared in constant time."""

import hashlib
import hmac


def signature_for(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(body: bytes, secret: str, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature_for(body, secret), header.strip())

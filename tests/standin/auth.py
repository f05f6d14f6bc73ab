"""How the stand-in authenticates callers: the app's JWTs and the installation tokens it hands out.

The JWT rules and messages follow GitHub's: RS256 signed with the app's key, `iss` is the app id
(or client id), `iat` and `exp` present, at most ten minutes apart, not expired, `iat` not more
than 60 s in the future.
"""

from __future__ import annotations

import base64
import secrets
import string
import time
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MAX_JWT_LIFETIME = 600
CLOCK_SKEW = 60
TOKEN_LIFETIME = 3600
_TOKEN_ALPHABET = string.ascii_letters + string.digits

MSG_UNDECODABLE = "A JSON web token could not be decoded"
MSG_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
MSG_EXP_INVALID = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time "
    "at which the assertion expires"
)
MSG_IAT_INVALID = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
)
MSG_ISS_INVALID = "'Issuer' claim ('iss') must be an Integer"
MSG_BAD_CREDENTIALS = "Bad credentials"
MSG_REQUIRES_AUTH = "Requires authentication"


class AuthError(Exception):
    """A credential GitHub would refuse, with the message GitHub gives."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class IssuedToken:
    """An installation access token handed out by `POST /app/installations/{id}/access_tokens`."""

    token: str
    installation_id: int
    expires_at: float
    permissions: dict[str, str]
    repository_ids: frozenset[int] | None = None  # None: every repository of the installation
    requests: int = field(default=0)

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at


def generate_private_key_pem() -> str:
    """A fresh 2048-bit RSA key in PKCS#1 PEM, as GitHub hands out for apps."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_of(private_key_pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    public = key.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return public


def verify_app_jwt(
    token: str, public_key: rsa.RSAPublicKey, app_id: int, client_id: str, now: float | None = None
) -> dict:
    """The claims of a valid app JWT; raises AuthError with GitHub's message otherwise."""
    now = time.time() if now is None else now
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise AuthError(MSG_UNDECODABLE)
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise AuthError(MSG_UNDECODABLE) from exc
    _check_issuer(claims.get("iss"), app_id, client_id)
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _is_number(iat) or iat > now + CLOCK_SKEW:
        raise AuthError(MSG_IAT_INVALID)
    if not _is_number(exp) or exp <= now:
        raise AuthError(MSG_EXP_INVALID)
    if exp - iat > MAX_JWT_LIFETIME or exp > now + MAX_JWT_LIFETIME + CLOCK_SKEW:
        raise AuthError(MSG_EXP_TOO_FAR)
    return claims


def _check_issuer(iss: object, app_id: int, client_id: str) -> None:
    if iss == client_id:
        return
    if isinstance(iss, bool) or not isinstance(iss, int | str) or not str(iss).isdigit():
        raise AuthError(MSG_ISS_INVALID)
    if int(iss) != app_id:
        # GitHub would look up that other app and fail to verify the signature with its key.
        raise AuthError(MSG_UNDECODABLE)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def new_installation_token() -> str:
    return "ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))


def bearer_credential(authorization: str | None) -> tuple[str, str] | None:
    """(scheme, credential) from an Authorization header, scheme lower-cased; None when absent."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    return scheme.lower(), credential.strip()


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(username, password) from an HTTP Basic Authorization header; None when absent or malformed."""
    parsed = bearer_credential(authorization)
    if parsed is None or parsed[0] != "basic":
        return None
    try:
        decoded = base64.b64decode(parsed[1], validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def redact(authorization: str) -> str:
    scheme, _, _ = authorization.partition(" ")
    return f"{scheme} [REDACTED]"

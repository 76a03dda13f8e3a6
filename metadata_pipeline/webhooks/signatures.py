"""Webhook authentication: GitHub's HMAC-SHA256 body signature and GitLab's shared token.

Every comparison is constant-time (`hmac.compare_digest`) so a caller cannot learn a secret byte by
byte from response timings. Secrets are passed in, never read or logged here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

GITHUB_SIGNATURE_PREFIX = "sha256="


def sign_github(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body` (also used by tests and the bench)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return GITHUB_SIGNATURE_PREFIX + digest


def verify_github_signature(body: bytes, signature: str | None, secrets: Iterable[str]) -> bool:
    """True when `signature` is the HMAC-SHA256 of the raw body under any of `secrets`."""
    if not signature or not signature.startswith(GITHUB_SIGNATURE_PREFIX):
        return False
    provided = signature.strip().lower().encode()
    # Check every secret, even after a match, so timing does not reveal which one matched.
    matched = False
    for secret in secrets:
        if hmac.compare_digest(sign_github(body, secret).encode(), provided):
            matched = True
    return matched


def verify_gitlab_token(token: str | None, secrets: Iterable[str]) -> bool:
    """True when the `X-Gitlab-Token` header equals any of `secrets`."""
    if not token:
        return False
    provided = token.encode()
    matched = False
    for secret in secrets:
        if hmac.compare_digest(secret.encode(), provided):
            matched = True
    return matched

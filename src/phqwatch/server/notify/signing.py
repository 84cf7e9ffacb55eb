"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<body>"`` with the channel's secret.

Headers of every webhook request:
  X-Phqwatch-Delivery   the delivery id, the same on every retry of one notification (drop repeats)
  X-Phqwatch-Timestamp  Unix seconds when this attempt was sent (refuse old ones: replay protection)
  X-Phqwatch-Signature  ``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body)

A receiver verifies with `verify` (or the same three lines in any language), refuses timestamps outside
its tolerance, and remembers the delivery ids it has already acted on.
"""

from __future__ import annotations

import hashlib
import hmac
import time

DELIVERY_HEADER = "X-Phqwatch-Delivery"
TIMESTAMP_HEADER = "X-Phqwatch-Timestamp"
SIGNATURE_HEADER = "X-Phqwatch-Signature"
#: How old a timestamp `verify` accepts by default, in seconds.
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for one request."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str | int,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when `signature` is this body's, signed with `secret`, and `timestamp` is within tolerance."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)

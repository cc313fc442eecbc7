"""Who may post alerts: the bearer token (SEGBOT_ALERT_TOKEN), or Grafana's HMAC signature of a
recent timestamp and the body (SEGBOT_GRAFANA_HMAC_SECRET); with neither set, nobody."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request


def alert_authorizer(*, token: str | None, grafana_secret: str | None,
                     max_age: float) -> Callable[[Request], Awaitable[None]]:
    """The alert routes' check: the bearer token, or (on /alerts/grafana) a fresh HMAC."""
    expected_token = (token or "").encode()
    secret = (grafana_secret or "").encode()

    async def authorized(request: Request) -> None:
        if not expected_token and not secret:
            raise HTTPException(403, detail="alert intake is disabled: SEGBOT_ALERT_TOKEN is unset")
        headers = request.headers
        authorization = headers.get("authorization")
        if expected_token and authorization:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                presented.strip().encode(), expected_token
            ):
                return
        signature = headers.get("x-grafana-alerting-signature")
        stamp = headers.get("x-grafana-alerting-signature-timestamp", "")
        if (secret and signature and request.url.path == "/alerts/grafana"
                and _fresh(stamp, max_age)):
            body = stamp.encode() + b":" + await request.body()
            expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected.encode(), signature.encode()):
                return
        raise HTTPException(
            401, detail="missing or wrong credentials", headers={"WWW-Authenticate": "Bearer"}
        )

    return authorized


def _fresh(stamp: str, max_age: float) -> bool:
    """A signature timestamp (Unix seconds, or milliseconds) within `max_age` of now: without
    one, or an old one, a captured request could be replayed at will."""
    try:
        value = float(stamp)
    except ValueError:
        return False
    if value > 1e11:
        value /= 1000.0
    return abs(time.time() - value) <= max_age

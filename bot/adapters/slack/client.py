"""The Slack WebClient: base URL (Slack's, GovSlack's, or the tests' emulator), retries on
rate limits (honoring Retry-After), server errors and dropped connections; every call and
retry counted in segbot's metrics."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot.adapters.metrics import SLACK_CALLS, SLACK_RETRIES

DEFAULT_API_URL = "https://slack.com/api/"


class _CountedRateLimit(RateLimitErrorRetryHandler):
    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        SLACK_RETRIES.labels(reason="rate_limited").inc()
        super().prepare_for_next_attempt(**kwargs)


class _CountedServerError(ServerErrorRetryHandler):
    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        SLACK_RETRIES.labels(reason="server_error").inc()
        super().prepare_for_next_attempt(**kwargs)


class _CountedConnectionError(ConnectionErrorRetryHandler):
    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        SLACK_RETRIES.labels(reason="connection").inc()
        super().prepare_for_next_attempt(**kwargs)


class CountingWebClient(WebClient):
    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError:
            SLACK_CALLS.labels(method=api_method, outcome="error").inc()
            raise
        except Exception:
            SLACK_CALLS.labels(method=api_method, outcome="failed").inc()
            raise
        SLACK_CALLS.labels(method=api_method, outcome="ok").inc()
        return response


def web_client(token: str, *, api_url: str | None = None, timeout: int = 30) -> WebClient:
    base = (api_url or DEFAULT_API_URL).rstrip("/") + "/"
    return CountingWebClient(
        token=token,
        base_url=base,
        timeout=timeout,
        retry_handlers=[
            _CountedConnectionError(max_retry_count=2),
            _CountedRateLimit(max_retry_count=3),
            _CountedServerError(max_retry_count=2),
        ],
    )

"""Every action example of docs/usage.md loads with segbot's loader, and each HTTP one sends what
it says (method, path, headers from the environment, the rendered body, the Idempotency-Key)
to a local server standing in for the deploy or flag service."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.adapters.containment.http_call import call
from bot.config.containment import HttpCall, ServiceActions
from tests.support.effect_server import effect_server

EXAMPLES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parent / "action_examples.yaml").read_text())
ENV = {name: f"secret-{name.lower()}" for name in (
    "DEPLOY_TOKEN", "GITHUB_TOKEN", "ARGOCD_TOKEN", "UNLEASH_TOKEN", "LD_API_KEY")}
VALUES = {"service": "checkout-api", "version": "2.18.7", "to_version": "2.18.6",
          "flag": "pricing_v4", "incident": "12", "requested_by": "U0BOB", "action_id": "a1",
          "unit": "checkout-api.service", "host": "node-17"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example(name: str) -> None:
    actions = ServiceActions.model_validate(EXAMPLES[name])
    with effect_server() as server:
        for action in ("rollback", "disable_flag"):
            spec = getattr(actions, action)
            if spec is None or spec.url is None:
                continue
            local = HttpCall.model_validate({**spec.model_dump(exclude={
                "command", "second_approver", "flag", "read"}, exclude_none=True),
                "url": re.sub(r"^https://[^/]+", server.url, spec.url)})
            outcome = call(local, VALUES, environ=ENV, action_id="a1")
            assert outcome.state == "succeeded", outcome
            seen = server.requests[-1]
            assert seen.method == spec.method and seen.headers["idempotency-key"] == "a1"
            assert not re.search(r"\{[a-z_]+\}", seen.path + json.dumps(seen.body))
            assert any(v in seen.headers.get("authorization", "") for v in ENV.values())
            if spec.body is not None:
                assert "2.18.6" in str(seen.body) or "pricing_v4" in seen.path

"""One configured HTTP call (httpx), the action id as Idempotency-Key, no retries or redirects;
httpx's errors become an Outcome here: failed before sending, unknown after."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from bot.config.containment import FlagRead, HttpCall
from bot.domain.containment import Outcome, TemplateError, env_names, render, render_body


def _request(spec: HttpCall, values: Mapping[str, str], environ: Mapping[str, str],
             action_id: str | None) -> tuple[str, dict[str, str], bytes | None]:
    assert spec.url is not None
    url = render(spec.url, values, quote=lambda v: quote(v, safe=""))
    # Only the names the config's own header templates name are read from the environment,
    # and before any value is put in: a value is never read for `${...}`.
    headers = {name: render(text, values, environ={n: environ[n] for n in env_names(text)
                                                   if n in environ})
               for name, text in spec.headers.items()}
    if action_id is not None:
        headers["Idempotency-Key"] = action_id
    content = None
    if spec.body is not None:
        content = json.dumps(render_body(spec.body, values)).encode()
        headers.setdefault("Content-Type", "application/json")
    return url, headers, content


def call(spec: HttpCall, values: Mapping[str, str], *, environ: Mapping[str, str],
         action_id: str) -> Outcome:
    try:
        url, headers, content = _request(spec, values, environ, action_id)
    except TemplateError as error:
        return Outcome("failed", f"not sent: {error}")
    where = f"{spec.method} {url.split('?', 1)[0]}"
    try:
        with httpx.Client(timeout=spec.timeout, follow_redirects=False,
                          transport=httpx.HTTPTransport(retries=0)) as client:
            response = client.request(spec.method, url, headers=headers, content=content)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol,
            httpx.InvalidURL) as error:
        return Outcome("failed", f"{where}: not sent ({type(error).__name__}: {error})")
    except httpx.TimeoutException:
        return Outcome("unknown", f"{where}: no answer within {spec.timeout:g}s; the request "
                                  "may have been applied")
    except httpx.HTTPError as error:
        return Outcome("unknown", f"{where}: connection lost after sending "
                                  f"({type(error).__name__}); the request may have been applied")
    body = " ".join(response.text.split())[:300]
    ok = (response.status_code in spec.ok_status if spec.ok_status
          else 200 <= response.status_code < 300)
    text = f"{where}: HTTP {response.status_code}" + (f" {body}" if body else "")
    return Outcome("succeeded" if ok else "failed", text)


def read_value(spec: FlagRead, values: Mapping[str, str], *,
               environ: Mapping[str, str]) -> str:
    """The flag's current value for the preview (GET, then the dotted path in the JSON)."""
    try:
        url, headers, content = _request(spec, values, environ, None)
        with httpx.Client(timeout=min(spec.timeout, 10.0), follow_redirects=False) as client:
            response = client.request(spec.method, url, headers=headers, content=content)
        response.raise_for_status()
        data: Any = response.json()
    except (TemplateError, httpx.HTTPError, ValueError) as error:
        return f"unknown ({type(error).__name__})"
    for part in spec.value.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return f"unknown (no {spec.value} in the answer)"
    return json.dumps(data)

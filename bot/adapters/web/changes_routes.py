"""The change routes: `POST /changes/generic`, `/changes/github` (deployment_status),
`/changes/argocd`, `/changes/unleash`, `/changes/launchdarkly`.

Authenticated like the alert routes (the bearer token), or by the sender's own signature
(GitHub's X-Hub-Signature-256, LaunchDarkly's X-LD-Signature) when its secret is set; bodies
are size-limited (BodyLimit) and validated; an event for a service not in the config, or with
a field that is not plain, gets 422 and nothing of that request is stored.
"""

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from bot.adapters.web.body_limit import BODY, BodyLimit
from bot.adapters.web.change_models import (
    ArgoNotification,
    GenericChange,
    GithubDeploymentStatus,
    LaunchDarklyEntry,
    UnleashEvent,
)
from bot.app.changes import ChangeDirectory, take_changes
from bot.app.ports.changes import ChangeStore
from bot.config import Config
from bot.domain.changes import ChangeEvent, ChangeRefused
from bot.errors import StoreError

Authorizer = Callable[[Request], Awaitable[None]]
ServiceParam = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
EnvironmentParam = Annotated[str | None, Query(max_length=64,
                                               pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@dataclass(frozen=True)
class ChangeSettings:
    directory: ChangeDirectory
    github_secret: str | None = None
    launchdarkly_secret: str | None = None


def change_settings(config: Config, environ: Mapping[str, str]) -> ChangeSettings:
    """Configured services (only they may be named) and the flags each owns."""
    owners: dict[str, str] = {}
    for name, service in config.services.items():
        for flag in service.changes.flags:
            owners.setdefault(flag, name)
    return ChangeSettings(
        directory=ChangeDirectory(services=frozenset(config.services), flag_owners=owners),
        github_secret=environ.get("SEGBOT_GITHUB_WEBHOOK_SECRET") or None,
        launchdarkly_secret=environ.get("SEGBOT_LAUNCHDARKLY_WEBHOOK_SECRET") or None)


def mount_changes(app: FastAPI, *, store: ChangeStore, settings: ChangeSettings,
                  max_body_bytes: int) -> None:
    """Add the change routes to the server `create_app` built (its alert-route auth)."""
    authorized: Authorizer = app.state.alert_auth
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, prefix="/changes")
    Bearer = Annotated[None, Depends(authorized)]
    GithubAuth = Annotated[None, Depends(_signed(
        authorized, settings.github_secret, "x-hub-signature-256", "sha256="))]
    LaunchDarklyAuth = Annotated[None, Depends(_signed(
        authorized, settings.launchdarkly_secret, "x-ld-signature", ""))]

    async def take(events: list[ChangeEvent], service: str | None,
                   ignored: str | None = None) -> JSONResponse:
        try:
            stored, duplicates = await run_in_threadpool(
                take_changes, store=store, directory=settings.directory, events=events,
                service=service, now=datetime.now(UTC))
        except ChangeRefused as error:
            raise HTTPException(422, detail=str(error)) from None
        except StoreError as error:
            raise HTTPException(503, detail=str(error)) from None
        body: dict[str, Any] = {"stored": stored, "duplicates": duplicates}
        if not events:
            body["ignored"] = ignored or "nothing to record"
        return JSONResponse(body)

    @app.post("/changes/generic", tags=["changes"], openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {
            "schema": GenericChange.model_json_schema()}}}})
    async def generic(request: Request, _: Bearer) -> JSONResponse:
        """One change: `{service, kind: deploy|flag|config, version?, commit?, build_ids?,
        sha256?, flag?, state?, hosts?, time, by?, url?, id?}`."""
        return await take((await _parsed(request, GenericChange)).events(), None)

    @app.post("/changes/github", tags=["changes"])
    async def github(request: Request, _: GithubAuth, service: ServiceParam = None,
                     environment: EnvironmentParam = None) -> JSONResponse:
        """GitHub's `deployment_status` webhook: a successful deployment is a deploy."""
        event = request.headers.get("x-github-event", "")
        if event != "deployment_status":
            return await take([], None, f"GitHub event {event[:40]!r} is not a deployment")
        payload = await _parsed(request, GithubDeploymentStatus)
        return await take(payload.events(environment), service,
                          f"deployment state {payload.deployment_status.state!r}")

    @app.post("/changes/argocd", tags=["changes"])
    async def argocd(request: Request, _: Bearer, service: ServiceParam = None) -> JSONResponse:
        """An Argo CD notification (webhook service, body `{"app": {{toJson .app}}}`)."""
        return await take((await _parsed(request, ArgoNotification)).events(), service,
                          "the sync did not succeed")

    @app.post("/changes/unleash", tags=["changes"])
    async def unleash(request: Request, _: Bearer, service: ServiceParam = None,
                      environment: EnvironmentParam = None) -> JSONResponse:
        """Unleash's webhook addon (the event as its body)."""
        return await take((await _parsed(request, UnleashEvent)).events(environment), service,
                          "not a flag change of this environment")

    @app.post("/changes/launchdarkly", tags=["changes"])
    async def launchdarkly(request: Request, _: LaunchDarklyAuth, service: ServiceParam = None,
                           environment: EnvironmentParam = None) -> JSONResponse:
        """LaunchDarkly's webhook (an audit log entry)."""
        return await take((await _parsed(request, LaunchDarklyEntry)).events(environment),
                          service, "not a flag change of this environment")


def _signed(authorized: Authorizer, secret: str | None, header: str,
            prefix: str) -> Callable[[Request], Awaitable[None]]:
    """The sender's HMAC-SHA256 signature of the body when it sends one and a secret is set;
    otherwise the alert routes' bearer token."""
    key = (secret or "").encode()

    async def check(request: Request) -> None:
        presented = request.headers.get(header)
        if key and presented:
            body = request.scope.get(BODY)
            digest = hmac.new(key, body if body is not None else await request.body(),
                              hashlib.sha256).hexdigest()
            if hmac.compare_digest((prefix + digest).encode(), presented.strip().encode()):
                return
            raise HTTPException(401, detail="bad signature")
        await authorized(request)

    return check


Payload = TypeVar("Payload", bound=BaseModel)


async def _parsed(request: Request, model: type[Payload]) -> Payload:
    body = request.scope.get(BODY)
    try:
        return model.model_validate_json(body if body is not None else await request.body())
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in error.errors()]) from None


"""The HTTP app (FastAPI): alert routes, /healthz, /metrics. A 2xx means "committed" (the
writer process's group commit is awaited); a bad payload gets a 4xx with the reason."""

import functools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from bot.adapters.metrics import REGISTRY as PROCESS_REGISTRY
from bot.adapters.web.alert_auth import alert_authorizer
from bot.adapters.web.body_limit import BODY, BodyLimit
from bot.adapters.web.intake import Intake
from bot.adapters.web.metrics import IntakeMetrics
from bot.adapters.web.models import (
    AlertmanagerAlert,
    AlertmanagerWebhook,
    GenericAlert,
    GrafanaWebhook,
    IntakeResponse,
    Problem,
    RejectedAlert,
)
from bot.domain.alerts import (
    AlertSource,
    LabelRules,
    Occurrence,
    Rejected,
    generic_occurrence,
    labelled_occurrence,
)
from bot.errors import StoreError

WebApp = FastAPI


@dataclass(frozen=True)
class WebSettings:
    alert_token: str | None  # None: every alert request is refused
    grafana_hmac_secret: str | None = None
    max_body_bytes: int = 1 << 20
    label_rules: LabelRules = field(default_factory=LabelRules)
    bench_baseline: bool = False  # adds POST /bench/noop, the do-nothing route for benchmarks
    openapi: bool = False  # serve /openapi.json and /docs (alerts.openapi in the config)
    # The config's service names: an alert naming another service is refused (its name would
    # reach Slack and the store). Empty: no services configured, any name is kept.
    services: frozenset[str] = frozenset()
    # A Grafana signature's timestamp (signed with the body) must be this recent: no replay.
    hmac_max_age_seconds: float = 300.0


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing or wrong bearer token"},
    403: {"model": Problem, "description": "alert intake is disabled (no token configured)"},
    413: {"model": Problem, "description": "payload larger than the limit"},
    422: {"model": Problem, "description": "malformed payload, or no usable alert in it"},
    503: {"model": Problem, "description": "the store could not commit; retry"},
}


def create_app(
    *,
    intake: Intake,
    metrics: IntakeMetrics,
    settings: WebSettings,
    health: Callable[[], dict[str, str]] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await intake.start()
        try:
            yield
        finally:
            await intake.stop()

    app = FastAPI(
        title="segbot",
        summary="Crash alert intake: alerts become incidents grouped by crash signature.",
        version="1",
        lifespan=lifespan,
        # The document maps every route for whoever asks: served only when configured.
        openapi_url="/openapi.json" if settings.openapi else None,
        docs_url="/docs" if settings.openapi else None,
        redoc_url=None,
    )
    # Every route, present and future (/slack/events, /changes/*): no body is read past the
    # limit, signed or not, before anything else looks at it.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, prefix="/")
    authorized = alert_authorizer(token=settings.alert_token,
                                  grafana_secret=settings.grafana_hmac_secret,
                                  max_age=settings.hmac_max_age_seconds)
    app.state.alert_auth = authorized  # the change routes (changes_routes.py) reuse it
    Auth = Annotated[None, Depends(authorized)]

    # The labelled series, looked up once (prometheus_client's labels() costs per call).
    @functools.cache
    def counted(source: AlertSource, outcome: str) -> Counter:
        return metrics.alerts.labels(source, outcome)

    @functools.cache
    def acknowledged(source: AlertSource) -> Histogram:
        return metrics.ack_seconds.labels(source)

    async def answer(source: AlertSource, items: list[Occurrence | Rejected]) -> Response:
        started = time.perf_counter()
        occurrences = [i for i in items if isinstance(i, Occurrence)]
        rejected = [
            RejectedAlert(index=i.index, reason=i.reason) for i in items if isinstance(i, Rejected)
        ]
        if rejected:
            counted(source, "rejected").inc(len(rejected))
        if items and not occurrences:
            raise HTTPException(422, detail=[r.model_dump() for r in rejected])
        try:
            result = await intake.take(occurrences)
        except StoreError as error:
            raise HTTPException(503, detail=str(error)) from None
        counted(source, "accepted").inc(result.accepted)
        if result.duplicates:
            counted(source, "duplicate").inc(result.duplicates)
        acknowledged(source).observe(time.perf_counter() - started)
        body = {"accepted": result.accepted, "duplicates": result.duplicates,
                "rejected": [r.model_dump() for r in rejected],
                "incidents": list(result.incidents)}
        # IntakeResponse's shape, written directly: building and dumping the model, or letting
        # FastAPI validate a return value, costs measurably per alert. The route still declares
        # IntakeResponse for the OpenAPI document (and a test holds the two in step).
        return Response(json.dumps(body), media_type="application/json")

    def configured(item: Occurrence | Rejected, index: int) -> Occurrence | Rejected:
        if settings.services and isinstance(item, Occurrence) and (
                item.service not in settings.services):
            return Rejected(index, "service is not one of the configured services")
        return item

    def labelled(
        source: AlertSource, alerts: list[AlertmanagerAlert], common: dict[str, str]
    ) -> list[Occurrence | Rejected]:
        now = datetime.now(UTC)
        return [
            configured(labelled_occurrence(
                source=source,
                index=n,
                status=a.status,
                labels=a.labels,
                annotations={**common, **a.annotations},
                starts_at=a.startsAt,
                fingerprint=a.fingerprint,
                received_at=now,
                rules=settings.label_rules,
            ), n)
            for n, a in enumerate(alerts)
        ]

    @app.post("/alerts/alertmanager", response_model=IntakeResponse, responses=_ERRORS,
              tags=["alerts"], openapi_extra=_body(AlertmanagerWebhook))
    async def alertmanager(request: Request, _: Auth) -> Response:
        """Alertmanager's webhook (version 4), firing and resolved; re-sends count once."""
        payload = await _parsed(request, AlertmanagerWebhook)
        return await answer(
            "alertmanager", labelled("alertmanager", payload.alerts, payload.commonAnnotations)
        )

    @app.post("/alerts/grafana", response_model=IntakeResponse, responses=_ERRORS,
              tags=["alerts"], openapi_extra=_body(GrafanaWebhook))
    async def grafana(request: Request, _: Auth) -> Response:
        """Grafana's webhook contact point (unified alerting)."""
        payload = await _parsed(request, GrafanaWebhook)
        alerts: list[AlertmanagerAlert] = list(payload.alerts)
        return await answer("grafana", labelled("grafana", alerts, payload.commonAnnotations))

    @app.post("/alerts/generic", response_model=IntakeResponse, responses=_ERRORS,
              tags=["alerts"], openapi_extra=_body(GenericAlert))
    async def generic(request: Request, _: Auth) -> Response:
        """One crash: {host, service, signal?, time?, message?, id?}; `id` makes re-sends count
        once; `message` may carry a kernel or journal line, decoded on the way in."""
        payload = await _parsed(request, GenericAlert)
        item = generic_occurrence(
            host=payload.host,
            service=payload.service,
            signal=payload.signal,
            time=payload.time,
            message=payload.message,
            alert_id=payload.id,
            version=payload.version,
            received_at=datetime.now(UTC),
        )
        return await answer("generic", [configured(item, 0)])

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> Response:
        """200 while the store answers (Slack's state is reported, not failed on: a Slack
        outage must not make an orchestrator restart the bot that queues its messages)."""
        checks = await run_in_threadpool(health) if health else {}
        down = checks.get("store", "ok") != "ok"
        body = {"status": "down" if down else "ok", **checks}
        return Response(json.dumps(body), status_code=503 if down else 200,
                        media_type="application/json")

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> Response:
        """503 while the store (PostgreSQL, for replicas) cannot be reached: the load balancer
        sends this replica nothing until it can store what it is sent."""
        checks = await run_in_threadpool(health) if health else {}
        ready = checks.get("store", "ok") == "ok"
        body = {"ready": ready, "store": checks.get("store", "ok")}
        return Response(json.dumps(body), status_code=200 if ready else 503,
                        media_type="application/json")

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def prometheus_metrics() -> Response:
        text = generate_latest(metrics.registry) + generate_latest(PROCESS_REGISTRY)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    if settings.bench_baseline:

        @app.post("/bench/noop", include_in_schema=False)
        async def noop(_: Auth) -> dict[str, int]:
            return {"accepted": 0}

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        # The reasons, without echoing the input back (it may be huge, or not encodable).
        reasons = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()[:20]
        ]
        body = json.dumps({"detail": reasons}, ensure_ascii=True, default=str)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, error: RecursionError) -> JSONResponse:
        return JSONResponse({"detail": "payload nested too deeply"}, status_code=422)

    _document_alert_routes(app)
    return app


Payload = TypeVar("Payload", bound=BaseModel)


async def _parsed(request: Request, model: type[Payload]) -> Payload:
    """The body validated straight from its bytes by pydantic-core (FastAPI's own body
    parameter goes through json.loads and Python-side validation: measurably more per alert)."""
    body = request.scope.get(BODY)  # read whole by BodyLimit, which guards these routes
    try:
        return model.model_validate_json(body if body is not None else await request.body())
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in error.errors()]
        ) from None


def _body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that validates it itself (see _parsed); its schema
    goes to the document's components in _document_alert_routes."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


_BODIES: tuple[type[BaseModel], ...] = (AlertmanagerWebhook, GrafanaWebhook, GenericAlert)


def _document_alert_routes(app: FastAPI) -> None:
    """The OpenAPI document of the alert routes: their body schemas (they validate bodies
    themselves, see _parsed) and their bearer token (checked by `alert_authorizer`, kept out of
    FastAPI's security classes for speed)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {})
            for model in _BODIES:
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.setdefault("schemas", {}).update(body.pop("$defs", {}))
                components["schemas"][model.__name__] = body
            schemes = components.setdefault("securitySchemes", {})
            schemes["alertToken"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "SEGBOT_ALERT_TOKEN (Alertmanager: http_config.authorization)",
            }
            for path, operations in schema.get("paths", {}).items():
                if path.startswith("/alerts/"):
                    for operation in operations.values():
                        operation["security"] = [{"alertToken": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

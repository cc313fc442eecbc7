"""The change routes' wire formats (pydantic): generic, GitHub `deployment_status`, Argo CD,
Unleash and LaunchDarkly, each turned into ChangeEvents; unknown fields are ignored, kept
strings are bounded."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.domain.changes import ChangeEvent, flag_state, launchdarkly_state, unleash_state

Short = Field(default=None, max_length=256)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _words(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else re.split(r"[\s,]+", value)
    return tuple(i.strip() for i in items if i and i.strip())


class GenericChange(_Lenient):
    """`{service, kind, version?, commit?, build_ids?, sha256?, flag?, state?, hosts?, time,
    by?, url?, id?}`; `id` makes a re-sent event count once."""

    service: str = Field(max_length=64)
    kind: Literal["deploy", "flag", "config"]
    time: AwareDatetime
    version: str | None = Field(default=None, max_length=64)
    commit: str | None = Field(default=None, max_length=64)
    build_ids: list[str] = Field(default_factory=list, max_length=64)
    sha256: str | list[str] | None = Field(default=None)
    flag: str | None = Field(default=None, max_length=128)
    state: str | bool | None = Field(default=None)
    hosts: list[str] = Field(default_factory=list, max_length=1000)
    by: str | None = Short
    url: str | None = Field(default=None, max_length=2048)
    id: str | None = Field(default=None, max_length=128)

    def events(self) -> list[ChangeEvent]:
        state = flag_state(self.state) if isinstance(self.state, bool) else self.state
        sha = [self.sha256] if isinstance(self.sha256, str) else list(self.sha256 or [])
        return [ChangeEvent(
            service=self.service, kind=self.kind, time=self.time, source="generic",
            version=self.version, commit=self.commit, build_ids=tuple(self.build_ids),
            sha256=tuple(sha[:64]), flag=self.flag, state=state, hosts=tuple(self.hosts),
            by=self.by, url=self.url, key=f"generic:{self.id}" if self.id else "")]


class _GhUser(_Lenient):
    login: str | None = Short


class _GhDeployment(_Lenient):
    id: int | None = None
    sha: str | None = Field(default=None, max_length=64)
    ref: str | None = Short
    environment: str | None = Short
    payload: dict[str, Any] | str | None = None
    creator: _GhUser | None = None


class _GhStatus(_Lenient):
    id: int | None = None
    state: str = Field(max_length=32)
    environment: str | None = Short
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    creator: _GhUser | None = None
    target_url: str | None = Field(default=None, max_length=2048)
    log_url: str | None = Field(default=None, max_length=2048)


class _GhRepository(_Lenient):
    name: str = Field(max_length=128)


class GithubDeploymentStatus(_Lenient):
    """GitHub's `deployment_status` webhook; a successful deployment is a deploy. The
    deployment's `payload` may name `service`, `version`, `build_ids`, `sha256`, `hosts`."""

    action: str | None = Field(default=None, max_length=32)
    deployment_status: _GhStatus
    deployment: _GhDeployment
    repository: _GhRepository

    def events(self, environment: str | None) -> list[ChangeEvent]:
        status, deployment = self.deployment_status, self.deployment
        where = status.environment or deployment.environment
        if status.state != "success" or (environment and where != environment):
            return []
        extra = deployment.payload if isinstance(deployment.payload, dict) else {}
        version = _text(extra.get("version")) or _tag_version(deployment.ref)
        who = (deployment.creator or status.creator or _GhUser()).login
        return [ChangeEvent(
            service=_text(extra.get("service")) or self.repository.name, kind="deploy",
            time=status.created_at or status.updated_at or datetime.now(UTC), source="github",
            version=version, commit=deployment.sha,
            build_ids=_words(_list(extra.get("build_ids"))),
            sha256=_words(_list(extra.get("sha256"))), hosts=_words(_list(extra.get("hosts"))),
            by=who, url=status.target_url or status.log_url,
            key=f"github:{status.id}" if status.id is not None else "")]


class _ArgoMeta(_Lenient):
    name: str = Field(max_length=253)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class _ArgoInitiator(_Lenient):
    username: str | None = Short
    automated: bool | None = None


class _ArgoOperation(_Lenient):
    initiatedBy: _ArgoInitiator | None = None


class _ArgoOperationState(_Lenient):
    phase: str | None = Field(default=None, max_length=32)
    finishedAt: AwareDatetime | None = None
    operation: _ArgoOperation | None = None


class _ArgoSync(_Lenient):
    revision: str | None = Field(default=None, max_length=128)


class _ArgoSummary(_Lenient):
    images: list[str] = Field(default_factory=list, max_length=100)


class _ArgoStatus(_Lenient):
    sync: _ArgoSync | None = None
    operationState: _ArgoOperationState | None = None
    summary: _ArgoSummary | None = None


class _ArgoApp(_Lenient):
    metadata: _ArgoMeta
    status: _ArgoStatus = Field(default_factory=_ArgoStatus)


class ArgoNotification(_Lenient):
    """An Argo CD notifications webhook with the template body `{"app": {{toJson .app}}}`;
    a Succeeded sync is a deploy. Annotations `segbot.io/service`, `segbot.io/version` and
    `segbot.io/build-ids` override what is read from the app (its name, image tag)."""

    app: _ArgoApp

    def events(self) -> list[ChangeEvent]:
        meta, status = self.app.metadata, self.app.status
        state = status.operationState or _ArgoOperationState()
        if state.phase != "Succeeded":
            return []
        notes = meta.annotations
        images = status.summary.images if status.summary else []
        version = notes.get("segbot.io/version") or _image_tag(images[0] if images else None)
        revision = (status.sync.revision if status.sync else None) or None
        initiator = state.operation.initiatedBy if state.operation else None
        who = (initiator.username or ("automated sync" if initiator.automated else None)
               if initiator else None)
        service = (notes.get("segbot.io/service")
                   or meta.labels.get("app.kubernetes.io/name") or meta.name)
        commit = revision if revision and re.fullmatch(r"[0-9a-fA-F]{7,64}", revision) else None
        return [ChangeEvent(
            service=service, kind="deploy", time=state.finishedAt or datetime.now(UTC),
            source="argocd", version=version or (None if commit else revision), commit=commit,
            build_ids=_words(notes.get("segbot.io/build-ids")), by=who)]


class _UnleashTag(_Lenient):
    type: str = Field(max_length=64)
    value: str = Field(max_length=256)


class UnleashEvent(_Lenient):
    """Unleash's webhook addon body (an event): `feature-environment-enabled` / `-disabled`
    are the flag turned on / off; strategy and variant edits are "changed"."""

    id: int | None = None
    type: str = Field(max_length=64)
    createdBy: str | None = Short
    createdAt: AwareDatetime
    featureName: str | None = Field(default=None, max_length=128)
    project: str | None = Short
    environment: str | None = Short
    tags: list[_UnleashTag] = Field(default_factory=list, max_length=100)

    def events(self, environment: str | None) -> list[ChangeEvent]:
        state = unleash_state(self.type)
        if state is None or self.featureName is None:
            return []
        if environment and self.environment and self.environment != environment:
            return []
        service = next((t.value for t in self.tags if t.type == "service"), "")
        return [ChangeEvent(
            service=service, kind="flag", time=self.createdAt, source="unleash",
            flag=self.featureName, state=state, by=self.createdBy,
            key=f"unleash:{self.id}" if self.id is not None else "")]


class _LdMember(_Lenient):
    email: str | None = Short


class _LdTarget(_Lenient):
    resources: list[str] = Field(default_factory=list, max_length=100)


class _LdAccess(_Lenient):
    action: str = Field(max_length=64)
    resource: str | None = Field(default=None, max_length=512)


class LaunchDarklyEntry(_Lenient):
    """LaunchDarkly's webhook body (an audit log entry); flag entries only. `updateOn` is
    the flag turned on or off (read from `currentVersion`), anything else "changed"."""

    entry_id: str | None = Field(default=None, alias="_id", max_length=64)
    kind: str = Field(max_length=32)
    date: int = Field(ge=0, le=253_402_300_799_999)  # ms since the epoch, before year 10000
    member: _LdMember | None = None
    target: _LdTarget | None = None
    accesses: list[_LdAccess] = Field(default_factory=list, max_length=100)
    currentVersion: dict[str, Any] | None = None
    titleVerb: str | None = Short

    def events(self, environment: str | None) -> list[ChangeEvent]:
        if self.kind != "flag":
            return []
        resources = [a.resource for a in self.accesses if a.resource] + (
            self.target.resources if self.target else [])
        parsed = [_ld_resource(r) for r in resources]
        found = next((p for p in parsed if p[1] and (not environment or p[0] == environment)),
                     None)
        if found is None:
            return []
        env, flag = found
        envs = (self.currentVersion or {}).get("environments")
        this = envs.get(env) if isinstance(envs, dict) and env else None
        on = this.get("on") if isinstance(this, dict) else None
        state = launchdarkly_state([a.action for a in self.accesses], self.titleVerb,
                                   on if isinstance(on, bool) else None)
        return [ChangeEvent(
            service="", kind="flag", time=datetime.fromtimestamp(self.date / 1000, UTC),
            source="launchdarkly", flag=flag, state=state,
            by=self.member.email if self.member else None,
            key=f"launchdarkly:{self.entry_id}" if self.entry_id else "")]


def _ld_resource(resource: str) -> tuple[str | None, str | None]:
    """`proj/default:env/production:flag/pricing_v4` -> (production, pricing_v4)."""
    parts = dict(p.split("/", 1) for p in resource.split(":") if "/" in p)
    return parts.get("env"), parts.get("flag")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> str | list[str] | None:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)][:64]
    return value if isinstance(value, str) else None


def _tag_version(ref: str | None) -> str | None:
    """`refs/tags/v2.18.7` or `v2.18.7` -> 2.18.7; a branch name is no version."""
    if not ref:
        return None
    tag = ref.removeprefix("refs/tags/")
    match = re.fullmatch(r"v?(\d[\w.+~-]*)", tag)
    return match.group(1) if match else None


def _image_tag(image: str | None) -> str | None:
    """`registry:5000/shop/checkout-api:2.18.7` -> 2.18.7 (a digest is no version)."""
    if not image or "@" in image:
        return None
    name, _, tag = image.rpartition(":")
    return tag if name and "/" not in tag else None

"""Incident use cases: take in occurrences (grouped, counted, deduped), and the lifecycle.

`ingest` takes many requests' occurrences at once so the web adapter can commit a whole group
in one transaction (group commit); each request still gets its own result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from bot.app.ports.store import DiagnosisTrigger, Store, StoreTx
from bot.domain.alerts import CrashFacts, Occurrence
from bot.domain.decode import decode_message
from bot.domain.incident import (
    DiagnosisRequest,
    Incident,
    Join,
    OpenIncident,
    Role,
    Status,
    TimelineEvent,
    can_change,
    group,
)
from bot.domain.mrkdwn import escape

DEFAULT_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class IntakeResult:
    """What one request's occurrences did: new ones, re-sent ones, incidents touched."""

    accepted: int
    duplicates: int
    incidents: tuple[int, ...]
    opened: tuple[int, ...] = ()


@dataclass(frozen=True)
class IngestOutcome:
    results: tuple[IntakeResult, ...]
    diagnoses: tuple[DiagnosisRequest, ...]


def ingest(
    *,
    store: Store,
    requests: Sequence[Sequence[Occurrence]],
    now: datetime,
    window: timedelta,
    decoder: MessageDecoder | None = None,
) -> IngestOutcome:
    """Store every request's new occurrences in one transaction; return per-request results.

    Nothing is visible (or acknowledged by the caller) until this returns: the commit happens
    before it does. Diagnoses claimed here are `pending`; call `request_diagnoses` after.
    With a `decoder`, each new occurrence's message is decoded before it is grouped (re-sent
    alerts are not decoded again).
    """
    with store.transaction() as tx:
        tx.serialize_intake()
        grouping = _Grouping(tx, window)
        all_keys = {o.key for occurrences in requests for o in occurrences if o.key}
        seen = tx.known_keys(all_keys) if all_keys else set()
        grouped: list[tuple[int, Occurrence]] = []
        results: list[IntakeResult] = []
        for occurrences in requests:
            accepted = duplicates = 0
            touched: list[int] = []
            opened: list[int] = []
            for occurrence in occurrences:
                if occurrence.key is not None:
                    if occurrence.key in seen:
                        duplicates += 1
                        continue
                    seen.add(occurrence.key)
                if decoder is not None:
                    occurrence = enrich(occurrence, decoder, now)
                incident_id, is_new = grouping.assign(occurrence, now)
                grouped.append((incident_id, occurrence))
                accepted += 1
                if incident_id not in touched:
                    touched.append(incident_id)
                if is_new:
                    opened.append(incident_id)
            results.append(IntakeResult(accepted, duplicates, tuple(touched), tuple(opened)))
        diagnoses = grouping.claim_diagnoses(grouped, now)
        if grouped:
            tx.add_occurrences(grouped, now)
    return IngestOutcome(tuple(results), tuple(diagnoses))


def request_diagnoses(
    *, store: Store, trigger: DiagnosisTrigger, requests: Sequence[DiagnosisRequest]
) -> None:
    """Hand claimed diagnoses to the trigger, then mark them requested.

    A crash between claim and hand-off leaves them pending; `resume_diagnoses` re-sends them.
    """
    if not requests:
        return
    for request in requests:
        trigger(request)
    store.mark_diagnoses_requested(requests)


def resume_diagnoses(*, store: Store, trigger: DiagnosisTrigger) -> int:
    """Re-send diagnoses claimed before a restart but never handed off; how many."""
    pending = store.pending_diagnoses()
    request_diagnoses(store=store, trigger=trigger, requests=pending)
    return len(pending)


class _Grouping:
    """Grouping state for one transaction: open incidents per service, loaded once."""

    def __init__(self, tx: StoreTx, window: timedelta) -> None:
        self._tx = tx
        self._window = window
        self._open: dict[str, list[OpenIncident]] = {}
        self._services: dict[int, str] = {}

    def assign(self, occurrence: Occurrence, now: datetime) -> tuple[int, bool]:
        incidents = self._open.get(occurrence.service)
        if incidents is None:
            incidents = self._tx.open_incidents(occurrence.service)
            self._open[occurrence.service] = incidents
            self._services.update((i.id, i.service) for i in incidents)
        decision = group(
            service=occurrence.service,
            signature=occurrence.signature,
            time=occurrence.time,
            open_incidents=incidents,
            window=self._window,
        )
        if isinstance(decision, Join):
            index = next(n for n, i in enumerate(incidents) if i.id == decision.incident_id)
            current = incidents[index]
            signature = current.signature
            if decision.rekey_to is not None:
                signature = decision.rekey_to
                self._tx.set_signature(current.id, signature)
                self._tx.add_event(
                    current.id,
                    TimelineEvent(now, "signature", f"crash signature {escape(signature)}",
                                  source="alert"),
                )
            incidents[index] = OpenIncident(
                current.id, current.service, signature, max(current.last_seen, occurrence.time)
            )
            return current.id, False
        incident_id = self._tx.create_incident(
            service=occurrence.service,
            signature=decision.signature,
            status=Status.INVESTIGATING,
            at=now,
            seen=occurrence.time,
        )
        what = f"signature {decision.signature}" if decision.signature else "signature not known"
        self._tx.add_event(
            incident_id,
            TimelineEvent(
                now,
                "opened",
                f"{escape(occurrence.service)} crashed on {escape(occurrence.host)} "
                f"({escape(what)})",
                actor=occurrence.source,
                source=occurrence.source,
            ),
        )
        for related in decision.related:
            self._tx.link_related(incident_id, related)
            self._tx.add_event(
                incident_id, TimelineEvent(now, "related", f"related to incident {related}")
            )
        incidents.append(
            OpenIncident(incident_id, occurrence.service, decision.signature, occurrence.time)
        )
        self._services[incident_id] = occurrence.service
        return incident_id, True

    def claim_diagnoses(
        self, grouped: Sequence[tuple[int, Occurrence]], now: datetime
    ) -> list[DiagnosisRequest]:
        hosts: dict[int, list[str]] = defaultdict(list)
        for incident_id, occurrence in grouped:
            if occurrence.host not in hosts[incident_id]:
                hosts[incident_id].append(occurrence.host)
        claimed: list[DiagnosisRequest] = []
        for incident_id, names in hosts.items():
            for host in self._tx.claim_diagnoses(incident_id, names, now):
                claimed.append(DiagnosisRequest(incident_id, host, self._services[incident_id]))
                self._tx.add_event(
                    incident_id,
                    TimelineEvent(now, "diagnosis", f"diagnosis requested on {escape(host)}"),
                )
        return claimed


# -- lifecycle ---------------------------------------------------------------------------


def learn_signature(*, store: Store, incident_id: int, signature: str, now: datetime) -> int:
    """Diagnosis named the crash: re-key the incident, unless another open incident of the
    service already has that signature, which is then linked as related (never merged
    blindly). Returns the incident that holds the signature."""
    with store.transaction() as tx:
        incident = _require(tx, incident_id)
        if incident.signature == signature:
            return incident_id
        holder = next(
            (
                i
                for i in tx.open_incidents(incident.service)
                if i.signature == signature and i.id != incident_id
            ),
            None,
        )
        if holder is not None:
            if holder.id not in incident.related:
                tx.link_related(incident_id, holder.id)
            tx.add_event(
                incident_id,
                TimelineEvent(now, "related",
                              f"same crash as incident {holder.id} ({escape(signature)})"),
            )
            return holder.id
        tx.set_signature(incident_id, signature)
        what = f"crash signature {escape(signature)}"
        if incident.signature:
            what += f" (was {escape(incident.signature)})"
        tx.add_event(incident_id, TimelineEvent(now, "signature", what, source="diagnose"))
        return incident_id


def record_report(
    *, store: Store, incident_id: int, host: str, report_json: str, now: datetime
) -> None:
    """Keep the decoded report from `host` with the incident (shown by `segbot incident ID`)."""
    with store.transaction() as tx:
        _require(tx, incident_id)
        tx.add_report(incident_id, host, report_json, now)
        tx.add_event(incident_id,
                     TimelineEvent(now, "report", f"decoded report from {escape(host)}"))


def record_event(*, store: Store, incident_id: int, event: TimelineEvent) -> None:
    with store.transaction() as tx:
        _require(tx, incident_id)
        tx.add_event(incident_id, event)


def change_status(
    *, store: Store, incident_id: int, status: Status, actor: str, now: datetime
) -> bool:
    """Move an incident to `status`; False (and nothing recorded) if that move is not allowed."""
    with store.transaction() as tx:
        incident = _require(tx, incident_id)
        if not can_change(incident.status, status):
            return False
        tx.set_status(incident_id, status, now)
        tx.add_event(
            incident_id,
            TimelineEvent(now, "status", f"{incident.status} -> {status}", actor=actor),
        )
        tx.audit(at=now, actor=actor, action="status", subject=str(incident_id), detail=status)
    return True


def assign_role(
    *, store: Store, incident_id: int, role: Role, who: str, actor: str, now: datetime
) -> None:
    with store.transaction() as tx:
        _require(tx, incident_id)
        tx.set_role(incident_id, role, who)
        tx.add_event(incident_id, TimelineEvent(now, "role", f"{role}: {who}", actor=actor))
        tx.audit(
            at=now,
            actor=actor,
            action="assign_role",
            subject=str(incident_id),
            detail=f"{role}={who}",
        )


def _require(tx: StoreTx, incident_id: int) -> Incident:
    from bot.errors import UsageError

    incident = tx.incident(incident_id)
    if incident is None:
        raise UsageError(f"no incident {incident_id}")
    return incident


# -- decoding alert messages -------------------------------------------------------------

MessageDecoder = Callable[[str, str, datetime], CrashFacts | None]


def message_decoder() -> MessageDecoder:
    """Decode the kernel or journal line an alert carries (bot.domain.decode)."""

    # Alertmanager re-sends the same alert and templated annotations repeat: decode each
    # distinct (message, host) once a day. `now` only places year-less timestamps, so the
    # end of the current day serves for all of it.
    @lru_cache(maxsize=4096)
    def cached(message: str, host: str, day_end: datetime) -> CrashFacts | None:
        try:
            crash, signature = decode_message(message, now=day_end, host=host)
        except Exception:  # a decoder bug must not cost us the alert: keep it undecoded
            return None
        if crash is None and signature is None:
            return None
        return CrashFacts(
            signature=signature,
            pid=crash.pid if crash else None,
            signal=crash.signal if crash else None,
            executable=crash.executable if crash else None,
            build_id=crash.build_id if crash else None,
            time=crash.time if crash else None,
        )

    def decode(message: str, host: str, now: datetime) -> CrashFacts | None:
        return cached(message, host, now.replace(hour=23, minute=59, second=59, microsecond=0))

    return decode


def enrich(occurrence: Occurrence, decoder: MessageDecoder, now: datetime) -> Occurrence:
    """The occurrence completed by what its message decodes to (if it carries one)."""
    if not occurrence.message:
        return occurrence
    facts = decoder(occurrence.message, occurrence.host, now)
    return occurrence if facts is None else occurrence.with_crash(facts)

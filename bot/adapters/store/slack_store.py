"""The SlackStore port on SQLAlchemy: incident places and proposals (compare-and-set claims)."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Engine, exc, select, update
from sqlalchemy.orm import Session

from bot.adapters.store.action_tables import ContainmentActionRow
from bot.adapters.store.engine import in_transaction
from bot.adapters.store.slack_tables import SlackEvidenceRow, SlackPlaceRow, SlackProposalRow
from bot.app.ports.slack import Place, Proposal, ProposalState, Stuck

_P = SlackProposalRow.__table__  # type: ignore[attr-defined]
_L = SlackPlaceRow.__table__  # type: ignore[attr-defined]
_E = SlackEvidenceRow.__table__  # type: ignore[attr-defined]


class SqlSlackStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _tx(self) -> AbstractContextManager[Session]:
        return in_transaction(self.engine)

    def place(self, incident_id: int) -> Place | None:
        with self._tx() as s:
            row = s.get(SlackPlaceRow, incident_id)
            return None if row is None else _place(row)

    def place_for_channel(self, channel: str) -> Place | None:
        with self._tx() as s:
            row = s.execute(
                select(SlackPlaceRow).where(_L.c.channel == channel, _L.c.dedicated.is_(True))
            ).scalars().first()
            return None if row is None else _place(row)

    def place_for_thread(self, channel: str, thread_ts: str) -> Place | None:
        with self._tx() as s:
            row = s.execute(
                select(SlackPlaceRow).where(_L.c.channel == channel, _L.c.dedicated.is_(False),
                                            _L.c.report_ts == thread_ts)
            ).scalars().first()
            return None if row is None else _place(row)

    def add_place(self, place: Place, at: datetime) -> bool:
        try:
            with self._tx() as s:
                if s.get(SlackPlaceRow, place.incident_id) is not None:
                    return False
                s.add(SlackPlaceRow(incident_id=place.incident_id, channel=place.channel,
                                    dedicated=place.dedicated, report_ts=place.report_ts,
                                    created_at=at))
        except exc.IntegrityError:  # raced with another writer: theirs stands
            return False
        return True

    def set_report_ts(self, incident_id: int, ts: str) -> None:
        with self._tx() as s:
            s.execute(update(_L).where(_L.c.incident_id == incident_id).values(report_ts=ts))

    def places(self) -> list[Place]:
        with self._tx() as s:
            rows = s.execute(select(SlackPlaceRow).order_by(_L.c.incident_id)).scalars()
            return [_place(r) for r in rows]

    def add_proposal(self, proposal: Proposal) -> None:
        with self._tx() as s:
            s.add(SlackProposalRow(
                id=proposal.id, incident_id=proposal.incident_id, action=proposal.action,
                target=json.dumps(dict(proposal.target), sort_keys=True), state=proposal.state,
                created_at=proposal.created_at, expires_at=proposal.expires_at,
                decided_by=proposal.decided_by, decided_at=proposal.decided_at,
                outcome=proposal.outcome))

    def proposal(self, proposal_id: str) -> Proposal | None:
        with self._tx() as s:
            row = s.get(SlackProposalRow, proposal_id)
            return None if row is None else _proposal(row)

    def proposals(self, incident_id: int) -> list[Proposal]:
        with self._tx() as s:
            rows = s.execute(
                select(SlackProposalRow)
                .where(_P.c.incident_id == incident_id)
                .order_by(_P.c.created_at, _P.c.id)
            ).scalars()
            return [_proposal(r) for r in rows]

    def claim_proposal(self, proposal_id: str, *, by: str, at: datetime) -> bool:
        # One UPDATE ... WHERE state = 'open': the database decides which click wins.
        with self._tx() as s:
            result = s.execute(
                update(_P)
                .where(_P.c.id == proposal_id, _P.c.state == "open", _P.c.expires_at > at)
                .values(state="executing", decided_by=by[:64], decided_at=at)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def finish_proposal(
        self, proposal_id: str, *, state: ProposalState, outcome: str, at: datetime
    ) -> None:
        with self._tx() as s:
            s.execute(update(_P).where(_P.c.id == proposal_id, _P.c.state == "executing")
                      .values(state=state, outcome=outcome))

    def reopen_unstarted(self, *, before: datetime) -> list[Proposal]:
        # Clicked before `before` and never started (no intent written): the process that
        # took the click died first. Reopening is safe: the intent's compare-and-set on the
        # proposal id still lets one execution at most begin.
        started = select(ContainmentActionRow.__table__.c.id)  # type: ignore[attr-defined]
        with self._tx() as s:
            rows = s.execute(select(SlackProposalRow).where(
                _P.c.state == "executing", _P.c.decided_at < before,
                _P.c.id.not_in(started))).scalars().all()
            reopened = []
            for row in rows:
                moved = s.execute(update(_P).where(_P.c.id == row.id, _P.c.state == "executing")
                                  .values(state="open", decided_by=None, decided_at=None))
                if moved.rowcount == 1:  # type: ignore[attr-defined]
                    reopened.append(_proposal(row))
            return reopened

    def stuck_proposals(self, *, before: datetime) -> list[Stuck]:
        a = ContainmentActionRow.__table__.c  # type: ignore[attr-defined]
        with self._tx() as s:
            rows = s.execute(
                select(SlackProposalRow, a.state, a.detail)
                .join(ContainmentActionRow, a.id == _P.c.id)
                .where(_P.c.state == "executing", a.state != "executing",
                       a.finished_at < before)).all()
            return [Stuck(_proposal(r[0]), r[1], r[2] or "") for r in rows]

    def close_proposals(self, incident_id: int, *, state: ProposalState, at: datetime) -> int:
        with self._tx() as s:
            result = s.execute(
                update(_P)
                .where(_P.c.incident_id == incident_id, _P.c.state == "open")
                .values(state=state, decided_at=at)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def add_evidence(self, incident_id: int, *, host: str, command: str, output: str,
                     at: datetime) -> None:
        with self._tx() as s:
            s.add(SlackEvidenceRow(incident_id=incident_id, host=host, command=command,
                                   output=output, at=at))

    def evidence(self, incident_id: int) -> list[tuple[str, str, str]]:
        with self._tx() as s:
            rows = s.execute(select(_E.c.host, _E.c.command, _E.c.output)
                             .where(_E.c.incident_id == incident_id).order_by(_E.c.id))
            return [(r[0], r[1], r[2]) for r in rows]


def _place(row: SlackPlaceRow) -> Place:
    return Place(incident_id=row.incident_id, channel=row.channel, dedicated=row.dedicated,
                 report_ts=row.report_ts)


def _proposal(row: SlackProposalRow) -> Proposal:
    target = json.loads(row.target)
    return Proposal(
        id=row.id, incident_id=row.incident_id, action=row.action,
        target={str(k): str(v) for k, v in target.items()},
        state=row.state,  # type: ignore[arg-type]
        created_at=row.created_at, expires_at=row.expires_at, decided_by=row.decided_by,
        decided_at=row.decided_at, outcome=row.outcome)

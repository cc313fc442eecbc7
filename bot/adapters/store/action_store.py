"""The ActionStore port on SQLAlchemy: the intent is an INSERT keyed by the action id (one
writer wins), every later move an UPDATE ... WHERE state = 'executing' (compare-and-set); a
two-person approval is an ask that expires and is deleted by the one click it approves."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Engine, delete, exc, func, or_, select, update
from sqlalchemy.orm import Session

from bot.adapters.store.action_tables import ActionApprovalRow, ContainmentActionRow
from bot.adapters.store.engine import in_transaction
from bot.adapters.store.tables import OccurrenceRow
from bot.domain.containment import ActionRecord, ActionState

_A = ContainmentActionRow.__table__  # type: ignore[attr-defined]
_O = OccurrenceRow.__table__  # type: ignore[attr-defined]
_AP = ActionApprovalRow.__table__  # type: ignore[attr-defined]


class SqlActionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _tx(self) -> AbstractContextManager[Session]:
        return in_transaction(self.engine)

    def begin(self, record: ActionRecord) -> bool:
        """Write the intent (state executing); False if this action id was ever written."""
        try:
            with self._tx() as s:
                if s.get(ContainmentActionRow, record.id) is not None:
                    return False
                s.add(ContainmentActionRow(
                    id=record.id, incident_id=record.incident_id, action=record.action,
                    target=json.dumps(dict(record.target), sort_keys=True),
                    requested_by=record.requested_by[:64], state="executing",
                    detail=record.detail, created_at=record.created_at))
        except exc.IntegrityError:
            return False
        return True

    def get(self, action_id: str) -> ActionRecord | None:
        with self._tx() as s:
            row = s.get(ContainmentActionRow, action_id)
            return None if row is None else _record(row)

    def finish(self, action_id: str, *, state: ActionState, detail: str, at: datetime,
               verify_at: datetime | None = None) -> bool:
        """executing -> state; False when it was no longer executing (someone else decided)."""
        with self._tx() as s:
            result = s.execute(
                update(_A).where(_A.c.id == action_id, _A.c.state == "executing")
                .values(state=state, detail=detail, finished_at=at, verify_at=verify_at))
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def executing(self) -> list[ActionRecord]:
        with self._tx() as s:
            rows = s.execute(select(ContainmentActionRow).where(_A.c.state == "executing")
                             .order_by(_A.c.created_at)).scalars()
            return [_record(r) for r in rows]

    def due(self, now: datetime) -> list[ActionRecord]:
        with self._tx() as s:
            rows = s.execute(select(ContainmentActionRow).where(
                _A.c.verify_at.is_not(None), _A.c.verify_at <= now, _A.c.verdict.is_(None))
                .order_by(_A.c.verify_at)).scalars()
            return [_record(r) for r in rows]

    def set_verdict(self, action_id: str, verdict: str) -> bool:
        """Once per action: False when a verdict was already written."""
        with self._tx() as s:
            result = s.execute(update(_A).where(_A.c.id == action_id, _A.c.verdict.is_(None))
                               .values(verdict=verdict))
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def occurrences(self, *, incident_id: int, signature: str | None, since: datetime,
                    until: datetime) -> int:
        """Crashes the store has seen in (since, until]: the incident's own, and any with its
        signature."""
        owner = _O.c.incident_id == incident_id
        if signature:
            owner = or_(owner, _O.c.signature == signature)
        with self._tx() as s:
            return int(s.execute(select(func.count()).select_from(_O).where(
                owner, _O.c.time > since, _O.c.time <= until)).scalar() or 0)

    def ask_approval(self, key: str, *, by: str, at: datetime, fresh_after: datetime) -> bool:
        """`by` asks for a two-person action: an ask older than `fresh_after` is replaced, a
        fresh one stays. False when a fresh ask was already there."""
        with self._tx() as s:
            s.execute(delete(_AP).where(_AP.c.proposal_id == key,
                                        _AP.c.requested_at <= fresh_after))
        try:
            with self._tx() as s:
                if s.get(ActionApprovalRow, key) is not None:
                    return False
                s.add(ActionApprovalRow(proposal_id=key, requested_by=by[:64],
                                        requested_at=at))
        except exc.IntegrityError:
            return False
        return True

    def approval(self, key: str) -> tuple[str, datetime] | None:
        with self._tx() as s:
            row = s.get(ActionApprovalRow, key)
            return None if row is None else (row.requested_by, row.requested_at)

    def take_approval(self, key: str, *, by: str, fresh_after: datetime) -> str | None:
        """Consume a fresh ask by someone other than `by` (delete it, once, whoever races):
        who asked, or None when there is no such ask."""
        asked = self.approval(key)
        if asked is None or asked[0] == by[:64]:
            return None
        with self._tx() as s:
            result = s.execute(delete(_AP).where(
                _AP.c.proposal_id == key, _AP.c.requested_by == asked[0],
                _AP.c.requested_at > fresh_after))
            return asked[0] if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _record(row: ContainmentActionRow) -> ActionRecord:
    target = json.loads(row.target)
    return ActionRecord(
        id=row.id, incident_id=row.incident_id, action=row.action,
        target={str(k): str(v) for k, v in target.items()}, requested_by=row.requested_by,
        state=row.state,  # type: ignore[arg-type]
        created_at=row.created_at, detail=row.detail, finished_at=row.finished_at,
        verify_at=row.verify_at, verdict=row.verdict)

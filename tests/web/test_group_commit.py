"""Group commit: many requests, one transaction; a failing request does not take the others
down; every request gets its own result, and only after its group's work returned."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import pytest

from bot.adapters.web.group_commit import GroupCommitter


def test_requests_waiting_together_share_one_commit() -> None:
    entered, release = threading.Event(), threading.Event()
    groups: list[list[int]] = []

    def work(items: Sequence[int]) -> list[int]:
        if not groups:
            entered.set()
            release.wait(5)  # hold the first group so the others queue up behind it
        groups.append(list(items))
        return [i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(work)
    committer.start()
    first = committer.submit(0)
    assert entered.wait(5)
    waiting = [committer.submit(i) for i in range(1, 21)]
    release.set()
    assert first.result(5) == 0
    assert [f.result(5) for f in waiting] == [i * 10 for i in range(1, 21)]
    committer.stop()
    assert groups[0] == [0] and groups[1] == list(range(1, 21))


def test_a_failing_request_is_retried_alone() -> None:
    def work(items: Sequence[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky")
        return list(items)

    committer: GroupCommitter[int, int] = GroupCommitter(work, linger=0.05)
    committer.start()
    futures: list[Future[int]] = [committer.submit(i) for i in (12, 13, 14)]
    assert futures[0].result(5) == 12 and futures[2].result(5) == 14
    with pytest.raises(ValueError, match="unlucky"):
        futures[1].result(5)
    committer.stop()


def test_stopped_committer_refuses() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(list)
    committer.start()
    committer.stop()
    with pytest.raises(RuntimeError):
        committer.submit(1).result(1)


def test_waiters_on_an_event_loop_get_their_own_results_and_errors() -> None:
    entered, release = threading.Event(), threading.Event()

    def work(items: Sequence[int]) -> list[int]:
        entered.set()
        release.wait(5)
        if 13 in items:
            raise ValueError("unlucky")
        return [i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(work)
    committer.start()

    async def storm() -> list[int | str]:
        first = committer.submit_async(0)
        await asyncio.to_thread(entered.wait, 5)
        waiting = [committer.submit_async(i) for i in range(1, 21)]
        release.set()
        outcomes = await asyncio.gather(first, *waiting, return_exceptions=True)
        return [o if isinstance(o, int) else str(o) for o in outcomes]

    outcomes = asyncio.run(storm())
    committer.stop()
    assert outcomes == [i * 10 if i != 13 else "unlucky" for i in range(21)]

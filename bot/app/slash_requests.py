"""`/segfault` requests kept from their ack to their answer: each is stored and claimed before
it is acknowledged, run under its lease, and finished once answered; a replica finding one
whose holder died (its lease lapsed unfinished) runs it again and answers the person.

A replay is the same command with the same request id and received time: what it records is
recorded once (bot.app.occurrences.request_diagnosis), what it starts is claimed once (the
diagnoses' leases), and the answer is sent under the request's fence. Slack offers no way to
read a response_url's answers back, so an answer sent in the instant before its replica died,
before the fence's transaction committed, is sent again by the replica taking over."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.claims import Lease, Replica, slash_key
from bot.app.ports.slack import Reply
from bot.app.ports.slash import SlashRequest, SlashRequests
from bot.app.slash_commands import SlashCommands
from bot.app.slash_grammar import Command
from bot.domain.redact import redact
from bot.domain.report import DecodedReport
from bot.errors import SegbotError, StaleLease, StoreError

log = logging.getLogger("segbot.slack.slash")
RESPONSE_URL_LIFE = timedelta(minutes=30)  # Slack's: older requests cannot be answered there


@dataclass(frozen=True)
class Received:
    """A stored request and its lease, held from before the ack."""

    request: SlashRequest
    lease: Lease


class FencedReply:
    """The answer to a stored request, sent under its lease's fence and finishing it in the
    same transaction: a holder whose lease was taken over meanwhile does not answer (the
    replica that took it over does), and a finished request is never answered again."""

    def __init__(self, reply: Reply, *, replica: Replica, lease: Lease) -> None:
        self.reply, self.replica, self.lease = reply, replica, lease
        self.sent = False

    def text(self, text: str) -> None:
        with self.replica.fenced(self.lease, finish=True):
            self.reply.text(text)
        self.sent = True

    def decoded(self, report: DecodedReport) -> None:
        with self.replica.fenced(self.lease, finish=True):
            self.reply.decoded(report)
        self.sent = True


class SlashIntake:
    """Stores `/segfault` before the ack, runs it under its claim, takes over the dead's."""

    def __init__(self, *, commands: SlashCommands, requests: SlashRequests, replica: Replica,
                 reply_to: Callable[[SlashRequest], Reply], clock: Callable[[], datetime],
                 new_id: Callable[[], str] = lambda: secrets.token_urlsafe(18)) -> None:
        self.commands, self.requests, self.replica = commands, requests, replica
        self.reply_to, self.clock, self.new_id = reply_to, clock, new_id
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segbot-slash")

    def receive(self, *, text: str, user: str, channel: str,
                response_url: str | None) -> Received:
        """Stored and claimed by this replica, renewed from now on (call before the ack);
        raises StoreError when the database cannot take it (then do not ack it as taken)."""
        # Kept redacted, as everything segbot stores: a pasted log may carry a secret.
        request = SlashRequest(id=self.new_id(), at=self.clock(), user=user, channel=channel,
                               text=redact(text), response_url=response_url)
        lease = self.requests.receive(request, holder=self.replica.holder,
                                      ttl=self.replica.ttl)
        self.replica.heartbeat.hold(lease)
        return Received(request, lease)

    def run(self, received: Received, command: Command, reply: Reply) -> None:
        """The work after the ack, under the request's claim; the answer is sent under its
        fence and finishes it. When the store went away, or a claim the work needed was taken
        over, it is left unanswered to a replay, which records it once and answers."""
        request, lease = received.request, received.lease
        answer = FencedReply(reply, replica=self.replica, lease=lease)
        try:
            self.commands.run(command, user=request.user, channel=request.channel,
                              reply=answer, request_id=request.id, at=request.at)
        except StoreError as error:
            self.replica.heartbeat.drop(lease.key)
            if answer.sent:
                raise
            log.warning("/segfault %s left to a replay: %s", request.id[:8], error)
            self._release(lease)
            return
        except BaseException:
            self.replica.heartbeat.drop(lease.key)
            if not answer.sent:  # told by the error handler: not run again
                self._finish(lease)
            raise
        self.replica.heartbeat.drop(lease.key)
        if not answer.sent:
            self._finish(lease)

    def take_over(self) -> int:
        """Run again, in the background, each request a dead replica acknowledged and never
        answered; how many this replica took."""
        taken, replica = 0, self.replica
        since = self.clock() - RESPONSE_URL_LIFE
        for request in self.requests.orphaned(holder=replica.holder, since=since):
            key = slash_key(request.id)
            if replica.heartbeat.holds(key) is not None:
                continue  # this process runs it (its lease lapsed while the store was away)
            lease = replica.leases.claim(key, holder=replica.holder, ttl=replica.ttl)
            if lease is None:
                continue  # another replica took it first
            replica.heartbeat.hold(lease)
            log.info("taking over /segfault %s from %s (its replica stopped before answering)",
                     request.id[:8], request.user)
            self._pool.submit(self._replay, request, lease)
            taken += 1
        return taken

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _replay(self, request: SlashRequest, lease: Lease) -> None:
        reply = self.reply_to(request)
        try:
            self.run(Received(request, lease), self.commands.parse(request.text), reply)
        except Exception as error:  # told as the error handler tells a live request's
            error_id = secrets.token_hex(4)
            log.warning("/segfault %s failed after a takeover, error id %s: %s",
                        request.id[:8], error_id, error,
                        exc_info=not isinstance(error, SegbotError))
            reason = str(error) if isinstance(error, SegbotError) else "an internal error"
            try:
                reply.text(f":warning: segbot could not do that: {reason[:300]} "
                           f"(error id `{error_id}`; the bot's log has the details).")
            except SegbotError as failure:
                log.warning("error id %s not shown to the user: %s", error_id, failure)

    def _release(self, lease: Lease) -> None:
        try:
            self.replica.leases.release(lease)
        except SegbotError as error:  # it lapses by itself
            log.warning("/segfault lease %s not released: %s", lease.key, error)

    def _finish(self, lease: Lease) -> None:
        try:
            self.replica.leases.finish(lease)
        except StaleLease:  # a replica that took it over answers it
            log.warning("/segfault lease %s was taken over before it was finished", lease.key)
        except SegbotError as error:  # the store is away: the lease lapses, a replay answers
            log.warning("/segfault lease %s not finished: %s", lease.key, error)

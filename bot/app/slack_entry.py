"""The ways in besides typing `/segfault HOST SERVICE`: the diagnose form (modal and global
shortcut), "Decode crash" on a pasted message, and the App Home tab. Each goes through the same
grammar and the same authorization as the slash command."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.digest import compose_digest
from bot.app.ports.slack import Chat, Reply, SlackStore
from bot.app.ports.store import Store
from bot.app.proposals import authorize
from bot.app.slack_flows import SlackPolicy
from bot.app.slash_commands import SlashCommands, diagnose_rules, first_answer
from bot.app.slash_grammar import Diagnose
from bot.app.timeline_capture import add_note
from bot.domain.decode import decode_text
from bot.domain.incident import Incident
from bot.domain.report import DecodedReport

HOME_WINDOW = timedelta(days=7)
MAX_PASTE = 200_000  # characters of a message and its text file decoded


@dataclass(frozen=True)
class Pasted:
    """A message decoded for the person who asked, and where an incident could be opened."""

    report: DecodedReport
    service: str | None
    host: str | None


@dataclass(frozen=True)
class HomeView:
    """The App Home tab: what is open now and what crashed most this week."""

    open: tuple[tuple[Incident, str | None], ...]  # each open incident and its channel
    top: tuple[tuple[str, int], ...]
    now: datetime
    allowed: bool  # the viewer may see incidents outside their channels (may diagnose)


class SlackEntry:
    """The form, the message shortcut and the Home tab, with what they use."""

    def __init__(self, *, commands: SlashCommands, store: Store, slack_store: SlackStore,
                 chat: Chat, policy: SlackPolicy, clock: Callable[[], datetime]) -> None:
        self.commands, self.store, self.slack_store, self.chat = (commands, store, slack_store,
                                                                  chat)
        self.policy, self.clock = policy, clock

    @property
    def services(self) -> Mapping[str, tuple[str, ...]]:
        """Each configured service and its inventory hosts (the form's pick lists)."""
        return self.policy.services

    def may_diagnose(self, user: str) -> bool:
        return authorize(user=user, action="diagnose",
                         rules=diagnose_rules(self.policy.authorization), chat=self.chat).allowed

    def diagnose_from_form(self, *, service: str, host: str, note: str, user: str,
                           channel: str | None, reply: Reply) -> None:
        """The form's answer, run as `/segfault HOST SERVICE` typed by `user` (same grammar, same
        rule, same audit); the note joins the incident's timeline when it was allowed."""
        command = self.commands.parse(f"{host} {service}")
        if not isinstance(command, Diagnose):
            reply.text(first_answer(command) or "Sorry: that is not a host of that service.")
            return
        allowed = self.may_diagnose(user)
        self.commands.run(command, user=user, channel=channel or "", reply=reply)
        if allowed and note.strip():
            with self.store.transaction() as tx:
                open_now = tx.open_incidents(service)
            if open_now:
                newest = max(open_now, key=lambda o: o.id)
                add_note(store=self.store, incident_id=newest.id, user=user,
                         text=note.strip(), now=self.clock())

    def decode_pasted(self, text: str) -> Pasted:
        report = decode_text(text[:MAX_PASTE], now=self.clock())
        crash = report.primary
        host = crash.host if crash is not None else None
        service = None
        if host:
            owners = [s for s, hosts in self.policy.services.items() if host in hosts]
            named = [s for s in owners if crash is not None and s in {
                crash.process, crash.module, (crash.unit or "").removesuffix(".service")}]
            service = (named or owners)[0] if len(named) == 1 or len(owners) == 1 else None
        return Pasted(report, service, host if service else None)

    def home_view(self, *, user: str) -> HomeView:
        now = self.clock()
        if not self.may_diagnose(user):  # as /segfault status outside an incident's channel
            return HomeView((), (), now, False)
        digest = compose_digest(self.store.list_incidents(limit=500), now=now, window=HOME_WINDOW)
        places = {p.incident_id: p for p in self.slack_store.places()}
        shown = tuple((i, places[i.id].channel if i.id in places else None)
                      for i in sorted(digest.open, key=lambda i: i.last_seen, reverse=True)[:20])
        return HomeView(shown, digest.top, now, True)

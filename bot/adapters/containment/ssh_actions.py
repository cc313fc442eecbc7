"""The SSH side of containment: the restart delay drop-in (through the host helper
restart-delay, values shown before and after with `systemctl show`), its revert, a rollback
command template run on each of the service's hosts, and counting new cores for verification.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.app.ports.hosts import CommandRunner
from bot.config import Config
from bot.domain.containment import (
    SHOWN,
    Outcome,
    TemplateError,
    changed_text,
    core_capture_off,
    parse_show,
    render,
    show_text,
)
from bot.domain.verification import (
    HostCount,
    ask_for_the_table,
    crash_count_command,
    read_crash_count,
)
from bot.errors import SegbotError

Connect = Callable[[str], CommandRunner]


class SshActions:
    def __init__(self, config: Config, connect: Connect) -> None:
        self.config, self.connect = config, connect

    def _sudo(self, host: str) -> str:
        target = self.config.target(host)
        return "sudo -n " if target.sudo and target.user != "root" else ""

    def _hosts(self, service: str, target: Mapping[str, str]) -> list[str]:
        hosts = self.config.service_hosts(service)
        wanted = target.get("host")
        if wanted:
            if wanted not in hosts:
                raise SegbotError(f"{wanted} is not a configured host of {service}")
            return [wanted]
        return hosts

    @staticmethod
    def _show(runner: CommandRunner, unit: str) -> dict[str, str]:
        props = " ".join(f"-p {p}" for p in SHOWN)
        result = runner.run(f"systemctl show {shlex.quote(unit)} {props}", timeout=20)
        return parse_show(result.stdout) if result.exit_status == 0 else {}

    def show(self, service: str, target: Mapping[str, str]) -> str:
        unit = self.config.services[service].unit
        parts = []
        for host in self._hosts(service, target):
            runner = self.connect(host)
            try:
                parts.append(f"{host}: {show_text(self._show(runner, unit))}")
            finally:
                runner.close()
        return "; ".join(parts)

    def restart_delay(self, service: str, target: Mapping[str, str], *, clear: bool) -> Outcome:
        entry = self.config.services[service]
        spec = entry.actions.restart_delay
        if spec is None:
            return Outcome("failed", "restart_delay is not configured")
        unit = shlex.quote(entry.unit)
        texts, states = [], []
        observed: dict[str, str] = {}
        for host in self._hosts(service, target):
            sudo = self._sudo(host)
            try:
                runner = self.connect(host)
            except SegbotError as error:
                texts.append(f"{host}: not connected ({error})")
                states.append("failed")
                continue
            try:
                before = self._show(runner, entry.unit)
                # Cores are evidence: a unit found with LimitCORE=0 gets LimitCORE=infinity too.
                core = " core" if not clear and core_capture_off(before) else ""
                steps = ([f"{sudo}{spec.helper} clear {unit}"] if clear
                         else [f"{sudo}{spec.helper} set {unit} {spec.seconds}{core}"])
                steps.append(f"{sudo}systemctl daemon-reload")
                if spec.restart and not clear:
                    steps += [f"{sudo}systemctl reset-failed {unit}",
                              f"{sudo}systemctl restart {unit}"]
                try:
                    result = runner.run(" && ".join(steps), timeout=60)
                except SegbotError as error:
                    texts.append(f"{host}: connection lost while changing it ({error})")
                    states.append("unknown")
                    continue
                after = self._show(runner, entry.unit)
            finally:
                runner.close()
            change = changed_text(before, after)
            if after:  # what the report shows from now on (bot.domain.conclude)
                observed[host] = "\n".join(
                    f"{k}={v}" for k, v in {"Id": entry.unit, **after}.items())
            if result.exit_status != 0:
                states.append("failed")
                why = " ".join((result.stderr or result.stdout).split())[:200]
                texts.append(f"{host}: exit {result.exit_status}: {why} ({change})")
                continue
            states.append("succeeded")
            note = ""
            if core_capture_off(after) and not clear:
                note = (" — core capture is still off (LimitCORE=0): the unit needs "
                        "LimitCORE=infinity")
            texts.append(f"{host}: {change}{note}")
        text = "; ".join(texts) or "no host"
        if states and all(s == "succeeded" for s in states):
            return Outcome("succeeded", text, after=observed)
        return Outcome("unknown" if "unknown" in states else "failed", text, after=observed)

    def command(self, service: str, template: str, values: Mapping[str, str],
                timeout: float) -> Outcome:
        """A command template (values shell-quoted) on each of the service's hosts, in order;
        stops at the first host where it fails."""
        entry = self.config.services[service]
        texts: list[str] = []
        for host in self.config.service_hosts(service):
            filled = {**values, "host": host, "unit": entry.unit, "service": service}
            try:
                command = render(template, filled, quote=shlex.quote)
            except TemplateError as error:
                return Outcome("failed", f"not run: {error}")
            try:
                runner = self.connect(host)
            except SegbotError as error:
                return Outcome("failed", "; ".join([*texts, f"{host}: not connected ({error})"]))
            try:
                result = runner.run(command, timeout=timeout)
            except SegbotError as error:
                return Outcome("unknown", "; ".join(
                    [*texts, f"{host}: connection lost while running it ({error})"]))
            finally:
                runner.close()
            if result.timed_out:
                return Outcome("unknown", "; ".join([*texts, f"{host}: timed out"]))
            if result.exit_status != 0:
                why = " ".join((result.stderr or result.stdout).split())[:200]
                return Outcome("failed", "; ".join(
                    [*texts, f"{host}: exit {result.exit_status}: {why}"]))
            texts.append(f"{host}: done")
        return Outcome("succeeded", "; ".join(texts) or "no host")

    def crashes_since(self, service: str, since: datetime) -> tuple[HostCount, ...]:
        """New cores of the service's binary on each of its hosts since `since`; a host where
        they could not be counted says why (never a silent zero)."""
        entry = self.config.services[service]
        stamp = str(int(since.timestamp()))
        counts: list[HostCount] = []
        for host in self.config.service_hosts(service):
            try:
                runner = self.connect(host)
            except SegbotError as error:
                counts.append(HostCount(host, None, f"not connected ({error})"))
                continue
            try:
                command = crash_count_command(entry.binary, stamp)
                result = runner.run(f"{self._sudo(host)}{command}", timeout=30)
                if ask_for_the_table(result.exit_status, result.stderr):
                    command = crash_count_command(entry.binary, stamp, precise=False)
                    result = runner.run(f"{self._sudo(host)}{command}", timeout=30)
            except SegbotError as error:
                counts.append(HostCount(host, None, f"connection lost ({error})"))
                continue
            finally:
                runner.close()
            if result.timed_out:
                counts.append(HostCount(host, None, "timed out"))
                continue
            counts.append(read_crash_count(host, exit_status=result.exit_status,
                                           stdout=result.stdout, stderr=result.stderr,
                                           since=since))
        return tuple(counts)

"""The Executor port from the config: each service's actions section decides how an action is
carried out (HTTP call, SSH command, the restart-delay helper, the diagnose evidence path)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.containment.http_call import call, read_value
from bot.adapters.containment.ssh_actions import Connect, SshActions
from bot.app.diagnose import Limits, diagnose_host
from bot.app.diagnosis_feed import DiagnosisSetup
from bot.config import Config
from bot.domain.containment import Outcome
from bot.domain.verification import HostCount

PRESERVE_STEPS = ("cores", "core_dir", "dump_core", "core_sha256", "fetch_core")


class ConfiguredExecutor:
    def __init__(self, config: Config, *, environ: Mapping[str, str], connect: Connect,
                 diagnosis: DiagnosisSetup | None = None) -> None:
        self.config, self.environ, self.diagnosis = config, environ, diagnosis
        self.ssh = SshActions(config, connect)

    def _actions(self, service: str):  # type: ignore[no-untyped-def]
        entry = self.config.services.get(service)
        return None if entry is None else entry.actions

    def configured(self, service: str, action: str) -> bool:
        actions = self._actions(service)
        if actions is None or not actions.executable(action):
            return False
        return action != "preserve_core" or self.diagnosis is not None

    def second_approver(self, service: str, action: str) -> bool:
        actions = self._actions(service)
        return bool(actions and actions.rollback and actions.rollback.second_approver)

    def verify_after(self, service: str) -> timedelta:
        actions = self._actions(service)
        minutes = actions.verify.after_minutes if actions is not None else 10.0
        return timedelta(minutes=minutes)

    def host_crashes(self, service: str, since: datetime) -> tuple[HostCount, ...] | None:
        actions = self._actions(service)
        if actions is None or not actions.verify.count_on_hosts:
            return None
        return self.ssh.crashes_since(service, since)

    def preview(self, action: str, target: Mapping[str, str]) -> str:
        service = target.get("service", "")
        actions = self._actions(service)
        if actions is None:
            return "not configured"
        if action == "rollback":
            return (f"running {target.get('version') or 'unknown'}, rolling back to "
                    f"{target.get('to_version') or 'the previous release'}")
        if action == "disable_flag":
            spec = actions.disable_flag
            flag = target.get("flag") or (spec.flag if spec else None) or "?"
            if spec is None or spec.read is None:
                return f"flag {flag} (its current value is not read: no `read` configured)"
            value = read_value(spec.read, {**target, "flag": flag}, environ=self.environ)
            return f"flag {flag} is {value}"
        if action in ("restart_delay", "restart_delay_revert"):
            return self.ssh.show(service, target)
        if action == "preserve_core":
            return "the newest core on the host is copied to segbot's evidence directory"
        return "unknown action"

    def run(self, action: str, target: Mapping[str, str], *, action_id: str,
            values: Mapping[str, str]) -> Outcome:
        service = target.get("service", "")
        actions = self._actions(service)
        if actions is None or not self.configured(service, action):
            return Outcome("failed", f"{action} is not configured for {service}")
        entry = self.config.services[service]
        values = {"unit": entry.unit, **values}
        if action == "rollback" and actions.rollback is not None:
            spec = actions.rollback
            if spec.command is not None:
                return self.ssh.command(service, spec.command, values, spec.timeout)
            return call(spec, values, environ=self.environ, action_id=action_id)
        if action == "disable_flag" and actions.disable_flag is not None:
            spec = actions.disable_flag
            flag = target.get("flag") or spec.flag
            if flag:
                values = {**values, "flag": flag}
            before = (read_value(spec.read, values, environ=self.environ)
                      if spec.read is not None else None)
            outcome = call(spec, values, environ=self.environ, action_id=action_id)
            if spec.read is None or outcome.state != "succeeded":
                return outcome
            # Re-read after the change: say what the flag service now holds, not what we asked.
            after = read_value(spec.read, values, environ=self.environ)
            change = (f"flag {flag or '?'} {before} -> {after}" if after != before
                      else f"flag {flag or '?'} still reads {after}")
            return dataclasses.replace(outcome, text=f"{outcome.text}; {change}")
        if action in ("restart_delay", "restart_delay_revert"):
            return self.ssh.restart_delay(service, target,
                                          clear=action == "restart_delay_revert")
        if action == "preserve_core":
            return self._preserve(service, target, values)
        return Outcome("failed", f"unknown action {action}")

    def _preserve(self, service: str, target: Mapping[str, str],
                  values: Mapping[str, str]) -> Outcome:
        setup = self.diagnosis
        assert setup is not None
        hosts = [target["host"]] if target.get("host") else self.config.service_hosts(service)
        playbook = dataclasses.replace(setup.playbook, steps=tuple(
            s for s in setup.playbook.steps if s.id in PRESERVE_STEPS))
        texts, ok = [], True
        for host in hosts:
            runner = setup.connect(host)
            evidence = Path(setup.evidence_dir) / f"incident-{values.get('incident', 'x')}"
            result = diagnose_host(runner=runner, playbook=playbook,
                                   inventory=setup.inventory(host, service),
                                   evidence_dir=evidence, now=datetime.now(UTC),
                                   limits=setup.limits if setup.limits else Limits())
            fetched = result.outcome("fetch_core")
            if fetched is not None and fetched.status == "ok" and fetched.artifact is not None:
                art = fetched.artifact
                texts.append(f"{host}: {art.path} ({art.size} bytes, sha256 {art.sha256[:16]}…"
                             f"{', verified' if fetched.verified else ''})")
            else:
                ok = False
                failed = [o for o in result.steps if o.status != "ok"]
                why = failed[0].reason if failed and failed[0].reason else "no core found"
                texts.append(f"{host}: no core copied ({why})")
        return Outcome("succeeded" if ok else "failed", "; ".join(texts) or "no host")

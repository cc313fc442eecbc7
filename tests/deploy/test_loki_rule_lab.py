"""The Loki crash rule against a real journal (a lab host's journald): promtail's relabelling
(deploy/alertmanager/promtail-journal.yml) applied to each real entry, then the rule's stream
selector, line filter and pattern. systemd's own "code=dumped" line alerts; the same text sent
with `logger` by an ordinary local user does not. Needs root and the lab."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import yaml

from tests.lab.factory import HostFactory
from tests.support.deploy_files import DEPLOY

pytestmark = pytest.mark.lab
ALERTING = DEPLOY / "alertmanager"
FORGED = "checkout-api.service: Main process exited, code=dumped, status=11/SEGV"


def _labels(entry: dict[str, Any]) -> dict[str, str]:
    """Promtail's journal target: `__journal_<field, lowercased>` for each field, the static
    labels, then relabel_configs (action replace: anchored regex, `$1` expansion)."""
    [scrape] = yaml.safe_load((ALERTING / "promtail-journal.yml").read_text())["scrape_configs"]
    meta = {f"__journal_{k.lower()}": str(v) for k, v in entry.items() if isinstance(v, str)}
    labels = dict(scrape["journal"]["labels"])
    for rule in scrape["relabel_configs"]:
        assert rule.get("action", "replace") == "replace", rule
        value = rule.get("separator", ";").join(meta.get(s, "") for s in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if match is None:
            continue
        result = match.expand(rule.get("replacement", "$1").replace("$1", r"\g<1>")
                              if match.groups() else rule.get("replacement", "$1"))
        if result:
            labels[rule["target_label"]] = result
        else:
            labels.pop(rule["target_label"], None)
    return labels


def _alerts(entry: dict[str, Any]) -> bool:
    """Whether the rule's log query selects this entry (selector, `|=` filters, regexp)."""
    [rule] = yaml.safe_load((ALERTING / "loki-rules.yml").read_text())["groups"][0]["rules"]
    expr = rule["expr"]
    selector = re.search(r"\{([^}]*)\}", expr)
    assert selector
    wanted = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', selector.group(1)))
    labels = _labels(entry)
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    line = str(entry.get("MESSAGE", ""))
    if any(text not in line for text in re.findall(r'\|= "([^"]*)"', expr)):
        return False
    pattern = re.search(r"regexp `([^`]+)`", expr)
    assert pattern
    return re.search(pattern.group(1), line) is not None


def test_a_forged_logger_line_does_not_alert(lab_host_factory: HostFactory) -> None:
    host = lab_host_factory("loki-forged")
    host.run(["useradd", "--create-home", "--shell", "/bin/sh", "mallory"], check=True)
    uid = host.run(["id", "-u", "mallory"], check=True).stdout.strip()
    host.wait_for_crashes(1)
    host.run(["su", "-s", "/bin/sh", "mallory", "-c", f"logger '{FORGED}'"], check=True)
    # logger's datagram and systemd's exit line reach the journal asynchronously: poll.
    deadline = time.monotonic() + 30
    while True:
        out = host.run(["journalctl", "--no-pager", "-o", "json", "--grep", "code=dumped"],
                       check=True).stdout
        entries = [json.loads(line) for line in out.splitlines() if line.strip()]
        # By the sender's uid, which the socket's credentials always carry: journald reads
        # _COMM from /proc, and logger may have exited by then (seen: no _COMM at all).
        forged = [e for e in entries if e.get("_UID") == uid]
        real = [e for e in entries if e.get("_PID") == "1"]
        if (forged and real) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert forged and real, entries
    assert all(_alerts(e) for e in real), [_labels(e) for e in real]
    assert not any(_alerts(e) for e in forged), [_labels(e) for e in forged]

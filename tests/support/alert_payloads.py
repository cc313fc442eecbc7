"""Alert payloads shaped exactly as their senders post them."""

from __future__ import annotations

import hashlib
from typing import Any

KERNEL_LINE = (
    "checkout-api[4242]: segfault at 0 ip 00005581d3a0c4d2 sp 00007ffd5e3f1a80 error 4 "
    "in checkout-api[5581d3a00000+1d000] likely on CPU 3 (core 3, socket 0)"
)


def am_alert(
    *, host: str = "node-17", n: int = 0, status: str = "firing",
    starts_at: str = "2026-11-26T04:40:00.123456789Z", service_label: str = "unit",
) -> dict[str, Any]:
    """One alert as Alertmanager's webhook notifier (api v4) sends it."""
    service = "checkout-api.service" if service_label == "unit" else "checkout-api"
    return {
        "status": status,
        "labels": {
            "alertname": "ServiceSegfault", "instance": f"{host}:9100", "job": "node",
            service_label: service, "severity": "page", "seq": str(n),
        },
        "annotations": {"description": KERNEL_LINE, "summary": "checkout-api crashed"},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-26T04:45:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=node_systemd_unit_state",
        "fingerprint": hashlib.sha256(f"{host}/{n}".encode()).hexdigest()[:16],
    }


def am_webhook(alerts: list[dict[str, Any]], status: str = "firing") -> dict[str, Any]:
    return {
        "receiver": "segbot",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": "ServiceSegfault"},
        "commonLabels": {"alertname": "ServiceSegfault", "job": "node"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="ServiceSegfault"}',
        "truncatedAlerts": 0,
    }


def grafana_webhook(host: str = "node-5") -> dict[str, Any]:
    """Grafana unified alerting's webhook contact point body."""
    return {
        "receiver": "segbot", "status": "firing", "orgId": 1,
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "Segfaults", "hostname": host, "service": "payments"},
            "annotations": {"message": "payments crashed"},
            "startsAt": "2026-11-26T04:40:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://grafana/alerting/grafana/abc/view",
            "fingerprint": "57c6d9296de2ad39", "silenceURL": "http://grafana/silence",
            "dashboardURL": "", "panelURL": "", "values": {"B": 3.0, "C": 1},
            "valueString": "[ var='B' labels={} value=3 ]",
        }],
        "groupLabels": {"alertname": "Segfaults"}, "commonLabels": {"alertname": "Segfaults"},
        "commonAnnotations": {}, "externalURL": "http://grafana/", "version": "1",
        "groupKey": '{}:{alertname="Segfaults"}', "truncatedAlerts": 0,
        "title": "[FIRING:1] Segfaults", "state": "alerting", "message": "**Firing**",
    }

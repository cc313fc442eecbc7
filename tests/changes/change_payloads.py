"""Documented sample payloads of every change route, as each sender posts them (trimmed to
the fields segbot reads plus a few it ignores). The "Change events" section of docs/usage.md
shows the generic one."""

from __future__ import annotations

from typing import Any

BUILD_ID = "9b7c6fd3b2a9cdb5d3d1c9e0a4f2f7aa12c0f2ab"
COMMIT = "9b7c6fd3e1a2b4c5d6e7f8091a2b3c4d5e6f7a8b"

# POST /changes/generic (Authorization: Bearer $SEGBOT_ALERT_TOKEN)
GENERIC_DEPLOY: dict[str, Any] = {
    "service": "checkout-api", "kind": "deploy", "version": "2.18.7", "commit": COMMIT,
    "build_ids": [BUILD_ID], "hosts": ["node-17", "node-18"],
    "time": "2026-01-22T02:58:44Z", "by": "deploy-bot",
    "url": "https://ci.example.org/deploys/4242", "id": "deploy-4242",
}
GENERIC_FLAG: dict[str, Any] = {
    "service": "checkout-api", "kind": "flag", "flag": "pricing_v4", "state": True,
    "time": "2026-01-22T03:05:10+00:00", "by": "alice@example.org",
}

# POST /changes/github, X-GitHub-Event: deployment_status, X-Hub-Signature-256: sha256=...
GITHUB_DEPLOYMENT_STATUS: dict[str, Any] = {
    "action": "created",
    "deployment_status": {
        "id": 1234567, "state": "success", "environment": "production",
        "created_at": "2026-01-22T02:58:44Z", "updated_at": "2026-01-22T02:58:44Z",
        "creator": {"login": "deploy-bot", "type": "Bot"},
        "target_url": "https://github.com/shop/checkout-api/actions/runs/42",
        "description": "Deployed",
    },
    "deployment": {
        "id": 98765, "sha": COMMIT, "ref": "v2.18.7", "task": "deploy",
        "environment": "production", "creator": {"login": "deploy-bot"},
        "payload": {"build_ids": [BUILD_ID], "hosts": ["node-17", "node-18"]},
        "created_at": "2026-01-22T02:57:01Z",
    },
    "repository": {"id": 1, "name": "checkout-api", "full_name": "shop/checkout-api"},
    "sender": {"login": "deploy-bot"},
}

# POST /changes/argocd: a notifications webhook service whose template body is
# '{"app": {{toJson .app}}}' (trimmed here to what segbot reads)
ARGOCD_SYNC: dict[str, Any] = {"app": {
    "metadata": {"name": "checkout-api-prod", "namespace": "argocd",
                 "labels": {"app.kubernetes.io/name": "checkout-api"},
                 "annotations": {"segbot.io/build-ids": BUILD_ID}},
    "spec": {"source": {"repoURL": "https://github.com/shop/deploy.git"}},
    "status": {
        "sync": {"status": "Synced", "revision": COMMIT},
        "health": {"status": "Healthy"},
        "operationState": {"phase": "Succeeded", "startedAt": "2026-01-22T02:58:01Z",
                           "finishedAt": "2026-01-22T02:58:44Z",
                           "operation": {"initiatedBy": {"username": "deploy-bot"}}},
        "summary": {"images": ["registry.example.org:5000/shop/checkout-api:2.18.7"]},
    }}}

# POST /changes/unleash?environment=production: Unleash's webhook addon, default body
UNLEASH_ENABLED: dict[str, Any] = {
    "id": 4711, "type": "feature-environment-enabled", "createdBy": "alice@example.org",
    "createdAt": "2026-01-22T03:05:10.123Z", "featureName": "pricing_v4",
    "project": "default", "environment": "production", "data": {"name": "pricing_v4"},
    "preData": None, "tags": [{"type": "service", "value": "checkout-api"}],
}

# POST /changes/launchdarkly: LaunchDarkly's webhook (an audit log entry), X-LD-Signature
LAUNCHDARKLY_TURNED_ON: dict[str, Any] = {
    "_id": "61e1c0a0b1b2c3d4e5f60718", "kind": "flag", "name": "Pricing v4",
    "date": 1769051110123, "titleVerb": "turned on the flag",
    "member": {"_id": "m1", "email": "alice@example.org", "firstName": "Alice"},
    "target": {"name": "Pricing v4",
               "resources": ["proj/default:env/production:flag/pricing_v4"]},
    "accesses": [{"action": "updateOn",
                  "resource": "proj/default:env/production:flag/pricing_v4"}],
    "currentVersion": {"key": "pricing_v4",
                       "environments": {"production": {"on": True, "version": 12}}},
}

CONFIG: dict[str, Any] = {
    "hosts": {"node-17": {"address": "10.0.3.17"}},
    "services": {"checkout-api": {
        "unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api",
        "hosts": ["node-17"], "changes": {"flags": ["pricing_v4"]}}},
}

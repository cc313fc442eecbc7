"""deploy/k8s: every manifest valid against the Kubernetes OpenAPI schemas (kubernetes-validate,
strict: unknown fields are errors), rendered by `kubectl kustomize` when kubectl is here, and
consistent with itself, the image and segbot (paths, ports, probes, secrets, config)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from bot.config import parse_config
from tests.support.deploy_files import DEPLOY

K8S = DEPLOY / "k8s"
VERSION = kubernetes_validate.latest_version()
SECRET_ENV = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SEGBOT_ALERT_TOKEN"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _resources() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [d for name in kustomization["resources"] for d in _docs(K8S / name)]


def _one(kind: str, docs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    [found] = [d for d in (docs or _resources()) if d["kind"] == kind]
    return found


def _container() -> dict[str, Any]:
    containers: list[dict[str, Any]] = _one("Deployment")["spec"]["template"]["spec"][
        "containers"]
    return containers[0]


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_every_manifest_is_schema_valid(path: Path) -> None:
    for doc in _docs(path):
        if doc.get("kind") == "Kustomization":
            continue
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_is_live() -> None:
    broken = copy.deepcopy(_one("Deployment"))
    broken["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)
    unknown = copy.deepcopy(_one("Deployment"))
    unknown["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, VERSION, strict=True)


def test_kustomize_renders_everything_into_the_namespace() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (the schema checks above still ran)")
    done = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    rendered = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert sorted(d["kind"] for d in rendered) == sorted(d["kind"] for d in _resources())
    for doc in rendered:
        kubernetes_validate.validate(doc, VERSION, strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "segbot", doc["kind"]
    [container] = _one("Deployment", rendered)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/segbot:0.1.0"


def test_pod_is_locked_down() -> None:
    deployment = _one("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 3 and spec["strategy"]["type"] == "RollingUpdate"
    budget = _one("PodDisruptionBudget")["spec"]
    assert 1 <= budget["minAvailable"] < spec["replicas"]  # a drain never takes them all
    assert budget["selector"]["matchLabels"].items() <= spec["template"]["metadata"][
        "labels"].items()
    [claim] = _one("PersistentVolumeClaim")["spec"]["accessModes"]
    assert claim == "ReadWriteMany"  # every replica mounts the evidence
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    assert pod["automountServiceAccountToken"] is False
    context = _container()["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"] and "add" not in context["capabilities"]
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    allowed = {"configMap", "secret", "projected", "emptyDir", "persistentVolumeClaim"}
    for volume in pod["volumes"]:  # Pod Security "restricted": no hostPath and friends
        assert set(volume) - {"name"} <= allowed, volume
    ns = _one("Namespace")["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"


def test_probes_and_ports_match_the_image_and_segbot() -> None:
    container = _container()
    [port] = container["ports"]
    dockerfile = (DEPLOY / "container" / "Dockerfile").read_text()
    assert f"EXPOSE {port['containerPort']}" in dockerfile
    for probe, path in (("startupProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path and get["port"] == port["name"], probe
    service = _one("Service")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    policy = _one("NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_only_the_namespaces_that_need_segbot_reach_it() -> None:
    """Every ingress rule names its sources: a rule without `from` admits every namespace."""
    rules = _one("NetworkPolicy")["spec"]["ingress"]
    sources = [source for rule in rules for source in rule.get("from", [None])]
    assert sources and None not in sources, rules
    namespaces = set()
    for source in sources:
        assert set(source) == {"namespaceSelector"}, source  # no ipBlock, no podSelector alone
        labels = source["namespaceSelector"].get("matchLabels", {})
        assert set(labels) == {"kubernetes.io/metadata.name"}, source
        namespaces.add(labels["kubernetes.io/metadata.name"])
    assert namespaces == {"monitoring", "ingress-nginx"}


def test_secrets_config_and_volumes_fit_together() -> None:
    container = _container()
    pod = _one("Deployment")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    [env_from] = container["envFrom"]
    examples = {d["metadata"]["name"]: d for d in _docs(K8S / "secret.example.yaml")}
    assert set(examples[env_from["secretRef"]["name"]]["stringData"]) >= SECRET_ENV
    assert not any("secret" in str(v).lower() for v in env.values())
    [etc] = [v for v in pod["volumes"] if v["name"] == "etc"]
    files: dict[str, str] = {}
    for source in etc["projected"]["sources"]:
        for kind, ref in source.items():
            for item in ref["items"]:
                files[item["path"]] = f"{kind}/{ref['name']}"
    assert files["id_ed25519"] == files["known_hosts"] == "secret/segbot-ssh"
    assert set(examples["segbot-ssh"]["stringData"]) == {"id_ed25519", "known_hosts"}
    assert files["segbot.yaml"] == "configMap/segbot-config"
    assert env["SEGBOT_CONFIG"] == f"{mounts['etc']}/segbot.yaml"
    config = parse_config(_one("ConfigMap")["data"]["segbot.yaml"], source="configmap")
    assert str(config.defaults.identity_file) == f"{mounts['etc']}/id_ed25519"
    assert str(config.defaults.known_hosts) == f"{mounts['etc']}/known_hosts"
    assert config.defaults.evidence_dir.startswith(mounts["data"] + "/")
    assert f"{env['XDG_DATA_HOME']}/segbot" == mounts["data"]  # SQLite lands on the volume
    [claim] = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claim["persistentVolumeClaim"]["claimName"] == _one("PersistentVolumeClaim")[
        "metadata"]["name"]
    assert pod["serviceAccountName"] == _one("ServiceAccount")["metadata"]["name"]
    assert "secret.example.yaml" not in (K8S / "kustomization.yaml").read_text().split(
        "resources:")[1]

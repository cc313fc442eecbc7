"""The deploy/ files for the deploy and action tests: paths, loading deploy/host/sudoers.py,
and a mount namespace in which the real `sudo` answers for a sudoers file under test (never the
machine's own)."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
EXAMPLE_CONFIG = DEPLOY / "config.example.yaml"
COMMITTED_SUDOERS = DEPLOY / "host" / "sudoers.d" / "segbot"


def sudoers_module() -> ModuleType:
    name = "segbot_deploy_sudoers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DEPLOY / "host" / "sudoers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def need_root_namespace() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (mount namespace with bind mounts over /etc/sudoers)")
    for tool in ("unshare", "sudo", "visudo", "mount"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/setup.d/40-deploy.sh installs sudo)")


_NAMESPACE_SETUP = r"""
set -eu
mount --make-rprivate /
mount --bind "$W/sudoers" /etc/sudoers
mount --bind "$W/passwd" /etc/passwd
mount --bind "$W/group" /etc/group
mount -t tmpfs tmpfs /var/tmp
mkdir -m 0700 /var/tmp/segbot-cores
mount -t tmpfs tmpfs /usr/local
mkdir -p /usr/local/libexec/segbot
printf '#!/bin/sh\nexit 0\n' > /usr/local/libexec/segbot/restart-delay
chmod 755 /usr/local/libexec/segbot/restart-delay
mkdir -p "$W/ovl"
mount -t tmpfs tmpfs "$W/ovl"
mkdir "$W/ovl/upper" "$W/ovl/work"
mount -t overlay overlay -o "lowerdir=/usr/bin,upperdir=$W/ovl/upper,workdir=$W/ovl/work" /usr/bin
for tool in coredumpctl journalctl dmesg gdb sha256sum systemctl; do
  [ -e "/usr/bin/$tool" ] && continue
  printf '#!/bin/sh\nexit 0\n' > "/usr/bin/$tool"
  chmod 755 "/usr/bin/$tool"
done
"""

# Stands in for sudo inside `sh -c`: asks the real sudo whether segbot may run exactly the argv
# the shell handed over (`sudo -l -U segbot CMD...` exits 0 only for an allowed command).
_SUDO_STUB = r"""#!/bin/sh
[ "${1:-}" = -n ] && shift
if /usr/bin/sudo -l -U segbot -- "$@" >/dev/null 2>&1; then r=allowed; else r=refused; fi
printf '%s %s\n' "$CASE" "$r" >> "$RESULTS"
"""


def sudo_verdicts(work: Path, sudoers_text: str, commands: list[str]) -> list[str]:
    """Run each shell command (`sudo -n ...`, pipelines and redirections as segbot sends them)
    in a private mount namespace where /etc/sudoers is ours; 'allowed' or 'refused' for each."""
    work.mkdir(parents=True, exist_ok=True)
    sudoers = work / "sudoers"
    sudoers.write_text(
        'Defaults env_reset\nDefaults secure_path="/usr/sbin:/usr/bin:/sbin:/bin"\n'
        "root ALL=(ALL:ALL) ALL\n" + sudoers_text)
    sudoers.chmod(0o440)
    checked = subprocess.run(["visudo", "-c", "-f", str(sudoers)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    if not any(line.startswith("segbot:") for line in passwd.splitlines()):
        passwd += "segbot:x:64999:64999:segbot:/nonexistent:/bin/sh\n"
    if not any(line.startswith("segbot:") for line in group.splitlines()):
        group += "segbot:x:64999:\n"
    (work / "passwd").write_text(passwd)
    (work / "group").write_text(group)
    stub = work / "bin" / "sudo"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text(_SUDO_STUB)
    stub.chmod(0o755)
    results = work / "results"
    results.write_text("")
    lines = [_NAMESPACE_SETUP]
    for index, command in enumerate(commands):
        lines.append(f"CASE={index} sh -c {shlex.quote(command)} >/dev/null 2>&1 || true")
    script = work / "run.sh"
    script.write_text("\n".join(lines) + "\n")
    env = {"PATH": f"{stub.parent}:/usr/sbin:/usr/bin:/sbin:/bin", "W": str(work),
           "RESULTS": str(results)}
    done = subprocess.run(["unshare", "--mount", "sh", str(script)], env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and "Operation not permitted" in done.stderr:
        pytest.skip(f"no mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    verdicts = dict(line.split() for line in results.read_text().splitlines())
    return [verdicts.get(str(i), "not-run") for i in range(len(commands))]

"""The session's root filesystem: the cached base tarball unpacked, plus the lab layer (users,
keys, the crashing service and the core bridge, both compiled here with -O2 -g)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .commands import LabUnavailable, sh

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
CSRC = HERE / "csrc"
BINARY = "/opt/checkout/bin/checkout-api"
UNIT = "checkout-api.service"
WORKDIR = Path(os.environ.get("SEGBOT_LAB_WORKDIR", "/var/tmp/segbot-lab"))
# Units that only add noise or load in a throwaway host.
MASKED = [
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "e2scrub_reap.service",
    "getty@tty1.service",
    "console-getty.service",
    "systemd-pstore.service",
]


@dataclass(frozen=True)
class LabRoot:
    """A prepared root filesystem and the session's SSH client key."""

    path: Path
    identity_file: Path
    core_dir: str  # inside the host: where the kernel's plain core files land


def tarball() -> Path:
    """The cached base tarball: $SEGBOT_LAB_ROOTFS_TARBALL, else where build_rootfs.sh puts it."""
    named = os.environ.get("SEGBOT_LAB_ROOTFS_TARBALL")
    if named:
        return Path(named)
    return Path(sh(["bash", str(HERE / "build_rootfs.sh"), "--path"]).strip())


def core_watch(core_pattern: str) -> tuple[str, str]:
    """Where, inside a host, the kernel writes a crashing service's core, as (dir, glob).

    The pattern is global to the machine; a pipe (|helper) runs the helper on the CI machine
    and nothing reaches the container, so the lab cannot work with it."""
    pattern = core_pattern.strip()
    if not pattern or pattern.startswith("|"):
        raise LabUnavailable(
            f"kernel.core_pattern is {pattern!r}: the lab needs plain core files (e.g. 'core')"
        )
    directory, _, name = pattern.rpartition("/")
    prefix = name.split("%", 1)[0] or "core"
    return (directory or "/var/lib/checkout-api", prefix)


def prepare(session: Path, *, core_pattern: str) -> LabRoot:
    """Unpack the base tarball under session/rootfs and add the lab layer."""
    source = tarball()
    if not source.is_file():
        raise LabUnavailable(
            f"lab rootfs tarball {source} is not built: run tests/lab/build_rootfs.sh as root "
            "(or .ci/setup.d/30-lab.sh)"
        )
    core_dir, core_prefix = core_watch(core_pattern)
    root = session / "rootfs"
    root.mkdir(parents=True)
    unpack = subprocess.run(
        f"zstd -dc {shlex.quote(str(source))} | "
        f"tar --numeric-owner --xattrs --acls -xpf - -C {shlex.quote(str(root))}",
        shell=True, capture_output=True, text=True, check=False,
    )
    if unpack.returncode != 0:
        raise LabUnavailable(f"cannot unpack {source}: {unpack.stderr.strip()}")
    _compile(root)
    _users(root)
    identity = session / "id_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "segbot-lab", "-f", str(identity)])
    _authorize(root, identity.with_suffix(".pub").read_text())
    _install_files(root, core_dir=core_dir, core_prefix=core_prefix)
    return LabRoot(path=root, identity_file=identity, core_dir=core_dir)


def _compile(root: Path) -> None:
    git = "4f3c2a1"
    for source, target in [
        ("checkout_api.c", root / BINARY.lstrip("/")),
        ("core_bridge.c", root / "usr/local/lib/segbot-lab/core-bridge"),
    ]:
        target.parent.mkdir(parents=True, exist_ok=True)
        sh(["gcc", "-O2", "-g", "-Wall", f"-DGIT_SHA=\"{git}\"", "-o", str(target),
            str(CSRC / source)])


def _users(root: Path) -> None:
    sh(["useradd", "--root", str(root), "--system", "--user-group", "--no-create-home",
        "--home-dir", "/var/lib/checkout-api", "--shell", "/usr/sbin/nologin", "checkout"])
    sh(["useradd", "--root", str(root), "--create-home", "--user-group", "--shell", "/bin/bash",
        "segbot"])


def _ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise LabUnavailable(f"user {user} missing from the lab rootfs")


def _authorize(root: Path, public_key: str) -> None:
    uid, gid = _ids(root, "segbot")
    ssh_dir = root / "home/segbot/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(public_key)
    keys.chmod(0o600)
    for path in (ssh_dir, keys):
        os.chown(path, uid, gid)


def _install_files(root: Path, *, core_dir: str, core_prefix: str) -> None:
    system = root / "etc/systemd/system"
    for name in ["checkout-api.service", "segbot-core-bridge.service"]:
        shutil.copy(FILES / name, system / name)
    path_unit = (FILES / "segbot-core-bridge.path").read_text()
    path_unit = path_unit.replace("/var/lib/checkout-api/core*", f"{core_dir}/{core_prefix}*")
    (system / "segbot-core-bridge.path").write_text(path_unit)
    bridge = (system / "segbot-core-bridge.service").read_text()
    (system / "segbot-core-bridge.service").write_text(
        bridge.replace("core-bridge-run /var/lib/checkout-api ",
                       f"core-bridge-run {core_dir} ").replace(UNIT, f"{UNIT} {core_prefix}")
    )
    runner = root / "usr/local/lib/segbot-lab/core-bridge-run"
    shutil.copy(FILES / "core-bridge-run", runner)
    runner.chmod(0o755)
    for wants, unit in [("multi-user.target.wants", UNIT),
                        ("paths.target.wants", "segbot-core-bridge.path")]:
        (system / wants).mkdir(exist_ok=True)
        (system / wants / unit).symlink_to(f"/etc/systemd/system/{unit}")
    for unit in MASKED:
        link = system / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    uid, gid = _ids(root, "checkout")
    for directory in {"/var/lib/checkout-api", core_dir}:
        state = root / directory.lstrip("/")
        state.mkdir(parents=True, exist_ok=True)
        os.chown(state, uid, gid)
        state.chmod(0o750 if directory == "/var/lib/checkout-api" else 0o1777)
    sudoers = root / "etc/sudoers.d/segbot"
    shutil.copy(FILES / "sudoers", sudoers)
    sudoers.chmod(0o440)
    shutil.copy(FILES / "sshd_config", root / "etc/ssh/sshd_config.d/segbot-lab.conf")
    # An empty machine-id file makes every host's systemd start with a fresh transient one; the
    # lab writes a real one into each host's upper layer instead.
    (root / "etc/machine-id").write_text("")

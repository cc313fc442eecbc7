"""Typed values read from evidence: stack frames, one source's view of a crash, and host facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal

Source = Literal["kernel", "coredump", "gdb", "journal", "systemd", "alert"]


@dataclass(frozen=True)
class Frame:
    index: int
    address: int | None = None
    function: str | None = None
    function_offset: int | None = None
    module: str | None = None
    module_offset: int | None = None
    build_id: str | None = None
    file: str | None = None
    line: int | None = None
    thread: int | None = None
    inlined: bool = False
    signal_handler: bool = False


@dataclass(frozen=True)
class CodeBytes:
    """The kernel's `Code:` line: bytes around the faulting instruction, which is at `before`."""

    data: bytes
    fault_index: int


@dataclass(frozen=True)
class CrashEvidence:
    """What one source says about one crash; merge.py joins these into crashes."""

    source: Source
    pid: int | None = None
    time: datetime | None = None
    host: str | None = None
    process: str | None = None
    executable: str | None = None
    unit: str | None = None
    signal: str | None = None
    signal_code: str | None = None  # si_code by name (SEGV_MAPERR), from the core's siginfo
    trap: str | None = None
    fault_address: int | None = None
    ip: int | None = None
    sp: int | None = None
    error_code: int | None = None
    module: str | None = None
    module_base: int | None = None
    module_size: int | None = None
    file_offset: int | None = None
    build_id: str | None = None
    crashing_thread: int | None = None
    frames: tuple[Frame, ...] = ()
    code: CodeBytes | None = None
    cpu: int | None = None
    command_line: str | None = None
    corefile: str | None = None
    uptime_seconds: float | None = None


@dataclass(frozen=True)
class Fact:
    """Base of every host fact; `kind` names it in the JSON report."""

    kind: ClassVar[str] = "fact"
    source: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class ServiceExit(Fact):
    kind: ClassVar[str] = "service_exit"
    unit: str | None
    code: str
    status: int | None
    signal: str | None
    result: str | None = None
    time: datetime | None = None
    pid: int | None = None


@dataclass(frozen=True)
class ServiceResult(Fact):
    kind: ClassVar[str] = "service_result"
    unit: str | None
    result: str
    time: datetime | None = None


@dataclass(frozen=True)
class RestartCounter(Fact):
    kind: ClassVar[str] = "restart_counter"
    unit: str | None
    count: int
    time: datetime | None = None


@dataclass(frozen=True)
class ServiceLifecycle(Fact):
    kind: ClassVar[str] = "service_lifecycle"
    unit: str | None
    event: str  # started | stopped | starting | stopping
    description: str | None = None
    time: datetime | None = None


@dataclass(frozen=True)
class RestartPolicy(Fact):
    kind: ClassVar[str] = "restart_policy"
    unit: str | None = None
    restart: str | None = None
    restart_usec: int | None = None
    n_restarts: int | None = None
    limit_core: str | None = None
    start_limit_burst: int | None = None
    start_limit_interval_usec: int | None = None


@dataclass(frozen=True)
class CoreLimit(Fact):
    kind: ClassVar[str] = "core_limit"
    soft: int | Literal["unlimited"]
    hard: int | Literal["unlimited"] | None = None


@dataclass(frozen=True)
class CoredumpStorage(Fact):
    kind: ClassVar[str] = "coredump_storage"
    storage: str | None = None
    compress: bool | None = None
    process_size_max: int | None = None
    external_size_max: int | None = None
    journal_size_max: int | None = None
    max_use: int | None = None
    keep_free: int | None = None


@dataclass(frozen=True)
class CorePattern(Fact):
    kind: ClassVar[str] = "core_pattern"
    pattern: str
    handler: str | None = None


@dataclass(frozen=True)
class OomKill(Fact):
    kind: ClassVar[str] = "oom_kill"
    pid: int | None
    process: str | None
    time: datetime | None = None


@dataclass(frozen=True)
class Deploy(Fact):
    kind: ClassVar[str] = "deploy"
    service: str | None
    version: str | None
    git: str | None = None
    time: datetime | None = None
    pid: int | None = None


@dataclass(frozen=True)
class FeatureFlag(Fact):
    kind: ClassVar[str] = "feature_flag"
    name: str
    state: str
    time: datetime | None = None


@dataclass(frozen=True)
class BuildId(Fact):
    kind: ClassVar[str] = "build_id"
    path: str | None
    build_id: str


@dataclass(frozen=True)
class SharedLibrary(Fact):
    kind: ClassVar[str] = "shared_library"
    name: str
    path: str | None
    address: int | None = None
    missing: bool = False


@dataclass(frozen=True)
class DiskUsage(Fact):
    kind: ClassVar[str] = "disk_usage"
    filesystem: str
    mount: str
    size: int | None
    used: int | None
    available: int | None
    use_percent: int | None


@dataclass(frozen=True)
class Request(Fact):
    kind: ClassVar[str] = "request"
    request_id: str | None
    path: str | None = None
    user_agent: str | None = None
    time: datetime | None = None
    pid: int | None = None


@dataclass(frozen=True)
class AppMessage(Fact):
    """An application log line near a crash (FATAL, panic, assert), kept verbatim."""

    kind: ClassVar[str] = "app_message"
    process: str | None
    pid: int | None
    text: str
    time: datetime | None = None


@dataclass(frozen=True)
class CoreFile(Fact):
    kind: ClassVar[str] = "core_file"
    pid: int | None
    signal: str | None
    corefile: str | None
    executable: str | None = None
    time: datetime | None = None
    size: int | None = None
    uid: int | None = None


@dataclass(frozen=True)
class MemoryMapping(Fact):
    kind: ClassVar[str] = "mapping"
    start: int
    end: int
    offset: int
    path: str | None
    perms: str | None = None


@dataclass(frozen=True)
class CoreDumped(Fact):
    """A path that a `coredumpctl dump --output` wrote the core to."""

    kind: ClassVar[str] = "core_dumped"
    path: str


@dataclass(frozen=True)
class Container(Fact):
    """The host is a container (`systemd-detect-virt --container`): its kernel log is the
    machine's, with every container's crashes under the machine's pids."""

    kind: ClassVar[str] = "container"
    name: str  # systemd-nspawn, docker, lxc, podman, ...


@dataclass(frozen=True)
class KernelVersion(Fact):
    kind: ClassVar[str] = "kernel_version"
    release: str
    host: str | None = None


@dataclass(frozen=True)
class Checksum(Fact):
    kind: ClassVar[str] = "checksum"
    path: str
    sha256: str

"""The dependency rules of docs/architecture.md, enforced by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# Libraries that do I/O: only adapters (and the CLI wiring) may import them.
IO_LIBRARIES = {
    "slack_bolt", "slack_sdk", "paramiko", "httpx", "sqlmodel", "sqlalchemy",
    "apscheduler", "fastapi", "starlette", "uvicorn", "alembic", "psycopg",
    "subprocess", "socket", "requests",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((BOT / package).rglob("*.py"))


def test_domain_is_pure() -> None:
    for path in _modules("domain"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert not name.startswith(("bot.app", "bot.adapters", "bot.cli")), (path, name)
            assert top not in IO_LIBRARIES, (path, name)
            assert top not in {"logging", "structlog", "time", "random", "os"}, (path, name)


def test_app_uses_ports_not_adapters() -> None:
    for path in _modules("app"):
        for name in _imports(path):
            assert not name.startswith("bot.adapters"), (path, name)
            assert name.split(".")[0] not in IO_LIBRARIES, (path, name)


def test_symbols_do_no_network_io() -> None:
    for path in _modules("symbols"):
        for name in _imports(path):
            assert not name.startswith(("bot.app", "bot.adapters")), (path, name)
            assert name.split(".")[0] not in IO_LIBRARIES, (path, name)


def test_io_libraries_only_in_adapters() -> None:
    """Slack, SSH, HTTP, SQL and the scheduler are reached only through adapters (the CLI
    verbs may start processes; domain, app and symbols may not, as the tests above check)."""
    outside_adapters = IO_LIBRARIES - {"subprocess", "socket"}
    for path in sorted(BOT.rglob("*.py")):
        if path.relative_to(BOT).parts[0] == "adapters":
            continue
        for name in _imports(path):
            assert name.split(".")[0] not in outside_adapters, (path, name)


# The adapters every other adapter may use: the process's one metrics registry and its logging.
SHARED_ADAPTERS = {"bot.adapters.metrics", "bot.adapters.logs"}
COMPOSITION_ROOT = BOT / "wiring"


def _adapter_unit(module: str) -> str:
    """`bot.adapters.slack.web_chat` -> `bot.adapters.slack`: one package or one module."""
    return ".".join(module.split(".")[:3])


def _all_imports(path: Path) -> set[str]:
    """Every module imported, at the top or inside a function, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(("bot", *path.relative_to(BOT).parent.parts))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_adapters_do_not_import_each_other() -> None:
    """An adapter package never builds or reaches into another: bot/wiring/ assembles them."""
    for path in _modules("adapters"):
        own = _adapter_unit(".".join(("bot", *path.relative_to(BOT).with_suffix("").parts)))
        for name in _all_imports(path):
            if not name.startswith("bot.adapters.") or name in SHARED_ADAPTERS:
                continue
            if _adapter_unit(name) in SHARED_ADAPTERS:
                continue
            assert _adapter_unit(name) == own, (path, name)


def test_only_the_composition_root_imports_adapters() -> None:
    """Outside bot/adapters, only bot/wiring/ names an adapter (verbs ask it for theirs)."""
    for path in sorted(BOT.rglob("*.py")):
        if path.relative_to(BOT).parts[0] in ("adapters", COMPOSITION_ROOT.name):
            continue
        for name in _all_imports(path):
            assert not name.startswith("bot.adapters"), (path, name)


def test_adapters_do_not_import_the_composition_root() -> None:
    for path in _modules("adapters"):
        assert not any(n.startswith("bot.wiring") for n in _all_imports(path)), path

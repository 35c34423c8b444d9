"""The layers of docs/architecture.md, held: no import reaches up a layer or sideways into another
feature, no feature selects from another feature's tables, and app/kit imports nothing of the app."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# Lowest first; a module may import its own unit and any unit of a lower layer.
LAYERS: list[set[str]] = [
    {"kit"},
    {"config", "errors"},
    {"ratelimit", "keys"},
    {"db"},
    {"audit"},
    {"catalog"},
    {"auth"},
    {"records"},
    {"rules"},
    {"checks", "cases", "notices"},
    {"public", "stats", "oversight", "exchange", "screening", "monitoring"},
    {"main", "cli", "seed", "health", "openapi", "models", "backup", "migrate"},
]
LAYER_OF = {unit: level for level, units in enumerate(LAYERS) for unit in units}
WIRING = LAYERS[-1]


def _unit(module: str) -> str | None:
    """app.records.ingest -> records; app.config -> config; anything outside app -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "app" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module imported, line, under `if TYPE_CHECKING:`) for every import in a file."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for inner in ast.walk(child):
                    typing_only.add(id(inner))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in typing_only) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(name, node.lineno, id(node) in typing_only) for name in names]
    return found


def _module_name(path: Path) -> str:
    relative = path.relative_to(APP.parent).with_suffix("")
    return ".".join(part for part in relative.parts if part != "__init__")


def _violations() -> list[str]:
    problems = []
    for path in sorted(APP.rglob("*.py")):
        module = _module_name(path)
        unit = _unit(module)
        if unit is None:  # app/__init__.py
            continue
        assert unit in LAYER_OF, f"{module}: app/{unit} is in no layer of docs/architecture.md"
        for imported, line, typing_only in _imports(path):
            target = _unit(imported)
            if target is None or target == unit:
                continue
            where = f"{path.relative_to(APP.parent)}:{line} imports {imported}"
            if target not in LAYER_OF:
                problems.append(f"{where}: app/{target} is in no layer")
            elif target == "auth" and module.endswith(".router") and imported.startswith("app.auth.deps"):
                continue  # routes are authorized at the edge, whatever the feature's layer
            elif LAYER_OF[target] >= LAYER_OF[unit] and unit not in WIRING:
                problems.append(f"{where}: a layer above or beside {unit}")
            elif ".models" in imported and unit not in WIRING and not typing_only:
                own_models = module.endswith(".models")
                if not own_models:
                    problems.append(f"{where}: another feature's tables (ask its repository)")
    return problems


def test_imports_follow_the_layers() -> None:
    assert _violations() == []


def test_the_kit_imports_nothing_of_the_app() -> None:
    for path in sorted((APP / "kit").rglob("*.py")):
        for imported, line, _ in _imports(path):
            unit = _unit(imported)
            assert unit in (None, "kit"), f"app/kit/{path.name}:{line} imports {imported}"


def test_the_check_finds_what_it_forbids(tmp_path: Path) -> None:
    """The rules above are not vacuous: an upward import and a sideways read of tables are caught."""
    upward = "from app.checks import flows\n"
    sideways = "from app.records.models import Record\n"
    assert [i[0] for i in _imports(_write(tmp_path / "a.py", upward))] == ["app.checks.flows"]
    assert _unit("app.checks.flows") == "checks" and LAYER_OF["checks"] > LAYER_OF["records"]
    found = _imports(
        _write(tmp_path / "b.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    " + sideways)
    )
    assert found[-1] == ("app.records.models.Record", 3, True)
    assert _imports(_write(tmp_path / "c.py", sideways))[0][2] is False


def _write(path: Path, source: str) -> Path:
    path.write_text(source)
    return path

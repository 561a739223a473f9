"""The code runs the way the folders read: ingest/ → index/ → podkb/ (KnowledgeBase, the collections
store, the Ray cluster that wires ingest and index together) → ui/. A module may import its own
layer and those before it, never one after it. Every module's imports are read with ast."""
import ast
from pathlib import Path

from .conftest import ROOT

LAYERS = ("ingest", "index", "podkb", "ui")  # each may import itself and those before it


def layer_of(name: str) -> str | None:
    """'podkb.index.hits' or 'index.hits' → 'index'; 'podkb.knowledgebase' → 'podkb'; others → None."""
    parts = name.split(".")
    if parts[0] == "podkb":
        return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "podkb"
    return parts[0] if parts[0] in LAYERS else None


def imports(path: Path, root: Path):
    """(line, the absolute module name) of each import in the module at ``path``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[:-1] if parts[0] == "podkb" else ["podkb", *parts[:-1]]  # ingest/ is podkb.ingest
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                yield node.lineno, ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.lineno, node.module or ""


def arrows_against(root: Path) -> list[str]:
    """Every import in ``root``'s layers that points to a later layer."""
    found = []
    for own in LAYERS:
        for path in sorted((root / own).rglob("*.py")):
            for line, name in imports(path, root):
                target = layer_of(name)
                if target is not None and LAYERS.index(target) > LAYERS.index(own):
                    found.append(f"{path.relative_to(root)}:{line} imports {name} ({own} → {target})")
    return found


# What opens or writes a knowledge base's files: ui/ goes through KnowledgeBase instead.
STORES = {"podkb.ingest.store", "podkb.ingest.migrations", "podkb.index.store", "podkb.index.vectors",
          "podkb.index.schema", "podkb.index.lock"}
STORE_NAMES = {"Library", "Index", "Collections", "open_store", "add_paths", "connect", "Cluster"}


def stores_reached(root: Path) -> list[str]:
    """Every import in ``root``/ui of a store module, or of a name that opens a store."""
    found = []
    for path in sorted((root / "ui").rglob("*.py")):
        lines = dict(imports(path, root))  # line → the module imported there
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            where = f"{path.relative_to(root)}:{node.lineno} imports"
            if lines.get(node.lineno) in STORES:
                found.append(f"{where} {lines[node.lineno]}")
            if isinstance(node, ast.ImportFrom):
                found += [f"{where} {a.name}" for a in node.names if a.name in STORE_NAMES]
    return found


def test_no_module_imports_a_layer_after_its_own():
    assert arrows_against(ROOT) == []


def test_the_check_finds_a_planted_arrow_against_the_direction(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "ingest" / "formats").mkdir()
    (tmp_path / "ingest" / "formats" / "vtt.py").write_text("from ...index.embed import load\n")
    (tmp_path / "index" / "store.py").write_text("from ..ingest import Library\nimport podkb.ui.web\n")
    (tmp_path / "podkb" / "knowledgebase.py").write_text("from .ui.quotes import Collections\nfrom .index import Hit\n")
    (tmp_path / "ingest" / "store.py").write_text("from ..knowledgebase import home\n")
    (tmp_path / "ui" / "cli.py").write_text("from ..knowledgebase import KnowledgeBase\nfrom ..ingest import Episode\n")
    assert arrows_against(tmp_path) == [
        "ingest/formats/vtt.py:1 imports podkb.index.embed (ingest → index)",
        "ingest/store.py:1 imports podkb.knowledgebase (ingest → podkb)",
        "index/store.py:2 imports podkb.ui.web (index → ui)",
        "podkb/knowledgebase.py:1 imports podkb.ui.quotes (podkb → ui)",
    ]


def test_ui_reaches_the_data_only_through_the_knowledge_base(tmp_path):
    assert stores_reached(ROOT) == []
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "app.py").write_text("from ..index.store import Index\nfrom podkb.ingest import Library\n"
                                           "from sqlite3 import connect\nfrom ..knowledgebase import KnowledgeBase\n")
    assert stores_reached(tmp_path) == ["ui/app.py:1 imports podkb.index.store", "ui/app.py:1 imports Index",
                                        "ui/app.py:2 imports Library", "ui/app.py:3 imports connect"]

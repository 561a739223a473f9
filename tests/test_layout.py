"""The walls of the code, checked from the code itself (every module's imports and calls read with ast):

- the code runs the way the folders read: ingest/ → index/ → podkb/ (KnowledgeBase, quotes, the Ray
  cluster) → ui/; a module may import its own layer and those before it, never one after it;
- ui/ sees only the face of podkb: the ``podkb`` package itself, ``podkb.events`` and its own modules;
- only a few modules send SQL (``.execute``), each the one owner of its tables;
- SQL that names a passage table (passages, their vectors, keywords and the next index's twins) is
  written in one module, index/tables.py, besides the migrations (index/schema.py);
- no import cycle inside the project.

Each rule is also shown failing on a planted violation, so that a check which finds nothing is known
to be able to find something.
"""
import ast
import re
from pathlib import Path

from .conftest import ROOT

LAYERS = ("ingest", "index", "podkb", "ui")  # each may import itself and those before it


def module_of(path: Path, root: Path) -> str:
    """'index/store.py' → 'podkb.index.store'; 'podkb/events.py' → 'podkb.events'; 'ui/__init__.py' → 'podkb.ui'."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    parts = parts if parts[0] == "podkb" else ["podkb", *parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(name: str) -> str | None:
    """'podkb.index.hits' or 'index.hits' → 'index'; 'podkb.knowledgebase' → 'podkb'; others → None."""
    parts = name.split(".")
    if parts[0] == "podkb":
        return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "podkb"
    return parts[0] if parts[0] in LAYERS else None


def sources(root: Path):
    """(path, its module name, its parsed tree) of every module of the project under ``root``."""
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            yield path, module_of(path, root), ast.parse(path.read_text(), str(path))


def imports(path: Path, root: Path, tree: ast.AST | None = None, modules: set[str] = frozenset()):
    """(line, the absolute module name) of each import in the module at ``path``. A name imported from a
    package that is one of ``modules`` (``from . import chapters``) gives that module ('podkb.index.chapters')."""
    module = module_of(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree or ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            named = [f"{target}.{alias.name}" for alias in node.names]
            for name in (named if all(name in modules for name in named) else [target]):
                yield node.lineno, name


def arrows_against(root: Path) -> list[str]:
    """Every import in ``root``'s layers that points to a later layer."""
    found = []
    for path, _, tree in sources(root):
        own = layer_of(module_of(path, root))
        for line, name in imports(path, root, tree):
            target = layer_of(name)
            if target is not None and LAYERS.index(target) > LAYERS.index(own):
                found.append(f"{path.relative_to(root)}:{line} imports {name} ({own} → {target})")
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


# The face of podkb for a user interface: the package (podkb/__init__.py exports the KnowledgeBase, the
# value types, the errors and the few helpers every UI needs) and its events. Nothing deeper.
UI_MAY_IMPORT = {"podkb", "podkb.events"}


def ui_reaches(root: Path) -> list[str]:
    """Every import in ``root``/ui of a project module outside the UI's face and ui/ itself."""
    found = []
    for path, module, tree in sources(root):
        if layer_of(module) != "ui":
            continue
        for line, name in imports(path, root, tree):
            if layer_of(name) is not None and layer_of(name) != "ui" and name not in UI_MAY_IMPORT:
                found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return found


def test_ui_sees_only_the_face_of_podkb():
    assert ui_reaches(ROOT) == []


def test_the_check_finds_a_ui_module_that_reaches_past_the_face(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "ui" / "pages").mkdir()
    (tmp_path / "ui" / "pages" / "search.py").write_text(
        "from ... import KnowledgeBase\nfrom ...index.store import Index\nfrom podkb.ingest import Library\n"
        "from ...events import Done\nfrom ..web import e\nimport sqlite3\nfrom podkb.knowledgebase import home\n")
    assert ui_reaches(tmp_path) == ["ui/pages/search.py:2 imports podkb.index.store",
                                    "ui/pages/search.py:3 imports podkb.ingest",
                                    "ui/pages/search.py:7 imports podkb.knowledgebase"]


# The modules that send SQL, each the owner of its tables. The in-memory FTS5 table in index/keywords.py
# tokenises text as the index does; it is not the knowledge base's store.
SQL_OWNERS = {
    "ingest/migrations.py",       # the migrations table, and applying every stage's migrations
    "ingest/store.py",            # episodes, segments, chapters
    "index/schema.py",            # the index's migrations
    "index/tables.py",            # passages, their vectors, keywords, speaker counts and shingles (and next_*)
    "index/meta.py",              # index_meta
    "index/keywords.py",          # an in-memory FTS5 table that tokenises as the index does
    "podkb/quotes.py",            # collections and quotes
    "ingest/feed_items.py",       # feeds, feed_items, removed_items
    "ingest/voice_prints.py",     # voices
}
_SQL_CALLS = {"execute", "executemany", "executescript"}


def sql_senders(root: Path) -> dict[str, int]:
    """Module path → how many ``.execute(`` (and executemany, executescript) calls it makes."""
    found = {}
    for path, _, tree in sources(root):
        calls = sum(1 for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute) and node.func.attr in _SQL_CALLS)
        if calls:
            found[str(path.relative_to(root))] = calls
    return found


def test_only_the_owners_of_tables_send_sql():
    assert set(sql_senders(ROOT)) == SQL_OWNERS


def test_the_check_finds_sql_sent_from_a_module_that_owns_no_table(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "index" / "ranking.py").write_text("def f(db):\n    return db.execute('SELECT 1').fetchone()\n")
    (tmp_path / "index" / "tables.py").write_text("def g(db):\n    db.executemany('DELETE FROM x', [])\n")
    (tmp_path / "ui" / "app.py").write_text("x = {}.get('execute')\n")
    assert sql_senders(tmp_path) == {"index/ranking.py": 1, "index/tables.py": 1}
    assert sorted(set(sql_senders(tmp_path)) - {"index/tables.py"}) == ["index/ranking.py"]


PASSAGE_TABLES = ("passages", "passages_fts", "passages_vocab", "vectors", "sentence_vectors", "indexed_episodes",
                  "term_df", "next_passages", "next_vectors", "next_sentence_vectors", "next_indexed")
_NAMES_A_PASSAGE_TABLE = re.compile(
    rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE|ON)\s+(?:{'|'.join(PASSAGE_TABLES)})\b(?!\s*\()", re.IGNORECASE)
PASSAGE_SQL_HOMES = {"index/tables.py", "index/schema.py"}


def passage_sql(root: Path) -> list[str]:
    """Every module (and line) with a string that is SQL naming a passage table."""
    found = []
    for path, _, tree in sources(root):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _NAMES_A_PASSAGE_TABLE.search(node.value):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return sorted(set(found))


def test_sql_on_the_passage_tables_is_written_in_one_module():
    assert {where.split(":")[0] for where in passage_sql(ROOT)} == PASSAGE_SQL_HOMES


def test_the_check_finds_passage_sql_written_elsewhere(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "index" / "highlight.py").write_text(
        "Q = 'SELECT max(end_ms) FROM passages WHERE episode_id = ?'\nDOC = 'the passages of an episode'\n"
        "def f(db, t):\n    return db.execute(f'SELECT 1 FROM {t} JOIN next_vectors v ON v.passage_id = 1')\n")
    assert passage_sql(tmp_path) == ["index/highlight.py:1", "index/highlight.py:4"]


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the project's modules it imports (at its top or inside a function: either way the two
    can't be understood, or changed, apart)."""
    modules = {module: path for path, module, _ in sources(root)}
    graph = {}
    for module, path in modules.items():
        targets = {name for _, name in imports(path, root, modules=set(modules)) if name in modules}
        graph[module] = targets - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: each strongly connected group of more than one module, sorted (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


KNOWN_CYCLES: list[list[str]] = []  # none left (issue 36 broke the last two); a new one is a defect


def test_no_import_cycle_inside_the_project():
    assert cycles(import_graph(ROOT)) == KNOWN_CYCLES


def test_the_check_finds_a_planted_import_cycle(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / "ingest" / "audio.py").write_text("from .transcriber import Transcriber\n")
    (tmp_path / "ingest" / "transcriber.py").write_text("def f():\n    from .audio import WhisperTranscriber\n")
    (tmp_path / "index" / "a.py").write_text("from . import b\n")
    (tmp_path / "index" / "b.py").write_text("from .c import x\n")
    (tmp_path / "index" / "c.py").write_text("import podkb.index.a\n")
    (tmp_path / "index" / "d.py").write_text("from .a import y\n")
    assert cycles(import_graph(tmp_path)) == [
        ["podkb.index.a", "podkb.index.b", "podkb.index.c"], ["podkb.ingest.audio", "podkb.ingest.transcriber"]]


# Every file podkb writes (issue 38): created exclusively under a unique name and moved into place
# (ingest/files.py `replacing`, ui/files.py `write_file` for a path the user named), or written inside a
# folder that was itself made exclusively (tempfile.mkdtemp / TemporaryDirectory). These are the only
# other places that open a file for writing, each with its reason.
WRITERS = {
    "ingest/files.py": "replacing itself: tempfile.mkstemp (O_EXCL, O_NOFOLLOW), then os.replace",
    "ui/files.py": "write_file: mkstemp beside the user's target; a FIFO or device the user named, written in place",
    "ingest/parts.py": "the cache's lock file (O_NOFOLLOW); the model's files inside a TemporaryDirectory",
    "ingest/whisper_models.py": "copies the model's files inside the TemporaryDirectory parts.unpacked gives it",
    "index/lock.py": "the knowledge base's lock file, O_CREAT | O_NOFOLLOW",
    "index/onnx_encoder.py": "torch.onnx.export into the cache under a PID name, checked before it is renamed",
    "podkb/cluster.py": "the audio a Ray worker receives, inside its own TemporaryDirectory",
    "podkb/clips.py": "PyAV writes the clip into the open file replacing() gave it",
    "ui/cli.py": "os.devnull, for the exit's flush",
}
_WRITE_MODE = re.compile(r"[wax+]")


def writers(root: Path) -> dict[str, list[int]]:
    """Module path → the lines where it opens a file for writing: open()/Path.open()/av.open() with a
    writing mode, os.open, Path.write_text/write_bytes, shutil.copy*, tempfile.mkstemp, torch.onnx.export."""
    found: dict[str, list[int]] = {}
    for path, _, tree in sources(root):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if name == "open" and owner not in ("os", "av") and isinstance(func, ast.Attribute):
                given = node.args[:1]   # path.open(mode)
            else:
                given = node.args[1:2]  # open(path, mode), av.open(path, mode)
            modes = [a.value for a in given + [k.value for k in node.keywords if k.arg == "mode"]
                     if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            writes = (name == "open" and owner == "os") or (name == "open" and any(map(_WRITE_MODE.search, modes))) \
                or name in ("write_text", "write_bytes", "mkstemp") or (owner == "shutil" and name.startswith("copy")) \
                or (name == "export" and owner == "onnx") or (name == "fdopen" and owner == "os")
            if writes:
                found.setdefault(str(path.relative_to(root)), []).append(node.lineno)
    return found


def test_every_file_podkb_writes_is_created_exclusively_or_named_here_with_its_reason():
    assert set(writers(ROOT)) == set(WRITERS), {k: v for k, v in writers(ROOT).items() if k not in WRITERS}


def test_the_check_finds_a_planted_writer(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "ui" / "web.py").write_text(
        "from pathlib import Path\ndef save(p, data):\n    Path(p).with_name('x.part').write_bytes(data)\n")
    (tmp_path / "podkb" / "clips.py").write_text(
        "def cut(out):\n    with open(out, 'wb') as f:\n        f.write(b'')\n    with open(out) as f:\n        f.read()\n")
    (tmp_path / "index" / "vectors.py").write_text(
        "def save(tmp):\n    with tmp.open('wb') as f:\n        pass\n    with tmp.open() as f:\n        pass\n")
    (tmp_path / "ingest" / "fetch.py").write_text("import shutil\ndef get(a, b):\n    shutil.copyfile(a, b)\n")
    assert writers(tmp_path) == {"ui/web.py": [3], "podkb/clips.py": [2], "index/vectors.py": [2],
                                 "ingest/fetch.py": [3]}

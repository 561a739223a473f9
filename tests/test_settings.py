"""Settings in one place: every PODKB_ variable is named in ingest/settings.py and read through its one
rule (the option given, else the knowledge base's saved value, else the environment, else the default)."""
import ast
import re
from pathlib import Path

from podkb.ingest.settings import SETTINGS, flag, number, setting

from .conftest import ROOT
from .test_layout import LAYERS

ENV_NAME = re.compile(r"PODKB_[A-Z0-9_]+")


def environment_names(root: Path) -> list[str]:
    """Every string in ``root``'s modules that is exactly a PODKB_ variable's name, outside ingest/settings.py:
    a second place that reads (or names) a setting."""
    found = []
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            if path.relative_to(root) == Path("ingest/settings.py"):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.fullmatch(node.value):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.value}")
    return found


def test_no_module_but_settings_names_an_environment_variable(tmp_path):
    assert environment_names(ROOT) == []
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "index" / "embed.py").write_text('import os\nMODEL = os.environ.get("PODKB_MODEL")\n')
    (tmp_path / "ui" / "cli.py").write_text('HELP = "also $PODKB_RAY"\nimport click\n'
                                            'opt = click.option("--ray", envvar="PODKB_RAY")\n')
    assert environment_names(tmp_path) == ["index/embed.py:2 PODKB_MODEL", "ui/cli.py:3 PODKB_RAY"]


def test_the_option_wins_then_the_saved_value_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.delenv("PODKB_MODEL", raising=False)
    assert setting("model", default="d") == "d"
    monkeypatch.setenv("PODKB_MODEL", "from-env")
    assert setting("model", default="d") == "from-env"
    assert setting("model", saved="indexed-with", default="d") == "indexed-with"
    assert setting("model", "asked-for", "indexed-with", "d") == "asked-for"
    monkeypatch.setenv("PODKB_MODEL", "  ")  # blank is unset
    assert setting("model", default="d") == "d"


def test_flags_and_numbers_parse_the_environment_and_ignore_junk(monkeypatch):
    for value, expected in [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False), ("maybe", False)]:
        monkeypatch.setenv("PODKB_ALLOW_PRIVATE", value)
        assert flag("allow_private") is expected, value
    monkeypatch.setenv("PODKB_DIARIZE", "maybe")  # junk: the default, which is on
    assert flag("diarize") is True and flag("diarize", False) is False
    monkeypatch.setenv("PODKB_BATCH_PASSAGES", "64")
    assert number("batch_passages", 256) == 64
    monkeypatch.setenv("PODKB_BATCH_PASSAGES", "lots")
    assert number("batch_passages", 256) == 256


def test_the_knowledge_base_folder_follows_the_rule(monkeypatch, tmp_path):
    from podkb.knowledgebase import home

    monkeypatch.setenv("PODKB_HOME", str(tmp_path / "env"))
    assert home() == tmp_path / "env" and home(tmp_path / "given") == tmp_path / "given"


def test_every_setting_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert [s.env for s in SETTINGS.values() if f"`{s.env}`" not in readme] == []

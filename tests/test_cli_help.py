"""Every CLI command has help text and is documented in the README."""
import click

from podkb.ui.cli import cli

from .conftest import ROOT


def commands(group, prefix=""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    found = dict(commands(cli))
    assert {"add", "feed", "feeds", "search", "serve", "collections", "quote add", "export"} <= set(found)
    for name, command in found.items():
        assert (command.help or "").strip(), f"podkb {name} has no help"
        assert f"podkb {name}" in readme, f"podkb {name} is not in the README"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("kb", "help"):
                assert param.help, f"podkb {name} {param.opts[0]} has no help"


def test_kb_works_before_the_command_after_it_and_from_podkb_home(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from podkb import KnowledgeBase

    from .fake_embedder import HashEmbedder

    first, second, home = tmp_path / "first", tmp_path / "second", tmp_path / "home"
    for folder, title in ((first, "First"), (second, "Second"), (home, "Home")):
        transcript = tmp_path / f"{title}.txt"
        transcript.write_text(f"{title} talk about habits and rest.")
        with KnowledgeBase(folder, embedder=HashEmbedder()) as kb:
            kb.add([str(transcript)], index=False)
    monkeypatch.setenv("PODKB_HOME", str(home))
    runner = CliRunner()

    def titles(*args):
        done = runner.invoke(cli, [*args])
        assert done.exit_code == 0, done.output
        return [line.split()[0] for line in done.output.splitlines()]  # episode ids

    assert titles("--kb", str(first), "episodes") == ["first"]        # before the command
    assert titles("episodes", "--kb", str(second)) == ["second"]      # after it
    assert titles("--kb", str(first), "episodes", "--kb", str(second)) == ["second"]  # the command's own wins
    assert titles("episodes") == ["home"]                             # neither: $PODKB_HOME

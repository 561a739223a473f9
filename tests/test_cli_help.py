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

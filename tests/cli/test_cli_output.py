"""What the command line prints cannot be steered by a name an IdP sent.

SCIM stores names as sent (a refusal counts toward Entra's quarantine), control characters
included; every human-readable line is escaped as it is printed (`app.cli.base.say`).
"""

import re
from pathlib import Path

import pytest

from app.cli import cli
from app.cli.base import BadInput, domain
from rbac.errors import InvalidValue

HOSTILE = "evil\x1b[2J\x1b]0;pwned\x07\rforged\nrow\tcolumn\x9bC1\x7f"
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_listings_escape_control_characters_from_the_idp(world, app):
    """ESC, BEL, CR, LF, TAB and C1 in a userName and a displayName: one row each, no control."""
    user = world.scim.create_user(HOSTILE, displayName=HOSTILE)
    world.scim.create_group(HOSTILE, members=[user["id"]])
    runner = app.test_cli_runner()
    for command in (
        ["user", "list", "--org", "acme"],
        ["group", "list", "--org", "acme"],
        ["group", "explain", "--org", "acme", HOSTILE],
        ["explain", "--org", "acme", user["id"], "org"],
    ):
        result = runner.invoke(cli, command)
        assert result.exit_code == 0, (command, result.output)
        assert not CONTROLS.search(result.output), (command, result.output)
        lines = result.output.splitlines()
        hostile = [line for line in lines if "evil" in line]
        assert hostile, (command, result.output)
        assert all("forged" in line and "column" in line for line in hostile), command
        if command[1] == "list":  # a header and one row per object, each with its columns
            widths = {len(line.split("\t")) for line in lines}
            assert len(widths) == 1, (command, lines)
    assert "\\x1b[2J" in runner.invoke(cli, ["user", "list", "--org", "acme"]).output


def test_an_error_naming_input_is_escaped(world, app):
    """A refusal that repeats a name (exit 2) prints it escaped, whatever the domain wrote."""
    result = app.test_cli_runner().invoke(
        cli, ["grant", "--org", "acme", "--user", "no\x1b[2Jbody", "--role", "viewer", "org"]
    )
    assert result.exit_code == 2 and "\x1b" not in result.output

    def refuse():
        raise InvalidValue("no such user: name\x1b[2J\rforged")

    with pytest.raises(BadInput) as refused:
        domain(refuse)
    assert refused.value.message == "no such user: name\\x1b[2J\\rforged"


def test_every_line_of_the_command_line_goes_through_say():
    """No command prints with click.echo directly: `say` is the one way out (base.py's own)."""
    cli_dir = Path(__file__).resolve().parents[2] / "app" / "cli"
    direct = [
        path.name
        for path in cli_dir.glob("*.py")
        if path.name != "base.py" and "click.echo(" in path.read_text()
    ]
    assert direct == []

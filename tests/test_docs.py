"""The README documents every setting and every CLI command (datasette's habit)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from vntwin.api.actions import ACTIONS
from vntwin.cli import app
from vntwin.settings import Settings

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"VNTWIN_{name.upper()}" in README, name


def test_every_cli_command_is_documented():
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        for full in ([f"{name} {s}" for s in subs] if subs else [name]):
            assert f"`vntwin {full}" in README, full


def test_every_action_is_documented():
    for name in ACTIONS:
        assert f"`{name}`" in README, name

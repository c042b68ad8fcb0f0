"""`make teams-package`: the manifest, its icons and the zip Teams accepts."""

from __future__ import annotations

import json
import struct
import zipfile

import pytest

from bot.teams.package import COLOR_SIZE, OUTLINE_SIZE, PackageError, build_package, colour_icon, main, outline_icon

APP_ID = "3f5c8a9e-1b2d-4c6e-8f0a-1b2c3d4e5f60"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", data[16:24])


def test_the_package_holds_the_manifest_with_the_app_id_and_both_icons(tmp_path):
    output = build_package(app_id=APP_ID, output=tmp_path / "policybot-teams.zip")

    with zipfile.ZipFile(output) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert png_size(package.read("color.png")) == (192, 192)
        assert png_size(package.read("outline.png")) == (32, 32)
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert {"personal", "team"} <= set(manifest["bots"][0]["scopes"])
    assert manifest["bots"][0]["commandLists"][0]["commands"]
    assert "{{" not in json.dumps(manifest)
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80


def test_the_committed_icons_are_the_drawn_ones(tmp_path):
    from bot.teams.package import TEAMS_DIR

    assert (TEAMS_DIR / "color.png").read_bytes() == colour_icon()
    assert (TEAMS_DIR / "outline.png").read_bytes() == outline_icon()
    assert png_size(colour_icon()) == (COLOR_SIZE, COLOR_SIZE)


@pytest.mark.parametrize(("app_id", "message"), [("", "MICROSOFT_APP_ID is not set"), ("my-bot", "must be the bot's app id")])
def test_no_usable_app_id_no_package(tmp_path, app_id, message):
    with pytest.raises(PackageError, match=message):
        build_package(app_id=app_id, output=tmp_path / "p.zip")
    assert not (tmp_path / "p.zip").exists()


def test_the_command_says_what_is_missing_in_one_line(capsys):
    assert main([]) == 2
    error = capsys.readouterr().err
    assert error.startswith("policybot: MICROSOFT_APP_ID is not set") and error.count("\n") == 1


def test_the_manifest_lists_the_same_commands_as_the_adapter_with_report_and_status():
    from bot.teams import texts
    from bot.teams.package import TEAMS_DIR

    manifest = json.loads((TEAMS_DIR / "manifest.json").read_text(encoding="utf-8"))
    [command_list] = manifest["bots"][0]["commandLists"]
    commands = [(command["title"], command["description"]) for command in command_list["commands"]]

    assert commands == list(texts.COMMANDS)
    assert {"report", "status"} <= {title for title, _ in commands}
    # Teams' limits: ten commands, titles of 32 characters, descriptions of 128.
    assert len(commands) <= 10 and all(len(title) <= 32 and len(description) <= 128 for title, description in commands)
    # Screenshots for a report can be attached as files in the one-to-one chat.
    assert manifest["bots"][0]["supportsFiles"] is True

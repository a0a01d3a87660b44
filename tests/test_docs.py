"""The README is the user's manual: it must keep up with the code."""

import re

from mlpctl.cli import app
from mlpctl.config.reference import BEGIN, END, reference_markdown
from mlpctl.errors import ExitCode

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_config_reference_matches_the_schema():
    documented = README[README.index(BEGIN): README.index(END) + len(END)]
    assert documented == reference_markdown(), "regenerate with: python -m mlpctl.config.reference"


def test_every_exit_code_is_documented():
    table = {int(code) for code in re.findall(r"^\| (\d+) \|", README, flags=re.MULTILINE)}
    assert table == {int(code) for code in ExitCode}


def test_every_command_is_documented():
    for command in app.registered_commands:
        assert f"mlpctl {command.callback.__name__}" in README


def test_quick_start_commands_are_there():
    assert "make demo" in README and "make test" in README

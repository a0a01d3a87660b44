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


def _section(begin: str, end: str) -> str:
    return README[README.index(begin): README.index(end)]


def test_the_module_map_names_every_module_and_only_those():
    """The README's map of the code (between its markers) against the package's files."""
    named = set(re.findall(r"`([\w/]+\.py)`", _section("<!-- modules -->", "<!-- /modules -->")))
    modules = {str(path.relative_to(ROOT / "mlpctl")) for path in (ROOT / "mlpctl").rglob("*.py")}
    assert (modules - named, named - modules) == (set(), set())


def test_the_state_table_names_every_state_a_run_directory_can_be_in():
    from mlpctl.rundir.layout import FINAL_STATES

    table = _section("A run directory is always in one of these states", "Plots and `report.html` are made last")
    documented = {state for row in re.findall(r"^\| ([^|]+) \|", table, flags=re.MULTILINE)
                  for state in re.findall(r"`(\w+)`", row)}
    assert documented == {"running", "killed", *FINAL_STATES}

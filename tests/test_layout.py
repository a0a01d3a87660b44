"""The shape of the code: every import points down the data's walk, and importing mlpctl
changes nothing in the process."""

import os
import subprocess
import sys
import tomllib

from importlinter.cli import lint_imports

from conftest import ROOT

# Every module below `runtime` in pyproject.toml's layers, and the package itself.
BELOW_RUNTIME = ["mlpctl", "mlpctl.files", "mlpctl.progress", "mlpctl.runtime", "mlpctl.scoring", "mlpctl.signals",
                 "mlpctl.rundir.states", "mlpctl.rundir.layout", "mlpctl.config", "mlpctl.catalog", "mlpctl.errors", "mlpctl.data", "mlpctl.figures.plots",
                 "mlpctl.console", "mlpctl.cli"]


def test_the_import_contracts_in_pyproject_are_kept(monkeypatch):
    """import-linter's layers contract (no import points up the walk, so no circle) and the
    TensorFlow-free modules; its report names every broken import chain."""
    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True, no_logo=True) == 0


def test_every_module_has_its_place_in_the_layers():
    """A module the contract does not name is not checked: every one must be named."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(contract["layers"] for contract in contracts if contract["type"] == "layers")
    named = {name.strip() for layer in layers for name in layer.split("|")}
    package = ROOT / "mlpctl"
    modules = {f"mlpctl.{path.stem}" for path in package.glob("*.py") if path.stem not in ("__init__", "__main__")}
    modules |= {f"mlpctl.{path.parent.name}" for path in package.glob("*/__init__.py")}
    assert modules - named == set()


def test_every_module_of_a_contracted_package_is_in_its_layers():
    """Inside workflows/ and rundir/ too: a module left out of a container's layers is unchecked."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    for contract in contracts:
        for container in contract.get("containers", []):
            named = {name.strip() for layer in contract["layers"] for name in layer.split("|")}
            folder = ROOT / container.replace(".", "/")
            modules = {path.stem for path in folder.glob("*.py") if path.stem != "__init__"}
            modules |= {path.parent.name for path in folder.glob("*/__init__.py")}
            assert (container, modules - named) == (container, set())


def test_importing_mlpctl_changes_no_environment_variable_and_no_umask():
    probe = (  # records every umask call, so that a umask set and set back is caught too
        "import os, importlib\n"
        "before, calls, umask = dict(os.environ), [], os.umask\n"
        "os.umask = lambda mask: calls.append(mask) or umask(mask)\n"
        f"for name in {BELOW_RUNTIME!r}: importlib.import_module(name)\n"
        "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))\n"
        "print(changed, calls)\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment,
                            cwd=ROOT, check=True)
    assert result.stdout.split() == ["[]", "[]"]


def test_every_public_class_and_function_of_the_package_says_what_it_is_for():
    """A docstring on each module-level public class and function a newcomer meets (methods that
    override Keras', pydantic's or the progress protocol's are documented where they are defined)."""
    import ast

    missing = []
    for path in sorted((ROOT / "mlpctl").rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_") \
                    and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert missing == []

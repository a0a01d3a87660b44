"""What only a real process shows: imports at start-up, exit codes (signals: test_stopping.py)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import CONFIGS, ROOT, base_config

HEAVY = ("tensorflow", "keras", "pandas", "matplotlib")
REPORT_IMPORTS = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('LOADED=' + ','.join(sorted("
    "{m.split('.')[0] for m in sys.modules} & set(%r)))))\n"
    "sys.argv = ['mlpctl', *%r]\n"
    "from mlpctl.cli import main\n"
    "main()\n"
)


def mlpctl(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlpctl", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, **kwargs)


def heavy_modules_loaded_by(*args) -> str:
    code = REPORT_IMPORTS % (HEAVY, [str(arg) for arg in args])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    # main() ends with SystemExit(0); anything else (mlpctl.cli not importable) must fail the test,
    # although atexit prints LOADED= all the same
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout.split("LOADED=")[-1].strip()


@pytest.mark.parametrize("args", [
    ("--help",), ("train", "--help"), ("validate", *sorted(CONFIGS.glob("*.yaml"))), ("schema",),
    ("show", CONFIGS / "digits.yaml"),
    ("sweep", CONFIGS / "xor.yaml", "--grid", "optimizer.learning_rate=0.1,0.01", "--seeds", "1,2", "--dry-run"),
], ids=["help", "train-help", "validate", "schema", "show", "sweep-dry-run"])
def test_help_and_validate_load_no_tensorflow(args):
    assert heavy_modules_loaded_by(*args) == ""


@pytest.mark.slow
def test_exit_codes_through_a_real_process(write_config, tmp_path):
    bad_config = write_config(base_config(scenario="bianry"), "bad.yaml")
    bad_data = write_config(base_config(**{"data.path": str(tmp_path / "absent.csv")}), "nodata.yaml")
    assert mlpctl("validate", *sorted(CONFIGS.glob("*.yaml"))).returncode == 0
    assert mlpctl("validate", bad_config).returncode == 2
    assert mlpctl("train", "--no-such-option", bad_config).returncode == 2
    result = mlpctl("train", bad_data, "-o", tmp_path / "runs")
    assert result.returncode == 3
    assert result.stderr.startswith("error: data.path: file not found") and "Traceback" not in result.stderr


@pytest.mark.slow
def test_xla_programs_are_kept_between_runs_unless_turned_off(tmp_path):
    """training.jit compiles once per shape: the program lands in MLPCTL_XLA_CACHE (default
    ~/.cache/mlpctl/xla), in a folder for this kind of machine, and a second process training the
    same config finds it there instead of writing another, without TF's C++ lines about loading
    it on stderr; MLPCTL_XLA_CACHE=off keeps nothing."""
    cache, home = tmp_path / "cache", tmp_path / "home"
    clean = {name: value for name, value in os.environ.items() if name != "TF_XLA_FLAGS"}  # as a shell has it
    train = ("train", CONFIGS / "xor.yaml", "-o", tmp_path / "runs", "-q", "--set", "training.jit=on",
             "--set", "training.epochs=50", "--set", "report.plots=false")
    first = mlpctl(*train, env={**clean, "MLPCTL_XLA_CACHE": str(cache)})
    assert first.returncode == 0, first.stderr
    programs = {path: path.stat().st_mtime_ns for path in cache.rglob("*") if path.is_file()}
    assert programs and all(path.suffix == ".pb" and path.parent.parent == cache for path in programs)
    second = mlpctl(*train, env={**clean, "MLPCTL_XLA_CACHE": str(cache)})
    assert second.returncode == 0 and second.stderr == "", second.stderr
    assert {path: path.stat().st_mtime_ns for path in cache.rglob("*") if path.is_file()} == programs
    damaged = next(iter(programs))
    damaged.write_bytes(damaged.read_bytes()[:1000])  # as a full disk may leave it
    fallback = mlpctl(*train, "--json", env={**clean, "MLPCTL_XLA_CACHE": str(cache)})
    assert fallback.returncode == 0, fallback.stderr
    notes = json.loads(fallback.stdout)["notes"]
    assert any("could not compile this run or load it from its cache" in note and "safe to delete" in note
               for note in notes), notes
    off = mlpctl(*train, env={**clean, "MLPCTL_XLA_CACHE": "off", "XDG_CACHE_HOME": str(home)})
    assert off.returncode == 0 and not (home / "mlpctl").exists()  # (matplotlib keeps its font list there)
    metrics = [json.loads(path.read_text()) for path in sorted((tmp_path / "runs").glob("xor-*/metrics.json"))]
    assert [m["jit"]["on"] for m in metrics] == [True, True, False, True]


@pytest.mark.slow
@pytest.mark.parametrize("closed", [(2,), (0, 1, 2)], ids=["stderr", "every-stream"])
def test_training_needs_no_usable_standard_streams(tmp_path, closed):
    """`2>&-`, as daemons and some job runners start a process: Python sets sys.stderr to None
    (every run failed, exit 1), and a closed descriptor would be taken by the next file opened."""
    def close_streams():
        for fd in closed:
            os.close(fd)

    result = subprocess.run([sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "xor.yaml"), "-o",
                             str(tmp_path), "--set", "report.plots=false"], cwd=ROOT, timeout=120,
                            preexec_fn=close_streams, stdout=subprocess.DEVNULL if 1 not in closed else None)
    assert result.returncode == 0
    [run_dir] = [path for path in tmp_path.iterdir() if not path.is_symlink()]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
    assert (run_dir / "model.keras").is_file()


@pytest.mark.parametrize("args", [("--version",), ("schema",), ("show", CONFIGS / "xor.yaml"),
                                  ("validate", CONFIGS / "xor.yaml")], ids=["version", "schema", "show", "validate"])
def test_stdout_on_a_full_disk_is_one_line_naming_it(args):
    """Every command was exit 1 (--version with a traceback) when stdout could not be written;
    validate writes nothing to stdout, so it does not care."""
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "mlpctl", *map(str, args)], stdout=full, stderr=subprocess.PIPE,
                                text=True, cwd=ROOT, timeout=60)
    if args[0] == "validate":
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2 and result.stderr == "error: stdout: cannot be written (No space left on device)\n"


@pytest.mark.slow
def test_a_run_whose_json_cannot_be_written_is_complete_report_and_all(tmp_path):
    """report.html was lost too: Keras' model summary flushes a Rich console on stdout."""
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "xor.yaml"), "-o", str(tmp_path),
                                 "--json", "-q"], stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "error: stdout: cannot be written (No space left on device)"]
    run_dir = (tmp_path / "latest").resolve()
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
    assert (run_dir / "report.html").is_file() and (run_dir / "model.keras").is_file()


@pytest.mark.slow
def test_an_xla_cache_folder_with_a_space_is_used_as_named_and_nothing_lands_beside_it(tmp_path):
    """XLA split the unquoted flag at the space: "/home/Ann Lee/.cache" wrote into "/home/Ann"."""
    cache = tmp_path / "Ann Lee" / "xla"
    clean = {name: value for name, value in os.environ.items() if name != "TF_XLA_FLAGS"}
    result = mlpctl("train", CONFIGS / "xor.yaml", "-o", tmp_path / "runs", "-q", "--set", "training.jit=on",
                    "--set", "training.epochs=20", "--set", "report.plots=false",
                    env={**clean, "MLPCTL_XLA_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr
    assert [path.suffix for path in cache.rglob("*") if path.is_file()] == [".pb"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["Ann Lee", "runs"]  # no "Ann"

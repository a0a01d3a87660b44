"""Every way a run can stop leaves a run directory in a documented state: Ctrl-C and SIGTERM
(real processes and real signals), kill -9, a stop during the wrap-up, a plot that fails, an
output that cannot be written."""

import csv
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CONFIGS, ROOT, base_config, run_dir_of

from mlpctl import signals

LONG = ("--set", "training.epochs=10000000")  # XOR with XLA does 100,000 epochs in about a second


def start_training(tmp_path, *args, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "xor.yaml"), "-o", str(tmp_path), "--json", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def wait_for(process: subprocess.Popen, prefix: str, seconds: float = 90) -> list[str]:
    """stderr's lines up to the first that starts with `prefix`."""
    lines, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if line.startswith(prefix) or (not line and process.poll() is not None):
            return lines
    raise AssertionError(f"no line starting {prefix!r} in {seconds} s: {''.join(lines)}")


def the_run_dir(tmp_path) -> Path:
    (run_dir,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    return run_dir


def history_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_sigterm_ends_training_like_ctrl_c_keeps_every_epoch_and_says_which(tmp_path):
    """SIGTERM takes Ctrl-C's path (a real SIGINT: the next test), with its own exit code.
    Also: TensorFlow's start-up logs stay hidden, and the plain progress lines are few."""
    process = start_training(tmp_path, *LONG)
    lines = wait_for(process, "epoch ")
    wait_until(lambda: len(history_rows(the_run_dir(tmp_path))) > 1)  # some chunks of epochs later, on disk
    process.send_signal(signal.SIGTERM)
    stdout, rest = process.communicate(timeout=60)
    stderr = "".join(lines) + rest
    assert process.returncode == 143, stderr
    document = json.loads(stdout)
    assert document["status"] == "interrupted" and document["signal"] == "SIGTERM"
    assert document["metrics"]["train"]["accuracy"] == 1.0  # evaluated on the weights it stopped with
    assert 0 < document["epochs_run"] < 10000000
    # set before TensorFlow started: oneDNN off (runtime.import_tensorflow), one thread for XOR's tiny steps
    assert document["versions"]["tf_onednn"] == "0" and document["versions"]["tf_threads"] == "1"
    run_dir = tmp_path / os.path.basename(document["run_dir"])
    assert len(history_rows(run_dir)) == document["epochs_run"]
    assert (run_dir / "model.keras").exists() and (run_dir / "config.yaml").exists()
    assert json.loads((run_dir / "metrics.json").read_text()) == document
    assert "interrupted after" in stderr
    assert stderr.count("\nepoch ") < 10  # thousands of epochs, a few lines
    for noise in ("I0000", "E0000", "absl::InitializeLog", "cuInit", "oneDNN", "UserWarning"):
        assert noise not in stderr, noise


@pytest.mark.slow
def test_kill_9_leaves_a_running_record_that_readers_call_killed(tmp_path, cli):
    process = start_training(tmp_path, *LONG)
    wait_for(process, "epoch ")
    wait_until(lambda: len(history_rows(the_run_dir(tmp_path))) > 1)  # flushed at least every second
    process.kill()
    process.wait(timeout=30)
    run_dir = the_run_dir(tmp_path)
    document = json.loads((run_dir / "metrics.json").read_text())
    assert document["status"] == "running" and document["pid"] == process.pid
    rows = history_rows(run_dir)
    assert len(rows) > 0 and [int(row["epoch"]) for row in rows] == list(range(1, len(rows) + 1))
    compared = cli("compare", run_dir, "--json", "--metric", "train.loss", "-o", tmp_path / "c.png")
    assert compared.exit_code == 0, compared.stderr
    listed = json.loads(compared.stdout)["runs"][0]
    assert listed["status"] == "killed" and listed["epochs_run"] == len(rows)  # not the 0 it started with
    predicted = cli("predict", run_dir, "-i", ROOT / "data" / "xor.csv")
    assert predicted.exit_code == 2 and f"the run is killed after {len(rows)} epoch(s)" in predicted.stderr
    shown = cli("show", run_dir)
    assert shown.exit_code == 0 and shown.stderr.startswith(f"run: killed after {len(rows)} epoch(s)")
    assert "name: xor" in shown.stdout


@pytest.mark.slow
def test_ctrl_c_while_tensorflow_starts_leaves_an_interrupted_run(tmp_path):
    process = start_training(tmp_path)
    wait_for(process, "run directory:")  # printed before TensorFlow is imported (~5 s)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "error: interrupted" in stderr and "Traceback" not in stderr
    document = json.loads((the_run_dir(tmp_path) / "metrics.json").read_text())
    assert document["status"] == "interrupted" and document["signal"] == "SIGINT" and document["epochs_run"] == 0


def test_a_stop_after_the_last_epoch_keeps_the_history_and_the_model(cli, tmp_path, monkeypatch):
    from mlpctl.training import train

    def stopped(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "evaluate", stopped)  # Ctrl-C during the final evaluation
    result = cli("train", CONFIGS / "xor.yaml", "-o", tmp_path, "--json", "--set", "training.epochs=30")
    assert result.exit_code == 130
    document = json.loads(result.stdout)
    assert document["status"] == "interrupted" and document["epochs_run"] == 30 and document["metrics"] == {}
    run_dir = run_dir_of(result)
    assert len(history_rows(run_dir)) == 30 and (run_dir / "model.keras").exists()


def test_a_second_stop_waits_until_the_files_are_written():
    with signals.stop_signals_handled():
        with pytest.raises(signals.Stopped) as stop:
            with signals.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler has run by now, and raised nothing here
                written = True
        assert written and stop.value.signal_name == "SIGTERM"


class SignalsInItsFinalizer:
    """Sends SIGTERM to this process from `__del__`: the handler runs there, and Python prints the
    Stopped it raises as "Exception ignored" and goes on (TensorFlow's garbage collection of
    traced functions runs finalizers at any moment: CI caught a SIGTERM lost that way)."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # a few bytecodes: the handler runs here, not after
            pass


LOST_STOP_PRINTED = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@LOST_STOP_PRINTED
def test_a_stop_raised_where_python_ignores_exceptions_is_raised_again_by_check():
    with signals.stop_signals_handled():
        SignalsInItsFinalizer()  # dropped at once; its Stopped is printed and ignored
        assert signals.received() == "SIGTERM"
        with pytest.raises(signals.Stopped) as stop:
            signals.check()
        assert stop.value.signal_name == "SIGTERM"
    with signals.stop_signals_handled():
        signals.check()  # the next command starts without the last one's stop


@LOST_STOP_PRINTED
@pytest.mark.parametrize("config, engine", [("xor.yaml", "graph"), ("xor.yaml", "fit"),
                                            ("lectures/lbfgs_xor.yaml", "auto")])
def test_a_sigterm_lost_in_a_finalizer_still_ends_training_as_interrupted(cli, tmp_path, monkeypatch, config, engine):
    from mlpctl.rundir.history import HistoryLog

    epoch = HistoryLog.epoch

    def epoch_then_lost_signal(self, number, row):
        epoch(self, number, row)
        if number == 3:
            SignalsInItsFinalizer()

    monkeypatch.setattr(HistoryLog, "epoch", epoch_then_lost_signal)
    result = cli("train", CONFIGS / config, "-o", tmp_path, "--json", "--set", "training.epochs=5000",
                 "--set", f"training.engine={engine}")
    assert result.exit_code == 143, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "interrupted" and document["signal"] == "SIGTERM"
    assert 3 <= document["epochs_run"] < 5000  # the graph engine checks after each chunk of epochs


@LOST_STOP_PRINTED
def test_a_sigterm_lost_after_the_last_epoch_still_ends_the_run_as_interrupted(cli, tmp_path, monkeypatch):
    """What CI caught: XLA ran all the epochs before the signal came, and it was lost in the wrap-up."""
    from mlpctl.training import train

    evaluate = train.evaluate

    def evaluate_then_lost_signal(*args):
        metrics = evaluate(*args)
        SignalsInItsFinalizer()
        return metrics

    monkeypatch.setattr(train, "evaluate", evaluate_then_lost_signal)
    result = cli("train", CONFIGS / "xor.yaml", "-o", tmp_path, "--json", "--set", "training.epochs=30")
    assert result.exit_code == 143, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "interrupted" and document["signal"] == "SIGTERM" and document["epochs_run"] == 30
    assert (run_dir_of(result) / "model.keras").exists()


@pytest.mark.slow
def test_labels_are_plain_text_and_a_failing_plot_is_a_note_not_a_lost_run(cli, tmp_path, write_config, monkeypatch):
    from mlpctl.figures import plots

    data = tmp_path / "maths.csv"
    data.write_text((ROOT / "data" / "xor_cloud.csv").read_text().replace("x1,x2", "$x^$,y_{1}", 1))
    config = write_config(base_config(**{"data.path": str(data), "training.epochs": 2}))
    assert (ROOT / "data" / "xor_cloud.csv").read_text().startswith("x1,x2")
    result = cli("train", config, "-o", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.stderr
    assert (run_dir_of(result) / "decision_boundary.png").exists()  # mathtext would fail on `$x^$`

    def broken(*args):
        raise ValueError("cannot draw this")

    monkeypatch.setattr(plots, "confusion_matrix", broken)
    result = cli("train", config, "-o", tmp_path / "runs", "--json")
    assert result.exit_code == 0
    assert "warning: confusion_matrix.png not written: ValueError: cannot draw this" in result.stderr
    run_dir = run_dir_of(result)
    document = json.loads((run_dir / "metrics.json").read_text())
    assert document["status"] == "completed" and any("confusion_matrix.png" in note for note in document["notes"])
    assert (run_dir / "report.html").exists() and (run_dir / "roc_curve.png").exists()
    assert not (run_dir / "confusion_matrix.png").exists()


def _small_files_only():
    """In the child: files larger than 20 kB cannot be written (as on a full disk), and the
    write fails with an error instead of the signal that would kill the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.slow
def test_a_full_disk_is_exit_2_with_one_line_and_no_temporary_files(tmp_path):
    process = start_training(tmp_path, "--set", "training.epochs=5", preexec_fn=_small_files_only)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write" in errors[0] and "File too large" in errors[0], stderr
    run_dir = the_run_dir(tmp_path)
    assert not [path.name for path in run_dir.iterdir() if ".tmp" in path.name]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "output_error"


@pytest.mark.slow
def test_a_full_disk_while_spilling_a_streamed_runs_rows_is_exit_2_and_leaves_no_rows(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "digits.yaml"), "-o", str(tmp_path), "-q",
         "--set", "data.streaming=true"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_small_files_only)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    assert stderr.startswith("error: cannot write ") and "/.rows/train-000000.f32: File too large" in stderr, stderr
    run_dir = the_run_dir(tmp_path)
    assert not (run_dir / ".rows").exists()
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "output_error"


# --- sweeps -----------------------------------------------------------------------------------

def start_sweep(tmp_path, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlpctl", "sweep", str(CONFIGS / "xor.yaml"), "-o", str(tmp_path), "--json", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def running_trial_pids(tmp_path, trial: str = "trial-*") -> list[int]:
    """The pids that the sweep's running trials recorded (its workers)."""
    pids = []
    for path in tmp_path.glob(f"*/{trial}/metrics.json"):
        try:
            document = json.loads(path.read_text())
        except ValueError:
            continue
        if document["status"] == "running":
            pids.append(document["pid"])
    return pids


def gone(pid: int) -> bool:
    """No such process, or a zombie waiting for a reaper (it runs no more)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.slow
def test_a_worker_killed_mid_trial_records_that_trial_killed_and_the_sweep_ends_on_its_own(tmp_path):
    """The OOM killer's SIGKILL is not a bug of ours: `killed`, exit 137 (it was `failed`, exit 1)."""
    sweep = start_sweep(tmp_path, "--grid", "training.epochs=1000000,20,21", "--jobs", "2")
    victim = wait_until(lambda: running_trial_pids(tmp_path, "trial-001"))[0]
    os.kill(victim, signal.SIGKILL)  # as the OOM killer does
    stdout, stderr = sweep.communicate(timeout=120)
    document = json.loads(stdout)
    assert [t["status"] for t in document["trials"]] == ["killed", "completed", "completed"], stderr
    assert document["trials"][0]["error"] == "worker died (signal 9: SIGKILL)"
    assert document["trials"][0]["run_dir"] == "trial-001"
    assert sweep.returncode == 137


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_workers_never_outlive_their_sweep(tmp_path, stop):
    sweep = start_sweep(tmp_path, "--grid", "training.epochs=1000000,1000001", "--jobs", "2")
    workers = wait_until(lambda: pids if len(pids := running_trial_pids(tmp_path)) == 2 else None)
    sweep.send_signal(stop)
    sweep.communicate(timeout=60)
    wait_until(lambda: all(gone(pid) for pid in workers), seconds=30)
    if stop == signal.SIGTERM:
        assert sweep.returncode == 143
        document = json.loads(next(tmp_path.glob("*/sweep.json")).read_text())
        assert [t["status"] for t in document["trials"]] == ["interrupted", "interrupted"]


@pytest.mark.slow
def test_a_sweep_killed_before_its_first_trial_ends_can_be_resumed(tmp_path, cli):
    sweep = start_sweep(tmp_path, "--grid", "training.epochs=30,40")
    plan = wait_until(lambda: next(tmp_path.glob("*/sweep.json"), None))
    sweep.kill()  # TensorFlow's import alone outlasts this: no trial has ended
    sweep.communicate(timeout=30)
    assert [t["status"] for t in json.loads(plan.read_text())["trials"]] == ["pending", "pending"]
    result = cli("sweep", "--resume", plan.parent, "--json")
    assert result.exit_code == 0, result.stderr
    assert [t["epochs_run"] for t in json.loads(result.stdout)["trials"]] == [30, 40]


# --- checkpoints and --resume ------------------------------------------------------------------

RESUMABLE = ("--set", "model.regularization.dropout=0.2", "--set", "report.plots=false",
             "--set", "training.early_stopping={monitor: val_loss, patience: 400, restore_best: true}",
             "--set", "optimizer.schedule={name: reduce_on_plateau, patience: 10, factor: 0.5, cooldown: 3}")


def weights_of(run_dir: Path) -> list:
    import keras

    return keras.saving.load_model(run_dir / "model.keras").get_weights()


@pytest.mark.slow
@pytest.mark.parametrize("engine, epochs, every", [("graph", 3000, 50), ("fit", 100, 10), ("streamed", 100, 10)])
def test_a_run_killed_mid_training_resumes_to_bitwise_the_same_weights_and_history(cli, tmp_path, engine, epochs, every):
    """Mini-batches, dropout, early stopping with restore_best and a plateau schedule: all of
    their state crosses the checkpoint. A streamed run spills its rows again (the killed run's
    are left in its directory) and draws the epochs' orders it would have drawn."""
    chosen = ("data.streaming=true", "training.engine=fit") if engine == "streamed" else (f"training.engine={engine}",)
    settings = (*RESUMABLE, *(arg for setting in chosen for arg in ("--set", setting)),
                "--set", f"training.epochs={epochs}", "--set", f"training.checkpoint.every_epochs={every}")
    reference = run_dir_of(cli("train", CONFIGS / "xor_cloud.yaml", "-o", tmp_path / "ref", "--json", *settings))
    process = subprocess.Popen(
        [sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "xor_cloud.yaml"), "-o", str(tmp_path / "cut"), "-q",
         *settings], cwd=ROOT)
    saved = wait_until(lambda: next((tmp_path / "cut").glob("*/checkpoint.npz"), None))
    process.kill()
    process.wait(timeout=30)
    run_dir = saved.parent
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "running", "finished before the kill"
    result = cli("train", "--resume", run_dir, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "completed" and document["resumed_after_epoch"] % every == 0
    assert (run_dir / "history.csv").read_text() == (reference / "history.csv").read_text()
    ours, theirs = weights_of(run_dir), weights_of(reference)
    assert len(ours) == len(theirs) and all((a == b).all() for a, b in zip(ours, theirs))
    assert not (run_dir / "checkpoint.npz").exists()  # a finished run needs none
    assert not (run_dir / ".rows").exists()  # nor its spilled rows


def test_resume_refuses_what_it_cannot_go_on_with(cli, tmp_path, write_config):
    data = tmp_path / "xor.csv"
    shutil.copy(ROOT / "data" / "xor_cloud.csv", data)
    config = write_config(base_config(**{"data.path": str(data), "training.epochs": 4, "report.plots": False,
                                         "training.checkpoint": {"every_epochs": 2}}))
    finished = run_dir_of(cli("train", config, "-o", tmp_path / "runs", "--json"))
    result = cli("train", "--resume", finished)
    assert result.exit_code == 2 and "cannot be resumed: it ended completed" in result.stderr
    stopped = tmp_path / "stopped"
    shutil.copytree(finished, stopped)
    document = json.loads((stopped / "metrics.json").read_text())
    (stopped / "metrics.json").write_text(json.dumps({**document, "status": "interrupted"}))
    result = cli("train", "--resume", stopped)
    assert result.exit_code == 2 and "has no checkpoint" in result.stderr
    assert cli("train", config, "--resume", stopped).exit_code == 2  # a CONFIG or --resume, not both


def test_resume_refuses_a_data_file_that_changed(cli, tmp_path, write_config, monkeypatch):
    from mlpctl.training import train

    data = tmp_path / "xor.csv"
    shutil.copy(ROOT / "data" / "xor_cloud.csv", data)
    config = write_config(base_config(**{"data.path": str(data), "training.epochs": 4, "report.plots": False,
                                         "training.checkpoint": {"every_epochs": 2}}))

    def stopped(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "evaluate", stopped)  # interrupted after its checkpoint at epoch 2
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path / "runs", "--json"))
    assert (run_dir / "checkpoint.npz").exists()
    data.write_text(data.read_text().replace("\n1", "\n0", 1))
    result = cli("train", "--resume", run_dir)
    assert result.exit_code == 3 and "changed since the run started" in result.stderr


@pytest.mark.slow
def test_sighup_ends_training_like_sigterm_with_its_own_exit_code(tmp_path):
    """A closed terminal or a dropped ssh connection: the run was killed at once, nothing kept."""
    process = start_training(tmp_path, *LONG)
    wait_for(process, "epoch ")
    process.send_signal(signal.SIGHUP)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 129, stderr
    document = json.loads(stdout)
    assert document["status"] == "interrupted" and document["signal"] == "SIGHUP"
    assert (the_run_dir(tmp_path) / "model.keras").exists()


@pytest.mark.slow
@pytest.mark.parametrize("stop, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_while_predict_writes_its_output_leaves_no_temporary_file(tmp_path, stop, code):
    trained = subprocess.run([sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "xor.yaml"), "-o",
                              str(tmp_path / "runs"), "--json", "--set", "report.plots=false"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    run_dir = Path(json.loads(trained.stdout)["run_dir"])
    rows = tmp_path / "rows.csv"
    rows.write_text("x1,x2\n" + "0,1\n1,1\n" * 1_000_000)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "mlpctl", "predict", str(run_dir), "-i", str(rows), "-o",
                                str(out / "p.csv")], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not any(out.iterdir()) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)  # until the temporary output exists: the writing has begun
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert list(out.iterdir()) == [], "a partial output was left behind"


def test_a_stop_while_training_is_taken_where_the_engine_checks_not_where_it_lands():
    """Inside TensorFlow's wrappers an exception raised at an arbitrary bytecode crashed the
    process about 5 stops in 100 under XLA (bench/stops.py); under `polled` the handler only
    notes the signal, and `check()` raises it."""
    with signals.stop_signals_handled(), signals.polled():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100):  # bytecodes on which the handler has run, and raised nothing
            time.sleep(0.001)
        assert signals.received() == "SIGTERM"
        with pytest.raises(signals.Stopped) as stop:
            signals.check()
    assert stop.value.signal_name == "SIGTERM"


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.5, 1.0])
def test_a_stop_while_tensorflow_starts_ends_the_run_interrupted(tmp_path, delay):
    """SIGTERM as the run directory appears lands in TensorFlow's import (it takes seconds): an
    exception raised there broke the import (ImportError: initialization failed, or Keras'
    "you need optree"), and the run ended `failed`, exit 1 (bench/stops.py, XLA cache off)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mlpctl", "train", str(CONFIGS / "xor.yaml"), "-o", str(tmp_path), "-q", *LONG],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MLPCTL_XLA_CACHE": "off"})
    wait_until(lambda: list(tmp_path.glob("*/metrics.json")) or process.poll() is not None)
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert json.loads((the_run_dir(tmp_path) / "metrics.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize("damage", ["cut", "empty", "flipped"])
def test_a_cut_or_damaged_checkpoint_is_a_data_error_naming_it(tmp_path, damage):
    """BadZipFile (a checkpoint cut short) and EOFError (an empty one) were exit 1 on --resume."""
    import numpy as np

    from mlpctl.errors import DataError
    from mlpctl.rundir import checkpoint

    path = tmp_path / "checkpoint.npz"
    np.savez(path, meta=np.array('{"arrays": 1}'), a0=np.zeros(10_000))
    data = path.read_bytes()
    path.write_bytes({"cut": data[: len(data) // 2], "empty": b"",
                      "flipped": data[:200] + bytes(b ^ 0xFF for b in data[200:400]) + data[400:]}[damage])
    with pytest.raises(DataError, match="cannot be read as a checkpoint"):
        checkpoint.load(path)


def test_no_damage_to_a_checkpoint_is_an_internal_error(tmp_path):
    """300 seeded damages (bytes changed, the file cut): each reads, or is a DataError; zipfile
    and NumPy raise a dozen other types for them (NotImplementedError for a made-up compression
    method, RuntimeError for a made-up encryption flag, TokenError for a garbled header)."""
    import random

    import numpy as np

    from mlpctl.errors import DataError
    from mlpctl.rundir import checkpoint

    path = tmp_path / "checkpoint.npz"
    meta = '{"arrays": 2, "epoch": 1, "history": [], "state": {}, "duration_s": 0, "data_digest": ""}'
    np.savez_compressed(path, meta=np.array(meta), a0=np.arange(1000.0), a1=np.ones((5, 5)))
    good, rng = path.read_bytes(), random.Random(0)
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data[: rng.randrange(len(data))] if rng.random() < 0.3 else data))
        try:
            checkpoint.load(path)
        except DataError:
            pass


def test_resume_refuses_an_edited_config_before_touching_the_run_and_goes_on_once_undone(cli, tmp_path):
    """config.yaml edited (units 4 -> 3) met the checkpoint inside TensorFlow: exit 1 with a tensor
    dump, and the run was marked failed, never resumable again."""
    import mlpctl

    class StopAtTheThirdEpoch:
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                raise signals.Stopped("SIGTERM")

    config = base_config(**{"training.epochs": 6, "report.plots": False, "training.checkpoint": {"every_epochs": 2}})
    config["data"]["path"] = str(ROOT / "data" / "xor_cloud.csv")
    run = mlpctl.train(config, output_dir=tmp_path, callbacks=[StopAtTheThirdEpoch()])
    assert run.status == "interrupted" and (run.run_dir / "checkpoint.npz").is_file()
    written = (run.run_dir / "config.yaml").read_text()
    units = run.config.model.layers[0].units
    (run.run_dir / "config.yaml").write_text(written.replace(f"units: {units}", f"units: {units - 1}"))
    before = (run.run_dir / "metrics.json").read_bytes()
    refused = cli("train", "--resume", run.run_dir)
    assert refused.exit_code == 2, refused.stderr
    assert f"config.yaml changed since the checkpoint: model.layers.0.units ({units} -> {units - 1})" in refused.stderr
    assert (run.run_dir / "metrics.json").read_bytes() == before  # the run as it was found
    (run.run_dir / "config.yaml").write_text(written)
    resumed = cli("train", "--resume", run.run_dir, "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "completed" and json.loads(resumed.stdout)["epochs_run"] == 6


def _sigterm_after_epoch(monkeypatch, stop_epoch: int) -> None:
    """A real SIGTERM to this process as epoch `stop_epoch` is logged: the handler records it,
    and the engine takes it where it checks."""
    from mlpctl.rundir.history import HistoryLog

    epoch = HistoryLog.epoch

    def epoch_then_sigterm(self, number, row):
        epoch(self, number, row)
        if number == stop_epoch:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(HistoryLog, "epoch", epoch_then_sigterm)


@pytest.mark.slow
@pytest.mark.parametrize("engine, epochs", [("graph", 3000), ("fit", 60), ("streamed", 60)])
def test_a_graceful_stop_before_any_periodic_checkpoint_resumes_to_bitwise_the_same_run(cli, tmp_path, monkeypatch,
                                                                                         engine, epochs):
    """#28: a SIGTERM before the first periodic checkpoint (an hour away here) lost the epochs:
    "no checkpoint: it stopped before its first one". Now the stop writes one where it is taken."""
    from mlpctl.rundir import checkpoint

    chosen = ("data.streaming=true", "training.engine=fit") if engine == "streamed" else (f"training.engine={engine}",)
    settings = (*RESUMABLE, *(arg for setting in chosen for arg in ("--set", setting)),
                "--set", f"training.epochs={epochs}", "--set", "training.checkpoint={every_seconds: 3600}")
    reference = run_dir_of(cli("train", CONFIGS / "xor_cloud.yaml", "-o", tmp_path / "ref", "--json", *settings))
    _sigterm_after_epoch(monkeypatch, 7)
    stopped = cli("train", CONFIGS / "xor_cloud.yaml", "-o", tmp_path / "cut", "--json", *settings)
    monkeypatch.undo()
    assert stopped.exit_code == 143, stopped.output
    document, run_dir = json.loads(stopped.stdout), run_dir_of(stopped)
    assert document["status"] == "interrupted" and 7 <= document["epochs_run"] < epochs
    assert checkpoint.load(run_dir / "checkpoint.npz").epoch == document["epochs_run"]  # where it stopped
    resumed = cli("train", "--resume", run_dir, "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed_after_epoch"] == document["epochs_run"]
    assert json.loads(resumed.stdout)["source"] == document["source"]  # the config file it started from
    assert (run_dir / "history.csv").read_text() == (reference / "history.csv").read_text()
    ours, theirs = weights_of(run_dir), weights_of(reference)
    assert len(ours) == len(theirs) and all((a == b).all() for a, b in zip(ours, theirs))


def test_a_stop_at_the_last_epoch_or_with_checkpoints_off_writes_no_checkpoint(cli, tmp_path, monkeypatch):
    """Training was over there (or the user asked for none): nothing to go on from."""
    _sigterm_after_epoch(monkeypatch, 5)
    last = cli("train", CONFIGS / "xor.yaml", "-o", tmp_path / "last", "--json", "--set", "training.epochs=5",
               "--set", "training.engine=fit", "--set", "report.plots=false")
    assert last.exit_code == 143 and not (run_dir_of(last) / "checkpoint.npz").exists()
    off = cli("train", CONFIGS / "xor.yaml", "-o", tmp_path / "off", "--json", "--set", "training.epochs=50",
              "--set", "training.engine=fit", "--set", "training.checkpoint=null", "--set", "report.plots=false")
    assert off.exit_code == 143 and json.loads(off.stdout)["epochs_run"] == 5
    assert not (run_dir_of(off) / "checkpoint.npz").exists()
    result = cli("train", "--resume", run_dir_of(off))
    assert result.exit_code == 2 and "has no checkpoint of its 5 epoch(s)" in result.stderr


def test_a_run_stopped_before_its_first_epoch_resumes_by_starting_again_in_its_own_directory(cli, tmp_path,
                                                                                             monkeypatch):
    from mlpctl.workflows import run as running

    load_trainer = running.load_trainer

    def stopped_while_tensorflow_starts(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return load_trainer(*args, **kwargs)

    settings = ("--set", "training.epochs=40", "--set", "report.plots=false")
    reference = run_dir_of(cli("train", CONFIGS / "xor.yaml", "-o", tmp_path / "ref", "--json", *settings))
    monkeypatch.setattr(running, "load_trainer", stopped_while_tensorflow_starts)
    stopped = cli("train", CONFIGS / "xor.yaml", "-o", tmp_path / "cut", "--json", *settings)
    monkeypatch.undo()
    [run_dir] = (tmp_path / "cut").iterdir()
    document = json.loads((run_dir / "metrics.json").read_text())
    assert stopped.exit_code == 143 and document["status"] == "interrupted" and document["epochs_run"] == 0
    resumed = cli("train", "--resume", run_dir, "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "completed"
    assert (run_dir / "history.csv").read_text() == (reference / "history.csv").read_text()
    assert sorted(path.name for path in run_dir.parent.iterdir()) == sorted([run_dir.name, "latest"])  # one directory


# --- one process per run directory: the lock, --force and the heartbeat (#28 items 3 and 5) -------

def _stopped_run(cli, tmp_path, monkeypatch) -> Path:
    """A real run stopped by SIGTERM after epoch 3 of 30, with its checkpoint."""
    _sigterm_after_epoch(monkeypatch, 3)
    result = cli("train", CONFIGS / "xor.yaml", "-o", tmp_path, "--json", "--set", "training.epochs=30",
                 "--set", "training.engine=fit", "--set", "report.plots=false")
    monkeypatch.undo()
    assert result.exit_code == 143
    return run_dir_of(result)


def test_a_run_holds_its_lock_while_it_trains_and_lets_go_when_it_ends(cli, tmp_path, monkeypatch):
    from mlpctl.rundir import lock
    from mlpctl.rundir.history import HistoryLog

    seen, epoch = [], HistoryLog.epoch

    def epoch_and_look(self, number, row):
        epoch(self, number, row)
        seen.append(lock.is_held(self.path.parent))

    monkeypatch.setattr(HistoryLog, "epoch", epoch_and_look)
    run_dir = run_dir_of(cli("train", CONFIGS / "xor.yaml", "-o", tmp_path, "--json", "--set", "training.epochs=3",
                             "--set", "training.engine=fit", "--set", "report.plots=false"))
    assert seen == [True, True, True] and not lock.is_held(run_dir)


def test_a_second_resume_of_a_run_being_resumed_is_refused_and_touches_nothing(cli, tmp_path, monkeypatch):
    """A retried CI job or a requeued batch job: both trained into one directory."""
    from mlpctl.rundir import lock

    run_dir = _stopped_run(cli, tmp_path, monkeypatch)
    before = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()}
    with lock.held(run_dir):  # the other resume, in the middle of its run
        result = cli("train", "--resume", run_dir)
        assert result.exit_code == 2 and "still running: another process holds its lock" in result.stderr
        forced = cli("train", "--resume", run_dir, "--force")
        assert forced.exit_code == 2 and "holds its lock" in forced.stderr
    assert {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()} == before
    assert cli("train", "--resume", run_dir, "-q").exit_code == 0


def test_a_run_that_died_on_another_host_resumes_with_force_and_show_says_it_is_silent(cli, tmp_path, monkeypatch):
    run_dir = _stopped_run(cli, tmp_path, monkeypatch)
    document = json.loads((run_dir / "metrics.json").read_text())
    (run_dir / "metrics.json").write_text(json.dumps({**document, "status": "running", "host": "node-17",
                                                      "pid": 4242}))
    ten_minutes_ago = time.time() - 600
    os.utime(run_dir / ".lock", (ten_minutes_ago, ten_minutes_ago))
    shown = cli("show", run_dir)
    assert "running after 3 epoch(s) (pid 4242 on node-17); no sign of life for 10 minute(s)" in shown.stderr
    refused = cli("train", "--resume", run_dir)
    assert refused.exit_code == 2 and "still running" in refused.stderr and "--force" in refused.stderr
    resumed = cli("train", "--resume", run_dir, "--force", "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed_after_epoch"] == 3
    assert cli("train", CONFIGS / "xor.yaml", "--force").exit_code == 2  # --force is for --resume


@pytest.mark.slow
def test_a_run_stopped_by_a_full_disk_resumes_from_its_last_checkpoint_once_space_is_freed(cli, tmp_path,
                                                                                            monkeypatch):
    """#28 item 4: `output_error` was refused by --resume for good."""
    import errno

    from mlpctl.files import unwritable
    from mlpctl.rundir.history import HistoryLog

    settings = ("--set", "training.epochs=12", "--set", "training.engine=fit", "--set", "report.plots=false",
                "--set", "training.checkpoint={every_epochs: 4}")
    reference = run_dir_of(cli("train", CONFIGS / "xor_cloud.yaml", "-o", tmp_path / "ref", "--json", *settings))
    epoch = HistoryLog.epoch

    def disk_full_at_epoch_7(self, number, row):
        epoch(self, number, row)
        if number == 7:
            raise unwritable(self.path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(HistoryLog, "epoch", disk_full_at_epoch_7)
    full = cli("train", CONFIGS / "xor_cloud.yaml", "-o", tmp_path / "full", *settings)
    monkeypatch.undo()
    [run_dir] = (tmp_path / "full").iterdir()
    assert full.exit_code == 2 and "No space left on device" in full.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "output_error"
    resumed = cli("train", "--resume", run_dir, "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed_after_epoch"] == 4
    assert (run_dir / "history.csv").read_text() == (reference / "history.csv").read_text()


def test_a_stop_the_moment_a_temporary_file_is_made_leaves_no_temporary_file(tmp_path, monkeypatch):
    """Found by the SIGHUP case of the predict test above, once in a full run: a stop landing
    after the temporary file was created but before its name was kept left it behind."""
    from mlpctl import files

    real_open = os.open

    def created_then_stopped(path, flags, *args):
        real_open(path, flags, *args)
        raise signals.Stopped("SIGHUP")  # as a signal's handler raises it, between two bytecodes

    monkeypatch.setattr(os, "open", created_then_stopped)
    with pytest.raises(KeyboardInterrupt):
        files.replace_atomically(tmp_path / "out.csv", lambda temporary: temporary.write_text("rows"))
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []

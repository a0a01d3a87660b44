"""metrics.json: the record of a run, written at each change of its state."""

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mlpctl import signals
from mlpctl.config import RunConfig, resolved_yaml
from mlpctl.files import atomic_write, replace_atomically, write_json
from mlpctl.rundir.history import history_csv
from mlpctl.rundir.layout import FILES
from mlpctl.rundir.states import this_process


def write_config(run_dir: Path, config: RunConfig) -> None:
    """config.yaml: the resolved config, every default filled in, so the run can be repeated from its directory."""
    atomic_write(run_dir / FILES["config"], resolved_yaml(config))


def save_model(model, run_dir: Path) -> None:
    """Atomically, like every file; Keras insists on a .keras suffix, so the temporary name keeps one."""
    replace_atomically(run_dir / FILES["model"], model.save, suffix=".tmp.keras")


def save_snapshots(model, snapshots: dict[int, list], path: Path) -> None:
    """snapshots.npz: `epoch_<k>/<weight path>` -> that weight after epoch k, e.g.
    `epoch_10/hidden_1/kernel` (the weight paths Keras gives, without the model's name)."""
    names = [weight.path.partition("/")[2] or weight.path for weight in model.weights]
    arrays = {f"epoch_{epoch}/{name}": value for epoch, weights in snapshots.items()
              for name, value in zip(names, weights)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())


def write_split(run_dir: Path, source_rows: dict) -> None:
    """split.csv: `row,split`, each row's own number in the data file (0 for the first row after
    the header, as pandas numbers them) and the split it went to, each split in the order training
    used it, so the split can be rebuilt with pandas alone."""
    lines = ["row,split"] + [f"{row},{split}" for split, rows in source_rows.items() for row in rows.tolist()]
    atomic_write(run_dir / FILES["split"], "\n".join(lines) + "\n")


GIT_SECONDS = 5.0  # a git that does not answer by then (a hung network mount) is left out


def source_of(config_file: Path) -> dict:
    """Where a run's config came from: the file, and where it sits in a git work tree the
    commit and whether the tree had changes (tracked files only), so a run can be traced back to
    the code and config that made it. Without git, or outside a work tree: the file alone."""
    source: dict = {"config_file": str(config_file.resolve())}
    folder = config_file.resolve().parent

    def git(*arguments: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *arguments], capture_output=True, text=True,
                                  timeout=GIT_SECONDS, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit:
        changes = git("status", "--porcelain", "--untracked-files=no")
        source["git"] = {"commit": commit, "dirty": bool(changes) if changes is not None else None}
    return source


class RunRecord:
    """metrics.json while a run goes on: created `running` with the process's identity, and
    rewritten, atomically, at each change of state."""

    def __init__(self, run_dir: Path, config: RunConfig, smoke: bool = False, resumed_after: int | None = None,
                 data_sha256: str = "", source: dict | None = None):
        self.run_dir = run_dir
        self.document = {
            "status": "running", "smoke": smoke, "name": config.name, "scenario": config.scenario,
            "epochs_run": resumed_after or 0, "seed": config.seed, "split_seed": config.data.split_seed,
            **({"data_sha256": data_sha256} if data_sha256 else {}), **({"source": source} if source else {}),
            "run_dir": str(run_dir.resolve()),
            **this_process(), "started": datetime.now(UTC).isoformat(timespec="seconds"),
            **({"resumed_after_epoch": resumed_after} if resumed_after is not None else {}),
            "notes": [], "metrics": {},
        }
        self.write()

    def write(self, **changes) -> dict:
        self.document.update(changes)
        with signals.deferred():  # a second Ctrl-C must not cut metrics.json in half
            write_json(self.run_dir / FILES["metrics"], self.document)
        return self.document

    def ended(self, status: str, **changes) -> dict:
        """The run is over; `interrupted` also records which signal stopped it."""
        if status == "interrupted":
            changes["signal"] = signals.received() or "SIGINT"
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        return self.write(status=status, finished=finished, **changes)


def final_document(config: RunConfig, result, versions: dict, dataset) -> dict:
    """What a run that trained adds to metrics.json (the data's warnings are among its notes)."""
    return {
        "epochs_run": result.epochs_run,
        "rows": dataset.rows,
        **({"positive_class": dataset.preprocessing.classes[1]} if config.scenario == "binary" else {}),
        "engine": result.engine,
        "jit": result.jit,
        **({"distribute": result.distribute} if result.distribute else {}),
        "notes": [*dataset.warnings, *result.notes],
        "stopped_early_at": result.stopped_early_at,
        "duration_s": round(result.duration_s, 3),
        "versions": versions,
        "metrics": result.metrics,
    }


def write_run(record: RunRecord, config: RunConfig, dataset, result, versions: dict, columns: list[str],
              smoke: bool = False) -> dict:
    """The files of a run that trained, essentials first, all of them before metrics.json says the
    run ended; a Ctrl-C meanwhile waits for them. A smoke run writes metrics.json alone. Then,
    unless smoke, the plots and report.html (`write_report`). Returns metrics.json's content."""
    run_dir = record.run_dir
    with signals.deferred():
        if not smoke:
            write_json(run_dir / FILES["preprocessing"], dataset.preprocessing.to_dict())
            atomic_write(run_dir / FILES["history"], history_csv(result.history, ["epoch", *columns]))
            if result.status != "diverged":
                save_model(result.model, run_dir)
            if result.snapshots:
                save_snapshots(result.model, result.snapshots, run_dir / FILES["snapshots"])
        document = record.ended(result.status, **final_document(config, result, versions, dataset))
        if result.status in ("completed", "diverged"):  # only an unfinished run goes on from it
            (run_dir / FILES["checkpoint"]).unlink(missing_ok=True)
    return document

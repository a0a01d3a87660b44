"""Report stage: the run directory and everything in it.

Every file is written to a temporary name and renamed into place, so a reader never sees half a
file. `config.yaml` is written before training (a crashed run can still be repeated) and
`metrics.json` last (its presence means the run finished, whatever its status).
"""

import csv
import io
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from mlpctl.config import RunConfig, resolved_yaml
from mlpctl.errors import ConfigError

FILES = {
    "config": "config.yaml",
    "metrics": "metrics.json",
    "history": "history.csv",
    "curves": "learning_curves.png",
    "model": "model.keras",
    "preprocessing": "preprocessing.json",
}


def create_run_dir(output_dir: Path, name: str, now: datetime | None = None, timestamped: bool = True) -> Path:
    """`<output_dir>/<name>-<YYYYmmdd-HHMMSS>` (or `<name>`), with -2, -3, ... if taken.
    Never reuses a directory."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--output-dir: cannot create {output_dir}: {exc.strerror}") from None
    stem = f"{name}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}" if timestamped else name
    for attempt in range(1, 1000):
        run_dir = output_dir / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            run_dir.mkdir()  # atomic: fails if another run took the name first
            return run_dir
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run directory name for {stem} in {output_dir}")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600


def atomic_write(path: Path, data: str | bytes) -> None:
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_config(run_dir: Path, config: RunConfig) -> None:
    atomic_write(run_dir / FILES["config"], resolved_yaml(config))


def write_json(path: Path, document: dict) -> None:
    atomic_write(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def history_csv(rows: list[dict[str, float]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["epoch"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def save_model(model, run_dir: Path) -> None:
    """Keras insists on a .keras suffix, so the temporary name keeps one."""
    temporary = run_dir / ".model.tmp.keras"
    model.save(temporary)
    os.replace(temporary, run_dir / FILES["model"])


def metrics_document(config: RunConfig, result, run_dir: Path, versions: dict, rows: dict, smoke: bool = False) -> dict:
    return {
        "status": result.status,
        "smoke": smoke,
        "name": config.name,
        "scenario": config.scenario,
        "epochs_run": result.epochs_run,
        "rows": rows,
        "engine": result.engine,
        "notes": result.notes,
        "stopped_early_at": result.stopped_early_at,
        "seed": config.seed,
        "duration_s": round(result.duration_s, 3),
        "run_dir": str(run_dir.resolve()),
        "versions": versions,
        "metrics": result.metrics,
    }


def write_run(run_dir: Path, config: RunConfig, dataset, result, versions: dict, smoke: bool = False) -> dict:
    """Everything but config.yaml (written before training); a smoke run writes metrics.json
    alone. Returns metrics.json's content."""
    document = metrics_document(config, result, run_dir, versions, dataset.rows, smoke)
    if smoke:
        write_json(run_dir / FILES["metrics"], document)
        return document
    write_json(run_dir / FILES["preprocessing"], dataset.preprocessing.to_dict())
    atomic_write(run_dir / FILES["history"], history_csv(result.history))
    if result.status != "diverged":
        save_model(result.model, run_dir)
    if result.history:
        plot_learning_curves(result.history, run_dir / FILES["curves"])
    write_json(run_dir / FILES["metrics"], document)
    return document


def plot_learning_curves(rows: list[dict[str, float]], path: Path) -> None:
    """Loss and each metric per epoch, training against validation, one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    quantities = [k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    epochs = [row["epoch"] for row in rows]
    figure, axes = plt.subplots(1, len(quantities), figsize=(4.5 * len(quantities), 3.6), squeeze=False)
    for axis, name in zip(axes[0], quantities):
        axis.plot(epochs, [row[name] for row in rows], label="training")
        if f"val_{name}" in rows[0]:
            axis.plot(epochs, [row[f"val_{name}"] for row in rows], label="validation")
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write(path, buffer.getvalue())

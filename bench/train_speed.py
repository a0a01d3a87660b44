"""mlpctl's training time against the equivalent hand-written Keras script.

The hand-written script is the idiomatic one: the same model, `compile` with defaults, and
`model.fit(x, y, batch_size, epochs, validation_data=(xv, yv))` on NumPy arrays. Both times are
`fit` alone (model built, data loaded), in one process, best of `--repeat` runs.

    python bench/train_speed.py [--repeat 3] [--write bench/RESULTS.md]
"""

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlpctl.console import native_stderr_silenced  # noqa: E402

with native_stderr_silenced():
    import keras  # noqa: E402

    from mlpctl import train as trainer  # noqa: E402
    from mlpctl.config import load_config  # noqa: E402
    from mlpctl.data import load_dataset  # noqa: E402
    from mlpctl.model import build_model, get_loss, get_metrics, get_optimizer  # noqa: E402

    trainer.start_tensorflow()

PROBLEMS = ["xor", "xor_cloud", "digits", "regression"]


def keras_script_seconds(config, dataset) -> tuple[float, float]:
    """What a user would write by hand; returns (fit seconds, final training loss)."""
    trainer.seed_everything(config.seed)
    model = build_model(config, dataset.preprocessing)
    model.compile(optimizer=get_optimizer(config), loss=get_loss(config.loss),
                  metrics=get_metrics(config.scenario, one_hot=False))
    batch = len(dataset.x["train"]) if config.training.batch_size == "full" else config.training.batch_size
    validation = (dataset.x["validation"], dataset.y["validation"]) if "validation" in dataset.x else None
    started = time.perf_counter()
    history = model.fit(dataset.x["train"], dataset.y["train"], batch_size=batch,
                        epochs=config.training.epochs, validation_data=validation, verbose=0)
    return time.perf_counter() - started, history.history["loss"][-1]


def mlpctl_seconds(config, dataset) -> tuple[float, float]:
    result = trainer.train(config, dataset)
    return result.duration_s, result.history[-1]["loss"]


def measure(repeat: int) -> list[dict]:
    rows = []
    for name in PROBLEMS:
        config = load_config(ROOT / "configs" / f"{name}.yaml", ["training.early_stopping=null"])
        dataset = load_dataset(config)
        ours = min((mlpctl_seconds(config, dataset) for _ in range(repeat)), key=lambda r: r[0])
        theirs = min((keras_script_seconds(config, dataset) for _ in range(repeat)), key=lambda r: r[0])
        rows.append({"problem": name, "epochs": config.training.epochs, "batch": config.training.batch_size,
                     "rows": len(dataset.x["train"]), "mlpctl_s": ours[0], "keras_s": theirs[0],
                     "mlpctl_loss": ours[1], "keras_loss": theirs[1]})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| problem | train rows | epochs | batch | mlpctl fit (s) | Keras script fit (s) | speed-up | final loss mlpctl / script |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['problem']} | {r['rows']} | {r['epochs']} | {r['batch']} | {r['mlpctl_s']:.2f} | "
                     f"{r['keras_s']:.2f} | {r['keras_s'] / r['mlpctl_s']:.1f}x | {r['mlpctl_loss']:.4f} / {r['keras_loss']:.4f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows = measure(args.repeat)
    header = (f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, TensorFlow {trainer.tf.__version__}, Keras {keras.__version__}; "
              f"best of {args.repeat}.")
    text = f"{header}\n\n{table(rows)}\n"
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()

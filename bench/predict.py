"""Prediction throughput: `mlpctl predict` on a generated file of ROWS rows (CSV and Parquet,
never committed) against Keras' own `model.predict` on the same rows already in memory.

A 64-32-1 network is trained for one epoch on the file (in memory), then:
- each `mlpctl predict` is a fresh process: its wall time (TensorFlow's start included) and
  peak memory;
- in one process, after the run is opened: mlpctl's predict from the file to a file (reading,
  checking, preprocessing, scoring, writing) in rows per second; then, on the preprocessed
  float32 array already in memory, scoring alone: mlpctl's (`scoring.scores`, what predict
  calls) and Keras' `model.predict` at its default batch (32) and at 4,096.

    python bench/predict.py [--rows 1000000] [--write bench/PREDICT.md]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import publish  # noqa: E402

from streaming import generate  # noqa: E402 - the same generated file as bench/streaming.py


def train(folder: Path, data: Path) -> Path:
    config = folder / "train.yaml"
    config.write_text(f"""name: predict-bench
scenario: binary
data: {{path: {data}, target: y, streaming: false}}
model: {{layers: [{{units: 64, activation: relu}}, {{units: 32, activation: relu}}]}}
training: {{epochs: 1, batch_size: 1024, checkpoint: null}}
report: {{plots: false}}
""")
    result = subprocess.run([sys.executable, "-m", "mlpctl", "train", str(config), "-o", str(folder / "runs"),
                             "--json", "-q"], capture_output=True, text=True, check=True)
    return Path(json.loads(result.stdout)["run_dir"])


def process(run_dir: Path, source: Path, output: Path) -> tuple[float, float]:
    """Wall seconds and peak MB of one `mlpctl predict` process (its own, from wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "mlpctl", "predict", str(run_dir), "-i", str(source), "--keep", "y",
                              "-o", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"mlpctl predict failed with status {status}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def child(run_dir: Path, source: Path, output: Path) -> None:
    """In-process rows per second, after the run is opened."""
    import pandas as pd

    from mlpctl.workflows.predict import open_run, predict_file

    run = open_run(run_dir)
    started = time.perf_counter()
    rows, _ = predict_file(run, str(source), str(output), ["y"], False)
    ours = rows / (time.perf_counter() - started)
    from mlpctl.scoring import scores

    x = run.preprocessing.transform(pd.read_csv(source) if source.suffix == ".csv" else pd.read_parquet(source))
    started = time.perf_counter()
    scores(run.model, x)
    scoring = len(x) / (time.perf_counter() - started)
    timings = {}
    for batch in (32, 4096):
        started = time.perf_counter()
        run.model.predict(x, batch_size=batch, verbose=0)
        timings[batch] = len(x) / (time.perf_counter() - started)
    print(json.dumps({"mlpctl": ours, "scoring": scoring, "keras_32": timings[32], "keras_4096": timings[4096]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*map(Path, args.child))
        return
    lines = [f"# Prediction throughput ({date.today()}, {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, {args.rows:,} rows x 20 columns, 64-32-1)", "",
             "| input | `mlpctl predict` process s | peak MB | mlpctl file to file, rows/s | mlpctl scoring alone, "
             "rows/s | Keras `predict` batch 32, rows/s | Keras `predict` batch 4096, rows/s |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files = generate(folder, args.rows)
        run_dir = train(folder, files["parquet"])
        for kind, source in files.items():
            seconds, peak = process(run_dir, source, folder / f"out.{kind}")
            output = subprocess.run([sys.executable, __file__, "--child", str(run_dir), str(source),
                                     str(folder / f"again.{kind}")], capture_output=True, text=True, check=True)
            speed = json.loads(output.stdout.strip().splitlines()[-1])
            lines.append(f"| {kind} | {seconds:.1f} | {peak:.0f} | {speed['mlpctl']:,.0f} | {speed['scoring']:,.0f} | "
                         f"{speed['keras_32']:,.0f} | {speed['keras_4096']:,.0f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    publish(text, args.write)


if __name__ == "__main__":
    main()

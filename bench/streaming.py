"""Streaming training (data.streaming) against in-memory training on the same generated file:
peak memory and training rows per second.

A file of ROWS rows and 20 numeric columns (a binary label from a fixed random read-out) is
generated into a temporary folder, as CSV and as Parquet (never committed). Each run is a fresh
`mlpctl train` process; "peak MB" is its maximum resident memory, "rows/s" the training rows per
second of training time (duration_s in metrics.json; pass one and the final evaluation are not
in it), "total s" the whole process.

    python bench/streaming.py [--rows 2000000] [--epochs 2] [--write bench/STREAMING.md]  (its "measured" section)
"""

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from results import publish  # bench/ is this script's folder, first on sys.path


def generate(folder: Path, rows: int) -> dict[str, Path]:
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 20)).astype(np.float32)
    y = (x @ rng.normal(size=20) > 0).astype(int)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(20)]).assign(y=y)
    paths = {"csv": folder / "big.csv", "parquet": folder / "big.parquet"}
    frame.to_csv(paths["csv"], index=False, float_format="%.6g")
    frame.to_parquet(paths["parquet"], row_group_size=100_000)
    return paths


def config(folder: Path, data: Path, epochs: int, streaming: bool) -> Path:
    path = folder / f"{data.suffix[1:]}-{'stream' if streaming else 'memory'}.yaml"
    path.write_text(f"""name: big
scenario: binary
data: {{path: {data}, target: y, streaming: {str(streaming).lower()}}}
model: {{layers: [{{units: 64, activation: relu}}, {{units: 32, activation: relu}}]}}
training: {{epochs: {epochs}, batch_size: 1024, checkpoint: null}}
report: {{plots: false}}
""")
    return path


def train(config_path: Path, output: Path) -> dict:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-m", "mlpctl", "train", str(config_path), "-o", str(output),
                             "--json", "--quiet"], capture_output=True, text=True, check=True)
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    document = json.loads(result.stdout)
    rows = document["rows"]["train"] * document["epochs_run"]
    return {"peak_mb": peak / 1024, "grew": peak > before, "rows_per_s": rows / document["duration_s"],
            "total_s": total, "accuracy": document["metrics"]["test"]["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    lines = [f"# Streaming vs in-memory training ({date.today()}, {platform.machine()}, Python "
             f"{platform.python_version()}, {args.rows:,} rows x 20 columns, {args.epochs} epochs, 64-32-1, batch 1024)", "",
             "| file | mode | file MB | peak MB | training rows/s | total s | test accuracy |", "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        paths = generate(folder, args.rows)
        # streaming first: ru_maxrss of children only grows, so the smaller peak must come first
        for streaming in (True, False):
            for kind, data in paths.items():
                measured = train(config(folder, data, args.epochs, streaming), folder / "runs")
                peak = f"{measured['peak_mb']:.0f}" if measured["grew"] else f"<= {measured['peak_mb']:.0f}"
                lines.append(f"| {kind} | {'streaming' if streaming else 'in memory'} | "
                             f"{data.stat().st_size / 2**20:.0f} | {peak} | {measured['rows_per_s']:,.0f} | "
                             f"{measured['total_s']:.1f} | {measured['accuracy']:.3f} |")
                print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    publish(text, args.write, "measured")  # the notes around the table stay


if __name__ == "__main__":
    main()

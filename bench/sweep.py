"""An 8-trial sweep against 8 separate `mlpctl train` processes, same trials, same machine.

    python bench/sweep.py [--write bench/SWEEP.md]
"""

import argparse
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
CONFIG = ROOT / "configs" / "digits.yaml"
RATES = ["0.003", "0.001"]
UNITS = ["16", "32", "64", "128"]
FIXED = ["training.epochs=20", "training.early_stopping=null"]
MLPCTL = [sys.executable, "-m", "mlpctl"]


def timed(commands: list[list[str]], parallel: int) -> float:
    started = time.perf_counter()
    running: list[subprocess.Popen] = []
    for command in commands:
        if len(running) == parallel:
            running.pop(0).wait()
        running.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for process in running:
        if process.wait() != 0:
            raise SystemExit(f"failed: {process.args}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    sets = [arg for item in FIXED for arg in ("--set", item)]
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for jobs in (1, 2):
            sweep = [*MLPCTL, "sweep", str(CONFIG), "--grid", f"optimizer.learning_rate={','.join(RATES)}",
                     "--grid", f"model.layers.0.units={','.join(UNITS)}", *sets, "--jobs", str(jobs), "-q", "-o", out]
            rows.append((f"`mlpctl sweep --jobs {jobs}` (8 trials)", timed([sweep], 1)))
            trains = [[*MLPCTL, "train", str(CONFIG), *sets, "--set", f"optimizer.learning_rate={rate}",
                       "--set", f"model.layers.0.units={units}", "-q", "-o", out] for rate in RATES for units in UNITS]
            rows.append((f"8 x `mlpctl train`, {jobs} at a time", timed(trains, jobs)))
    text = "\n".join([
        f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} cores: digits.yaml, 20 epochs, "
        f"grid learning_rate {RATES} x first layer units {UNITS}.", "",
        "| how | wall seconds |", "|---|---|", *[f"| {how} | {seconds:.1f} |" for how, seconds in rows], ""])
    publish(text, args.write)


if __name__ == "__main__":
    main()

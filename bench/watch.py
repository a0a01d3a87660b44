"""What watching a network learn costs per epoch (report.snapshots, report.gradient_norms), and
that not watching costs what it did before they existed.

Each run is a fresh process training as `mlpctl train` does (data, then TensorFlow started with
mlpctl's settings); "fit s" is training alone, the best of --repeat runs. `--before DIR` also
times the plain runs with the mlpctl found in DIR (a checkout of an earlier commit, e.g. made by
`git worktree add /tmp/before <commit>`), so the two can be set side by side.

    python bench/watch.py [--before /tmp/before] [--write bench/WATCH.md]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBLEMS = {
    "xor": ("xor", ["training.epochs=2000", "optimizer={name: sgd, learning_rate: 0.5, momentum: 0.9}"]),
    "digits": ("digits", ["training.epochs=100", "training.early_stopping=null"]),
}
SETTINGS = {
    "plain": [],
    "10 snapshots": ["report.snapshots=10"],
    "gradient norms": ["report.gradient_norms=true"],
}


def child(root: Path, problem: str, setting: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(root))
    from mlpctl.config import load_config
    from mlpctl.data import load_dataset
    from mlpctl.workflows.run import load_trainer

    name, overrides = PROBLEMS[problem]
    config = load_config(ROOT / "configs" / f"{name}.yaml", [*overrides, *SETTINGS[setting], "report.plots=false"])
    dataset = load_dataset(config)
    result = load_trainer(config, dataset).train(config, dataset)
    print(json.dumps({"fit_s": result.duration_s, "epochs": result.epochs_run}))


def measure(root: Path, problem: str, setting: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        output = subprocess.run([sys.executable, __file__, "--child", str(root), problem, setting],
                                capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    best = min(runs, key=lambda run: run["fit_s"])
    return {**best, "us_per_epoch": 1e6 * best["fit_s"] / best["epochs"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier mlpctl to time the plain runs with")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), *args.child[1:])
        return
    lines = [f"Measured {date.today()}: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; best of {args.repeat} fresh processes each.", "",
             "| problem | code | setting | fit s | us per epoch |", "|---|---|---|---|---|"]
    for problem in args.problems:
        runs = [("before", args.before, "plain")] if args.before else []
        runs += [("now", ROOT, setting) for setting in SETTINGS]
        for code, root, setting in runs:
            timing = measure(root, problem, setting, args.repeat)
            lines.append(f"| {problem} | {code} | {setting} | {timing['fit_s']:.2f} | {timing['us_per_epoch']:.0f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()

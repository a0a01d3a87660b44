"""What the pictures cost as the network grows: seconds, peak memory and the PNG's size for the
pictures whose work grows with the classes, the layers or the units (the confusion matrix at
200 classes, learning curves and gradient norms with 160 layers' norms logged, hidden units'
lines of a 1,000-unit layer, weight histograms of 160 layers).

Each picture is drawn from synthetic numbers of that size in a fresh process, by the plotting
functions mlpctl's report calls; `--before DIR` draws the same with the mlpctl found in DIR (a
checkout of an earlier commit, e.g. `git worktree add /tmp/before <commit>`).

    python bench/pictures.py [--before /tmp/before] [--write bench/PICTURES.md]
"""

import argparse
import json
import platform
import resource
import struct
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 100


def confusion_200(out: Path):
    import numpy as np

    from mlpctl.figures import plots

    rng = np.random.default_rng(0)
    matrix = rng.poisson(2, size=(200, 200)) + np.diag(rng.poisson(40, size=200))
    plots.confusion_matrix(matrix, [f"c{i}" for i in range(200)], out, "test")


def history(layers: int) -> list[dict]:
    rows = []
    for epoch in range(1, EPOCHS + 1):
        row = {"epoch": epoch, "loss": 1 / epoch, "accuracy": 1 - 1 / epoch, "val_loss": 1.2 / epoch,
               "val_accuracy": 1 - 1.2 / epoch, "learning_rate": 0.001}
        row |= {f"grad_norm_hidden_{i}": 10.0 ** (-i / 20) / epoch for i in range(1, layers + 1)}
        rows.append(row)
    return rows


def curves_160(out: Path):
    from mlpctl.figures import plots

    plots.learning_curves(history(160), out)


def gradient_norms_160(out: Path):
    from mlpctl.figures import learning_plots

    learning_plots.gradient_norms(history(160), out)


def units_1000(out: Path):
    import numpy as np

    from mlpctl.figures import learning_plots

    rng = np.random.default_rng(0)
    xs = np.linspace(-1, 1, 100)
    grid = np.meshgrid(xs, xs)
    frame = {"grid": grid, "regions": (grid[0] * grid[1] > 0).astype(int).ravel(), "positive": None,
             "title": "final", "lines": rng.normal(size=(1000, 3))}
    raw = rng.uniform(-1, 1, size=(200, 2))
    labels = (raw[:, 0] * raw[:, 1] > 0).astype(int)
    learning_plots.hidden_units(frame, raw, labels, [0, 1], ["x1", "x2"], out)


def histograms_160(out: Path):
    import numpy as np

    from mlpctl.figures import learning_plots

    rng = np.random.default_rng(0)
    kernels = {epoch: {f"hidden_{i}": rng.normal(size=(32, 32)) for i in range(1, 161)} for epoch in (1, 10, 100)}
    learning_plots.weight_histograms(kernels, out)


CASES = {
    "confusion matrix, 200 classes": confusion_200,
    "learning curves, 160 layers' gradient norms": curves_160,
    "gradient norms, 160 layers": gradient_norms_160,
    "hidden units' lines, 1,000 units": units_1000,
    "weight histograms, 160 layers": histograms_160,
}


def child(root: Path, case: str, out: Path) -> None:
    sys.path.insert(0, str(root))
    start = time.perf_counter()
    CASES[case](out)
    seconds = time.perf_counter() - start
    width, height = struct.unpack(">II", out.read_bytes()[16:24])  # the PNG's IHDR
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "png_kb": out.stat().st_size / 1024, "pixels": f"{width} x {height}"}))


def measure(root: Path, case: str, folder: Path) -> dict:
    out = folder / f"{abs(hash((str(root), case)))}.png"
    result = subprocess.run([sys.executable, __file__, "--child", str(root), case, str(out)],
                            capture_output=True, text=True, timeout=1800)
    if result.returncode:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    import tempfile

    sys.path.insert(0, str(ROOT))
    from bench.results import publish

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit, drawn the same way")
    parser.add_argument("--write", type=Path, help="write the table to this Markdown file")
    args = parser.parse_args()
    roots = {"before": args.before, "now": ROOT} if args.before else {"now": ROOT}
    lines = [f"# Pictures as the network grows ({date.today()}, {platform.processor() or platform.machine()}, "
             f"{platform.python_version()})", "",
             "| picture | code | seconds | peak MB | PNG KB | pixels |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            for name, root in roots.items():
                found = measure(root, case, Path(folder))
                lines.append(f"| {case} | {name} | {found['seconds']:.1f} | {found['peak_mb']:.0f} | "
                             f"{found['png_kb']:.0f} | {found['pixels']} |")
                print(lines[-1], file=sys.stderr)
    publish("\n".join(lines) + "\n", args.write)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
    else:
        main()

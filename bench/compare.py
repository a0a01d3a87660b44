"""Train the same problems three ways and print one table: mlpctl, an idiomatic hand-written
Keras script (`model.fit` on NumPy arrays), and scikit-learn's MLPClassifier.

Each (tool, problem) runs in a fresh process, so "process s" is the whole run (imports
included) and "peak MB" that process's maximum resident memory. "fit s" is training alone.
All three get the same rows: the bundled CSVs go through mlpctl's data stage (same split, same
normalization), and the MNIST-shaped set is generated in memory.

    python bench/compare.py [--write bench/RESULTS.md]          # needs: pip install -e '.[bench]'
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
TOOLS = ("mlpctl", "keras", "sklearn")

# name -> (the net and training, shared by the three tools)
PROBLEMS = {
    "xor": dict(config="xor", layers=[4], activation="tanh", optimizer="sgd", learning_rate=0.5,
                momentum=0.9, epochs=2000, batch="full", metric="train accuracy"),
    # the issue's long tiny run: XLA (training.jit auto) against scikit-learn; Keras' fit would take ~7 minutes
    "xor-20k": dict(config="xor", layers=[4], activation="tanh", optimizer="sgd", learning_rate=0.5,
                    momentum=0.9, epochs=20_000, batch="full", metric="train accuracy", tools=("mlpctl", "sklearn")),
    "digits": dict(config="digits", layers=[64, 32], activation="relu", optimizer="adam", learning_rate=0.001,
                   momentum=0.0, epochs=100, batch=32, metric="test accuracy"),
    "mnist-shape": dict(config=None, layers=[256, 128], activation="relu", optimizer="adam", learning_rate=0.001,
                        momentum=0.0, epochs=2, batch=128, metric="test accuracy"),
}


def mnist_shaped(seed: int = 0):
    """60,000 + 10,000 rows of 784 random inputs; the label is a fixed random linear read-out,
    so there is something to learn and the metric means something. In memory laid out as
    mlpctl's data stage leaves rows it read from a file (`aligned_empty`)."""
    import numpy as np

    from mlpctl.data.preprocessing import aligned_empty

    rng = np.random.default_rng(seed)
    x = aligned_empty((70_000, 784))
    rng.random(out=x, dtype=np.float32)
    readout = rng.normal(size=(784, 10)).astype(np.float32)
    y = np.argmax((x - 0.5) @ readout, axis=1).astype(np.int32)
    return {"train": x[:60_000], "test": x[60_000:]}, {"train": y[:60_000], "test": y[60_000:]}


def load(problem: dict):
    """(x, y, config) for a problem; config is the mlpctl RunConfig describing the same net."""
    from mlpctl.config import load_config
    from mlpctl.data import Dataset, Preprocessing, load_dataset

    overrides = [
        f"model.layers={json.dumps([{'units': u, 'activation': problem['activation']} for u in problem['layers']])}",
        f"optimizer={json.dumps({'name': problem['optimizer'], 'learning_rate': problem['learning_rate'], **({'momentum': problem['momentum']} if problem['optimizer'] == 'sgd' else {})})}",
        f"training.epochs={problem['epochs']}", f"training.batch_size={problem['batch']}",
        "training.early_stopping=null", "model.regularization.l2=0.0",
    ]
    if problem["config"]:
        config = load_config(ROOT / "configs" / f"{problem['config']}.yaml", overrides)
        dataset = load_dataset(config)
        return dataset, config
    config = load_config(ROOT / "configs" / "digits.yaml", [*overrides, "name=mnist-shape", "data.validation_split=0.0"])
    x, y = mnist_shaped()
    features = [f"p{i}" for i in range(784)]
    preprocessing = Preprocessing(features, ["label"], "none", [0.0] * 784, [1.0] * 784, list(range(10)))
    return Dataset(x, y, preprocessing, {k: len(v) for k, v in x.items()}), config


def split_for_metric(problem: dict) -> str:
    return problem["metric"].split()[0]


def run_mlpctl(problem: dict) -> tuple[float, float]:
    """As `mlpctl train` runs it: data first, then TensorFlow started with mlpctl's settings."""
    from mlpctl.workflows.run import load_trainer

    dataset, config = load(problem)
    trainer = load_trainer(config, dataset)
    result = trainer.train(config, dataset)
    return result.duration_s, result.metrics[split_for_metric(problem)]["accuracy"]


def run_keras(problem: dict) -> tuple[float, float]:
    """The script a user would write: Sequential, compile, fit(x, y) on NumPy arrays, with
    TensorFlow's own settings (not the ones mlpctl makes before importing it)."""
    from mlpctl.runtime import native_stderr_silenced

    with native_stderr_silenced():
        import keras

        keras.utils.set_random_seed(0)
    dataset, config = load(problem)
    x, y = dataset.x, dataset.y
    classes = len(dataset.preprocessing.classes)
    binary = config.scenario == "binary"
    model = keras.Sequential([keras.Input((x["train"].shape[1],))]
                             + [keras.layers.Dense(u, activation=problem["activation"]) for u in problem["layers"]]
                             + [keras.layers.Dense(1 if binary else classes, activation="sigmoid" if binary else "softmax")])
    optimizer = (keras.optimizers.SGD(problem["learning_rate"], momentum=problem["momentum"])
                 if problem["optimizer"] == "sgd" else keras.optimizers.Adam(problem["learning_rate"]))
    model.compile(optimizer=optimizer, loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    batch = len(x["train"]) if problem["batch"] == "full" else problem["batch"]
    validation = (x["validation"], y["validation"]) if "validation" in x else None
    started = time.perf_counter()
    model.fit(x["train"], y["train"], batch_size=batch, epochs=problem["epochs"], validation_data=validation, verbose=0)
    seconds = time.perf_counter() - started
    split = split_for_metric(problem)
    return seconds, model.evaluate(x[split], y[split], verbose=0, return_dict=True)["accuracy"]


def run_sklearn(problem: dict) -> tuple[float, float]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    dataset, _ = load(problem)
    x, y = dataset.x, {k: v.ravel() for k, v in dataset.y.items()}
    batch = len(x["train"]) if problem["batch"] == "full" else problem["batch"]
    model = MLPClassifier(
        hidden_layer_sizes=tuple(problem["layers"]), activation=problem["activation"], solver=problem["optimizer"],
        learning_rate_init=problem["learning_rate"], momentum=problem["momentum"], nesterovs_momentum=False,
        batch_size=batch, max_iter=problem["epochs"], alpha=0.0, tol=0.0, n_iter_no_change=problem["epochs"] + 1,
        shuffle=problem["batch"] != "full", random_state=0,
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x["train"], y["train"])
    seconds = time.perf_counter() - started
    split = split_for_metric(problem)
    return seconds, float(model.score(x[split], y[split]))


def child(tool: str, name: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    seconds, metric = {"mlpctl": run_mlpctl, "keras": run_keras, "sklearn": run_sklearn}[tool](PROBLEMS[name])
    print(json.dumps({"fit_s": seconds, "metric": metric}))


def measure(tool: str, name: str) -> dict:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", tool, name], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        return {"tool": tool, "problem": name, "error": f"exit status {status}"}
    return {"tool": tool, "problem": name, "process_s": elapsed, "peak_mb": usage.ru_maxrss / 1024,
            **json.loads(output.strip().splitlines()[-1])}


def cli_start_seconds() -> dict:
    timings = {}
    for label, args in (("mlpctl --help", ["--help"]), ("mlpctl validate configs/*.yaml",
                                                        ["validate", *map(str, sorted((ROOT / "configs").glob("*.yaml")))])):
        best = min(_timed([sys.executable, "-m", "mlpctl", *args]) for _ in range(5))
        timings[label] = best
    timings["mlpctl train configs/xor.yaml"] = min(
        _timed([sys.executable, "-m", "mlpctl", "train", str(ROOT / "configs" / "xor.yaml"), "-q", "-o", "/tmp/mlpctl-bench"])
        for _ in range(2))
    return timings


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def report(rows: list[dict], starts: dict) -> str:
    lines = [
        f"Measured {date.today()} on this project's machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; one run each (timings vary by a few percent between runs).",
        "",
        "| problem | net, training | tool | fit s | process s | peak MB | metric |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        problem = PROBLEMS[row["problem"]]
        net = (f"{'-'.join(map(str, problem['layers']))} {problem['activation']}, {problem['optimizer']}, "
               f"batch {problem['batch']}, {problem['epochs']} epochs")
        if "error" in row:
            lines.append(f"| {row['problem']} | {net} | {row['tool']} | {row['error']} | | | |")
            continue
        lines.append(f"| {row['problem']} | {net} | {row['tool']} | {row['fit_s']:.2f} | {row['process_s']:.2f} | "
                     f"{row['peak_mb']:.0f} | {problem['metric']} {row['metric']:.3f} |")
    lines += ["", "| problem | mlpctl fit vs keras fit | mlpctl fit vs sklearn fit |", "|---|---|---|"]
    for name in dict.fromkeys(row["problem"] for row in rows):
        fit = {row["tool"]: row.get("fit_s") for row in rows if row["problem"] == name}
        if fit.get("mlpctl") and fit.get("sklearn"):
            keras = f"{fit['keras'] / fit['mlpctl']:.1f}x faster" if fit.get("keras") else "not run"
            lines.append(f"| {name} | {keras} | {fit['mlpctl'] / fit['sklearn']:.2f}x the time |")
    lines += ["", "| command | seconds (best of several) |", "|---|---|"]
    lines += [f"| `{command}` | {seconds:.2f} |" for command, seconds in starts.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "PROBLEM"), help=argparse.SUPPRESS)
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--write", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    # every XLA compile counted, as in a first run: a cache of this bench's own, empty at the start
    os.environ["MLPCTL_XLA_CACHE"] = tempfile.mkdtemp(prefix="mlpctl-bench-xla-")
    rows = [measure(tool, name) for name in args.problems for tool in PROBLEMS[name].get("tools", TOOLS)]
    text = report(rows, cli_start_seconds())
    publish(text, args.write, "compare")


if __name__ == "__main__":
    main()

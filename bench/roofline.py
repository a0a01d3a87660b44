"""How close training gets to the machine: float32 matrix-product speed (the roofline) against
the samples per second of mlpctl and of Keras, for a grid of net widths and batch sizes.

One training sample of an MLP with W weights costs 6 W - 2 K floating-point operations, K the
first layer's kernel: 2 W forward, 2 W for the weights' gradients, and 2 W for the gradients of
each layer's inputs, which the first layer does not need. The machine's matmul GFLOP/s divided
by that is the most samples per second it could train. Each (tool, net, batch) runs in a fresh process, since TensorFlow reads its
settings (oneDNN) once per process:
- mlpctl: `training.jit: auto` on a long run (1,000 epochs configured, stopped after a few
  seconds), so what `auto` picks for a real training job; and `jit: off`, the plain graph
  engine, beside it;
- keras: the script a user writes (`model.fit` on NumPy arrays, TensorFlow's defaults);
- keras-best: tf.data, `steps_per_execution=32` and `jit_compile=True`, oneDNN on.
Rows per second are timed over whole epochs after the first (compile and warm-up), for about
SECONDS seconds. The data is random (784 inputs, 10 classes): only the speed counts.

    python bench/roofline.py [--quick] [--write bench/RESULTS.md]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import publish  # noqa: E402

INPUTS, CLASSES, ROWS, SECONDS = 784, 10, 16_384, 4.0
NETS = {"64x2": [64, 64], "256x2": [256, 256], "1024x2": [1024, 1024], "256x3": [256, 256, 256],
        "1024x3": [1024, 1024, 1024], "mnist 256-128": [256, 128]}
BATCHES = (32, 128, 512, 4096)
TOOLS = ("mlpctl", "mlpctl-nojit", "keras", "keras-best")
QUICK = {"nets": ["64x2", "mnist 256-128", "1024x2"], "batches": (32, 512)}


def weights(layers: list[int]) -> int:
    widths = [INPUTS, *layers, CLASSES]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def flops_per_sample(layers: list[int]) -> int:
    return 6 * weights(layers) - 2 * INPUTS * layers[0]


def matmul_gflops(size: int = 2048, repeats: int = 10) -> dict:
    """Best float32 matmul speed of NumPy and of TensorFlow (oneDNN off, as mlpctl mostly runs)."""
    import numpy as np

    a, b = (np.random.default_rng(0).random((size, size), dtype=np.float32) for _ in range(2))
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return {"numpy": 2 * size**3 / best / 1e9}


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def data():
    import numpy as np

    from mlpctl.data.preprocessing import aligned_empty

    rng = np.random.default_rng(0)
    x = aligned_empty((ROWS, INPUTS))
    rng.random(out=x, dtype=np.float32)
    y = rng.integers(0, CLASSES, ROWS).astype(np.int32)
    return x, y


class EpochClock:
    """When each epoch was reported; asks to stop once SECONDS have passed since the first.
    mlpctl's graph engine reports a chunk of epochs at once, after the chunk: the speed counts
    the epochs of whole chunks only (those reported before the one that said stop)."""

    def __init__(self):
        self.ends: list[float] = []

    def tick(self) -> bool:
        self.ends.append(time.perf_counter())
        return self.ends[-1] - self.ends[0] >= SECONDS

    def samples_per_second(self) -> float:
        done = [end for end in self.ends if end < self.ends[-1]] if len(set(self.ends)) > 2 else self.ends
        return ROWS * (len(done) - 1) / (done[-1] - done[0])


def run_mlpctl(layers: list[int], batch: int, jit: str) -> dict:
    from mlpctl.config import load_config
    from mlpctl.data import Dataset, Preprocessing
    from mlpctl.progress import Progress
    from mlpctl.workflows.run import load_trainer

    x, y = data()
    config = load_config(ROOT / "configs" / "digits.yaml", [
        f"model.layers={json.dumps([{'units': u, 'activation': 'relu'} for u in layers])}",
        "optimizer={name: adam, learning_rate: 0.001}", "training.epochs=1000", f"training.batch_size={batch}",
        "training.early_stopping=null", "model.regularization.l2=0.0", "data.validation_split=0.0",
        "training.checkpoint=null", f"training.jit={jit}"])
    features = [f"p{i}" for i in range(INPUTS)]
    prep = Preprocessing(features, ["label"], "none", [0.0] * INPUTS, [1.0] * INPUTS, list(range(CLASSES)))
    dataset = Dataset({"train": x}, {"train": y.reshape(-1, 1)}, prep, {"train": ROWS})
    clock = EpochClock()

    class Clocked(Progress):
        def epoch(self, epoch, values):
            if clock.tick():
                raise KeyboardInterrupt  # the engine ends the run there, as on Ctrl-C

    result = load_trainer(config, dataset).train(config, dataset, Clocked())
    return {"samples_s": clock.samples_per_second(), "jit": result.jit["on"],
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS")}


def run_keras(layers: list[int], batch: int, best: bool) -> dict:
    if best:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    import keras
    import tensorflow as tf

    x, y = data()
    model = keras.Sequential([keras.Input((INPUTS,)), *(keras.layers.Dense(u, activation="relu") for u in layers),
                              keras.layers.Dense(CLASSES, activation="softmax")])
    extra = {"jit_compile": True, "steps_per_execution": 32} if best else {}
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy", **extra)
    clock = EpochClock()

    class Clocked(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if clock.tick():
                self.model.stop_training = True

    if best:
        rows = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(ROWS).batch(batch).prefetch(tf.data.AUTOTUNE)
        model.fit(rows, epochs=1000, verbose=0, callbacks=[Clocked()])
    else:
        model.fit(x, y, batch_size=batch, epochs=1000, verbose=0, callbacks=[Clocked()])
    return {"samples_s": clock.samples_per_second(), "jit": best or "keras auto",
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "TF default (on)")}


def child(tool: str, net: str, batch: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    layers = NETS[net]
    if tool.startswith("mlpctl"):
        result = run_mlpctl(layers, batch, "off" if tool == "mlpctl-nojit" else "auto")
    else:
        result = run_keras(layers, batch, best=tool == "keras-best")
    print(json.dumps(result))


def measure(tool: str, net: str, batch: int) -> dict:
    process = subprocess.run([sys.executable, __file__, "--child", tool, net, str(batch)], capture_output=True,
                             text=True, cwd=ROOT)
    if process.returncode != 0:
        return {"error": process.stderr.strip().splitlines()[-1][:120] if process.stderr.strip() else "failed"}
    return json.loads(process.stdout.strip().splitlines()[-1])


def report(gflops: dict, rows: list[dict]) -> str:
    lines = [
        f"Measured {date.today()}: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"float32 matmul (NumPy, 2048x2048): {gflops['numpy']:.0f} GFLOP/s, the roofline below. "
        f"{ROWS:,} random rows of {INPUTS} inputs, {CLASSES} classes, Adam; samples per second over "
        f"whole epochs after the first, one run each. % = of the roofline "
        f"(GFLOP/s / FLOPs per sample, 6 x weights - 2 x the first layer's kernel).",
        "",
        "| net | weights | batch | roofline samples/s | " + " | ".join(TOOLS) + " | mlpctl settings |",
        "|---|---|---|---|" + "---|" * len(TOOLS) + "---|",
    ]
    for row in rows:
        cells = []
        for tool in TOOLS:
            result = row[tool]
            cells.append(result.get("error", f"{result['samples_s'] / 1e3:,.1f}k ({result['samples_s'] / row['roof']:.0%})"))
        settings = row["mlpctl"]
        note = "" if "error" in settings else f"jit {'on' if settings['jit'] else 'off'}, oneDNN {settings['onednn']}"
        lines.append(f"| {row['net']} | {row['weights']:,} | {row['batch']} | {row['roof'] / 1e3:,.1f}k | "
                     + " | ".join(cells) + f" | {note} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="three nets, two batch sizes")
    parser.add_argument("--write", type=Path, help="also put the table in this file (its roofline section)")
    parser.add_argument("--table-from", type=Path, help="only make the table again, from the output of a run")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.table_from:
        rows, gflops = table_rows(args.table_from)
        finish(report(gflops, rows), args.write)
        return
    nets, batches = (QUICK["nets"], QUICK["batches"]) if args.quick else (list(NETS), BATCHES)
    gflops = matmul_gflops()
    rows = []
    for net in nets:
        for batch in batches:
            count = weights(NETS[net])
            row = {"net": net, "weights": count, "batch": batch,
                   "roof": gflops["numpy"] * 1e9 / flops_per_sample(NETS[net])}
            row.update({tool: measure(tool, net, batch) for tool in TOOLS})
            print(json.dumps({**row, "gflops": gflops["numpy"]}), flush=True)
            rows.append(row)
    finish(report(gflops, rows), args.write)


def finish(text: str, write: Path | None) -> None:
    publish("## Training speed against the roofline (bench/roofline.py)\n\n" + text, write, "roofline")


def table_rows(log: Path) -> tuple[list[dict], dict]:
    """The rows a run printed (its JSON lines), the roofline counted again from the GFLOP/s."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    gflops = rows[0].get("gflops") or rows[0]["roof"] * 6 * rows[0]["weights"] / 1e9  # runs before "gflops"
    for row in rows:
        row["roof"] = gflops * 1e9 / flops_per_sample(NETS[row["net"]])
    return rows, {"numpy": gflops}


if __name__ == "__main__":
    main()

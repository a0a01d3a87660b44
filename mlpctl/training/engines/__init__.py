"""The engines that move a compiled model's weights: `graph` (many epochs per call into
TensorFlow), `fit` (Keras' own `model.fit`, the reference) and `lbfgs` (scipy's L-BFGS-B).

Each engine module has `run(config, model, x, y, weights, batch, progress) -> Outcome`, and
all of them compute the same numbers for the same config (tests hold them to it). This module
imports no TensorFlow: the engine is imported when it is chosen.
"""

import importlib
import itertools
import math
import os
from dataclasses import dataclass, field
from typing import Any

from mlpctl import catalog
from mlpctl.config import RunConfig
from mlpctl.errors import ConfigError
from mlpctl.runtime import ONE_THREAD_WORK
from mlpctl.scoring import EVAL_BATCH, with_data_loss

# training.jit: auto compiles the graph engine's chunks with XLA from this many training steps
# on: XLA's compile (1-3 s) costs more than it saves below (bench/README.md, "XLA").
XLA_SMALL_STEPS = 20_000  # steps under ONE_THREAD_WORK weights x rows: XLA saves ~0.1 ms each
XLA_BIG_STEPS = 2_000  # bigger steps: it saves ~0.7 ms each (MNIST-shaped net, batch 128)


@dataclass
class Outcome:
    """What an engine hands back: the history, how it ended, the snapshots taken, notes for metrics.json."""
    history: list[dict[str, float]]
    diverged: bool
    interrupted: bool
    stopped_early_at: int | None
    snapshots: dict = field(default_factory=dict)  # epoch -> the weights after it (report.snapshots)
    notes: list[str] = field(default_factory=list)  # for metrics.json's notes
    compiled: bool = False  # whether XLA compiled the training (training.jit)


def choose_engine(config: RunConfig) -> str:
    """lbfgs for the lbfgs optimizer; otherwise the config's engine, where auto means graph
    (fit for training.distribute: mirrored, which Keras' fit does)."""
    if config.optimizer.name == "lbfgs":
        return "lbfgs"
    if config.training.engine == "auto":
        return "fit" if config.training.distribute == "mirrored" else "graph"
    return config.training.engine


def choose_jit(config: RunConfig, rows: int, weights: int) -> tuple[bool, str]:
    """Whether the graph engine compiles its chunks with XLA, and why (metrics.json): `rows`
    training rows, `weights` the network's (dense_weights). Under auto, when the configured
    steps are enough to pay for the compile: XLA removes TensorFlow's per-op cost, which is
    most of a small step and a good part of a big one."""
    if choose_engine(config) != "graph":
        return False, "XLA is for the graph engine only"
    if config.training.jit != "auto":
        return config.training.jit == "on", f"training.jit: {config.training.jit}"
    batch = config.training.batch_rows(rows)
    steps, work = config.training.epochs * math.ceil(rows / batch), weights * batch
    needed = XLA_BIG_STEPS if work >= ONE_THREAD_WORK else XLA_SMALL_STEPS
    size = f"{steps:,} steps of {work:,} weights x rows"
    if steps >= needed:
        return True, f"training.jit auto: {size}, at least the {needed:,} that pay for XLA's compile"
    return False, f"training.jit auto: {size}, fewer than the {needed:,} that pay for XLA's compile"


def wants_onednn(jit: bool, weights: int, batch: int) -> bool:
    """oneDNN's kernels: with XLA on big steps only, where they made the MNIST-shaped step 1.1-1.5x
    faster; without XLA, or on small steps, they were slower (bench/README.md)."""
    return jit and weights * batch >= ONE_THREAD_WORK


def dense_weights(config: RunConfig, preprocessing) -> int:
    """The Dense layers' weights and biases (what dominates an MLP's size)."""
    widths = [preprocessing.n_inputs, *(layer.units for layer in config.model.layers),
              preprocessing.n_outputs(config.scenario)]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(widths))


BYTES_PER_WEIGHT = 4 * 4  # float32, kept four times: the weight, its gradient, two optimizer slots
BYTES_PER_ACTIVATION = 4 * 4  # float32, per row and unit: the pre-activation, the activation, a gradient of each


def evaluation_rows(dataset) -> int:
    """Rows at once in the final evaluation, however small the training batch."""
    return min(EVAL_BATCH, max(dataset.rows.values()))


def step_rows(config: RunConfig, dataset) -> int:
    """The most rows any engine runs through the network at once: a training step (L-BFGS and
    `full`: every training row), or a batch of the final evaluation."""
    return max(config.training.batch_rows(dataset.rows["train"]), evaluation_rows(dataset))


def activation_values(config: RunConfig, dataset) -> int:
    """Values a step holds per row and unit, for every Dense layer's outputs."""
    units = sum(layer.dense_units for layer in config.model.layers)
    return step_rows(config, dataset) * (units + dataset.preprocessing.n_outputs(config.scenario))


def check_model_fits(config: RunConfig, dataset) -> None:
    """A network too big for this machine's memory is refused before anything is allocated:
    its weights, and a step's activations (rows at once x every layer's units), which grow
    with the batch."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    weights, values = dense_weights(config, dataset.preprocessing), activation_values(config, dataset)
    need = weights * BYTES_PER_WEIGHT + values * BYTES_PER_ACTIVATION
    if need <= memory:
        return
    batch = (memory - weights * BYTES_PER_WEIGHT) // (values // step_rows(config, dataset) * BYTES_PER_ACTIVATION)
    fits = f"a batch_size of at most {batch:,} would fit" if batch >= evaluation_rows(dataset) else \
        "fewer or smaller layers would"
    raise ConfigError(f"model.layers: {weights:,} weights and {values:,} activation values a step need about "
                      f"{need / 2**30:,.0f} GiB to train; this machine has {memory / 2**30:,.0f} GiB ({fits})")


def runner(engine: str):
    """The engine's `run` function."""
    return importlib.import_module(f"mlpctl.training.engines.{engine}").run


def logged_columns(config: RunConfig) -> list[str]:
    """A history row's columns after `epoch`, as the engines log them: loss (data_loss only
    with a penalty: without one it is the loss), metrics, their val_ twins, learning_rate."""
    names = ["loss", *(["data_loss"] if config.has_weight_penalty else []), *catalog.METRICS[config.scenario]]
    validation = [f"val_{name}" for name in names] if config.data.validation_split > 0 else []
    return [*names, *validation, "learning_rate", *gradient_columns(config)]


def gradient_columns(config: RunConfig) -> list[str]:
    """History columns of the per-layer gradient norms (report.gradient_norms), first layer first."""
    if not config.report.gradient_norms:
        return []
    return [f"grad_norm_{name}" for name in dense_names(len(config.model.layers))]


def dense_names(hidden: int) -> list[str]:
    """The Dense layers' names, as model.build_model names them."""
    return [*(f"hidden_{index}" for index in range(1, hidden + 1)), "output"]


def history_columns(config: RunConfig) -> list[str]:
    """history.csv's columns after `epoch`: every run's rows have data_loss beside loss."""
    return list(with_data_loss(dict.fromkeys(logged_columns(config))))


def validation_rows(x: dict, y: dict) -> tuple[Any, Any] | None:
    """(x, y) of the validation split, or None without one."""
    return (x["validation"], y["validation"]) if "validation" in x else None

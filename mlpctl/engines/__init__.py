"""The engines that move a compiled model's weights: `graph` (many epochs per call into
TensorFlow), `fit` (Keras' own `model.fit`, the reference) and `lbfgs` (scipy's L-BFGS-B).

Each engine module has `run(config, model, x, y, weights, batch, progress) -> Outcome`, and
all of them compute the same numbers for the same config (tests hold them to it). This module
imports no TensorFlow: the engine is imported when it is chosen.
"""

import importlib
from dataclasses import dataclass, field

from mlpctl import catalog
from mlpctl.config import RunConfig


@dataclass
class Outcome:
    history: list[dict[str, float]]
    diverged: bool
    interrupted: bool
    stopped_early_at: int | None
    snapshots: dict = field(default_factory=dict)  # epoch -> the weights after it (report.snapshots)


def choose_engine(config: RunConfig) -> str:
    """lbfgs for the lbfgs optimizer; otherwise the config's engine, where auto means graph."""
    if config.optimizer.name == "lbfgs":
        return "lbfgs"
    return "graph" if config.training.engine == "auto" else config.training.engine


def runner(engine: str):
    """The engine's `run` function."""
    return importlib.import_module(f"mlpctl.engines.{engine}").run


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


def with_data_loss(values: dict) -> dict:
    """`values` (a history row, or one split's metrics) with data_loss beside loss (and
    val_data_loss beside val_loss): equal to the loss where no penalty made the engine log it."""
    filled = {}
    for name, value in values.items():
        filled[name] = value
        if name in ("loss", "val_loss"):
            twin = name.replace("loss", "data_loss")
            filled[twin] = values.get(twin, value)
    return filled


def validation_rows(x: dict, y: dict) -> tuple | None:
    """(x, y) of the validation split, or None without one."""
    return (x["validation"], y["validation"]) if "validation" in x else None

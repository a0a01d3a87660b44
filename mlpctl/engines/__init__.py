"""The engines that move a compiled model's weights: `graph` (many epochs per call into
TensorFlow), `fit` (Keras' own `model.fit`, the reference) and `lbfgs` (scipy's L-BFGS-B).

Each engine module has `run(config, model, x, y, weights, batch, progress) -> Outcome`, and
all of them compute the same numbers for the same config (tests hold them to it). This module
imports no TensorFlow: the engine is imported when it is chosen.
"""

import importlib
from dataclasses import dataclass

from mlpctl import catalog
from mlpctl.config import RunConfig


@dataclass
class Outcome:
    history: list[dict[str, float]]
    diverged: bool
    interrupted: bool
    stopped_early_at: int | None


def choose_engine(config: RunConfig) -> str:
    """lbfgs for the lbfgs optimizer; otherwise the config's engine, where auto means graph."""
    if config.optimizer.name == "lbfgs":
        return "lbfgs"
    return "graph" if config.training.engine == "auto" else config.training.engine


def runner(engine: str):
    """The engine's `run` function."""
    return importlib.import_module(f"mlpctl.engines.{engine}").run


def history_columns(config: RunConfig) -> list[str]:
    """A history row's columns after `epoch`: loss, metrics, their val_ twins, learning_rate."""
    names = ["loss", *catalog.METRICS[config.scenario]]
    validation = [f"val_{name}" for name in names] if config.data.validation_split > 0 else []
    return [*names, *validation, "learning_rate"]


def validation_rows(x: dict, y: dict) -> tuple | None:
    """(x, y) of the validation split, or None without one."""
    return (x["validation"], y["validation"]) if "validation" in x else None

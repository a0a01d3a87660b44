"""The rules that span several keys of a config, as data: one table, one error, one message shape.

A `Rule` says when a config breaks it and what to say: `KEY: what is wrong; what to do`. A
`Requirements` entry gathers what one choice needs (lbfgs, bold_driver, streaming, mirrored)
into one message, `KEY: what the choice needs: problem; problem`, so a user fixes them all in
one go. Each entry carries an `example`: `--set` overrides that break it on the smallest
binary config (`BASE`); the tests are generated from them, and so is the README's list of what
goes with what (`reference.rules_markdown`). The schema calls `check` once every section is valid.

The predicates read a validated `RunConfig` (or, for `DATA_RULES`, its data section) and
never raise. This module does not import the schema: the schema imports it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlpctl import catalog
from mlpctl.config.components import name_and_params
from mlpctl.config.suggest import unknown_name
from mlpctl.errors import ConfigError

Says = str | Callable[[Any], str]


@dataclass(frozen=True)
class Rule:
    """One rule across keys: where `broken(config)`, the config is refused with `KEY: says`."""
    key: str  # where the message points, a dotted key of the config
    broken: Callable[[Any], bool]  # the config breaks the rule
    says: Says  # what is wrong and what to do instead (after "KEY: ")
    example: dict[str, Any] = field(default_factory=dict)  # overrides of BASE that break it

    def problem(self, config) -> str | None:
        return _said(self.says, config) if self.broken(config) else None


@dataclass(frozen=True)
class Requirements:
    """What one choice needs, every unmet need in one message."""

    key: str
    applies: Callable[[Any], bool]  # the choice is made
    says: Says  # what the choice needs, in a few words
    needs: tuple[Rule, ...]  # each need's key is the key its own problem names
    example: dict[str, Any] = field(default_factory=dict)

    def problems(self, config) -> list[str]:
        if not self.applies(config):
            return []
        return [problem for need in self.needs if (problem := need.problem(config))]

    def problem(self, config) -> str | None:
        problems, summary = self.problems(config), _said(self.says, config)
        if not problems:
            return None
        return f"{summary}: " + "; ".join(problems) if summary else "; ".join(problems)


Entry = Rule | Requirements


def _said(says: Says, config) -> str:
    return says(config) if callable(says) else says


def check(entries: tuple[Entry, ...], config) -> None:
    """The first entry the config breaks, as one ConfigError `KEY: message`."""
    for entry in entries:
        problem = entry.problem(config)
        if problem:
            raise ConfigError(f"{entry.key}: {problem}")


# The smallest binary config the examples change: XOR with one hidden layer.
BASE = {"name": "rules", "scenario": "binary",
        "data": {"path": "data/xor.csv", "target": "y", "validation_split": 0.25},
        "model": {"layers": [{"units": 2}]}}


# --- the data section (checked with the section itself) -------------------------------------------

def _image_target_is_not_label(data) -> bool:
    return data.source != "table" and data.target not in (None, "label")


DATA_RULES: tuple[Entry, ...] = (
    Rule("data.path", lambda d: d.source == "table" and d.path is None, "required key is missing",
         {"data.path": None}),
    Rule("data.target", lambda d: d.source == "table" and d.target is None, "required key is missing",
         {"data.target": None}),
    Rule("data.target", _image_target_is_not_label,
         lambda d: f"{d.source} has one target, label; leave data.target out",
         {"data.source": "mnist", "data.path": None}),
    Rule("data.test_split",
         lambda d: d.source != "table" and d.test_split != 0.0 and "test_split" in d.model_fields_set,
         lambda d: f"{d.source} has its own test set (10,000 images); leave it out",
         {"data.source": "mnist", "data.path": None, "data.target": None, "data.test_split": 0.1}),
    Rule("data.streaming", lambda d: d.source != "table" and d.streaming is True,
         lambda d: f"{d.source} fits in memory; leave it out",
         {"data.source": "mnist", "data.path": None, "data.target": None, "data.streaming": True}),
    Rule("data.header", lambda d: not d.header and not d.names, "false needs names, the columns' names in order",
         {"data.header": False}),
    Rule("data.names", lambda d: d.header and d.names is not None,
         "are for a file without a header line; set header: false, or leave names out",
         {"data.names": ["a", "b", "y"]}),
    Rule("data.names", lambda d: d.names is not None and len(set(d.names)) != len(d.names),
         lambda d: f"a name is repeated in {d.names}",
         {"data.header": False, "data.names": ["a", "a", "y"]}),
    Rule("data.components", lambda d: d.components is not None and d.decorrelate == "none",
         "needs decorrelate: pca or pca_whiten", {"data.components": 2}),
    Rule("data.validation_split", lambda d: d.validation_split + d.test_split >= 1.0,
         lambda d: f"validation_split + test_split must be below 1, got {d.validation_split} + {d.test_split}",
         {"data.validation_split": 0.6, "data.test_split": 0.5}),
)


# --- the whole config ------------------------------------------------------------------------------

def _loss_fits(config) -> tuple[str, ...]:
    return catalog.LOSSES[config.loss_name] if config.loss_name else catalog.SCENARIOS


def _shown_loss(config) -> str:
    return config.loss if isinstance(config.loss, str) else config.loss.name


def _output_losses(config) -> tuple[str, ...]:
    """The losses the output activation pairs with; none where it pairs with any."""
    return catalog.OUTPUTS[config.scenario].get(config.output_activation) or ()


def _monitor_rules(key: str, monitor: Callable[[Any], str | None], example: dict[str, Any]) -> tuple[Rule, ...]:
    """A monitored quantity must be one the run logs: known, a data_loss only beside a penalty,
    a val_ one only with validation rows."""

    def choices(config) -> tuple[str, ...]:
        return catalog.monitorable(config.scenario)

    def name(config) -> str:
        return monitor(config) or ""

    def plain(config) -> str:
        return name(config).replace("data_loss", "loss")

    return (
        Rule(key, lambda c: monitor(c) is not None and monitor(c) not in choices(c),
             lambda c: unknown_name("monitored quantity", name(c), choices(c)),
             {**example, key: "val_acuracy"}),
        Rule(key, lambda c: monitor(c) is not None and name(c).removeprefix("val_") == "data_loss"
             and not c.has_weight_penalty,
             lambda c: f"{name(c)!r} equals {plain(c)!r} without an l1 or l2 penalty; monitor {plain(c)!r}",
             {**example, key: "val_data_loss"}),
        Rule(key, lambda c: monitor(c) is not None and name(c).startswith("val_") and c.data.validation_split == 0,
             lambda c: f"{name(c)!r} needs validation rows, but data.validation_split is 0; "
                       f"monitor 'loss' or set a validation_split",
             {**example, key: "val_loss", "data.validation_split": 0}),
    )


def _random_layers(config) -> list[str]:
    """The hidden layers that make a forward pass random or stateful."""
    found, defaults = [], config.model.regularization
    for index, layer in enumerate(config.model.layers):
        name, _ = name_and_params(layer.activation)
        random = [k for k in ("dropout", "gaussian_noise", "batch_norm") if layer.setting(k, defaults)]
        if random or name == "rrelu":
            found.append(f"model.layers.{index}: {', '.join(random + (['rrelu'] if name == 'rrelu' else []))} "
                         f"makes the objective random or stateful")
    return found


def _lbfgs_written(config) -> list[str]:
    return sorted({"learning_rate", "clipnorm", "clipvalue", "schedule"} & config.optimizer.model_fields_set)


LBFGS = Requirements(
    "optimizer.name", lambda c: c.optimizer.name == "lbfgs", "lbfgs needs a deterministic full-batch objective", (
        Rule("training.batch_size", lambda c: c.training.batch_size != "full",
             lambda c: f"training.batch_size must be full (got {c.training.batch_size!r})",
             {"training.batch_size": 2}),
        Rule("optimizer.learning_rate", lambda c: bool(_lbfgs_written(c)),
             lambda c: f"optimizer.{_lbfgs_written(c)[0]} does not apply (it picks its own steps)",
             {"optimizer.learning_rate": 0.1}),
        Rule("training.engine", lambda c: c.training.engine != "auto",
             lambda c: f"training.engine must be auto (lbfgs is its own engine), got {c.training.engine!r}",
             {"training.engine": "graph"}),
        Rule("training.early_stopping",
             lambda c: c.training.early_stopping is not None or c.training.stop_at is not None,
             "early_stopping and stop_at are not supported; use optimizer.max_iterations",
             {"training.early_stopping": {"patience": 5}}),
        Rule("training.balanced_batches", lambda c: c.training.balanced_batches,
             "training.balanced_batches draws new rows every epoch", {"training.balanced_batches": True}),
        Rule("model.layers", lambda c: bool(_random_layers(c)), lambda c: "; ".join(_random_layers(c)),
             {"model.layers": [{"units": 2, "dropout": 0.5}]}),
    ), {"optimizer": {"name": "lbfgs"}, "training.batch_size": "full"})

BOLD_DRIVER = Requirements(
    "optimizer.schedule", lambda c: c.optimizer.schedule.name == "bold_driver",
    "bold_driver judges whole-batch steps of SGD", (
        Rule("optimizer.name", lambda c: c.optimizer.name != "sgd",
             lambda c: f"optimizer.name must be sgd (got {c.optimizer.name!r})", {"optimizer.name": "adam"}),
        Rule("training.batch_size", lambda c: c.training.batch_size != "full",
             lambda c: f"training.batch_size must be full (got {c.training.batch_size!r})",
             {"training.batch_size": 2}),
        Rule("training.engine", lambda c: c.training.engine == "fit",
             "training.engine must be auto or graph (it runs in the graph engine)", {"training.engine": "fit"}),
    ), {"optimizer": {"name": "sgd", "schedule": {"name": "bold_driver"}}, "training.batch_size": "full"})

STREAMING = Requirements(  # each need says its own key: the message is "data.streaming: KEY: ...; KEY: ..."
    "data.streaming", lambda c: c.data.streaming is True, "", (
        Rule("data.decorrelate", lambda c: c.data.decorrelate != "none",
             lambda c: f"data.decorrelate: {c.data.decorrelate} needs every row at once",
             {"data.decorrelate": "pca"}),
        Rule("data.missing", lambda c: c.data.missing in ("median", "most_frequent"),
             lambda c: f"data.missing: {c.data.missing} needs every value at once; use mean or drop",
             {"data.missing": "median"}),
        Rule("optimizer.name", lambda c: c.optimizer.name == "lbfgs",
             "optimizer.name: lbfgs needs the whole training set in every step", {"optimizer": {"name": "lbfgs"}}),
        Rule("training.batch_size", lambda c: c.training.batch_size == "full",
             "training.batch_size: full needs every row at once; give a number", {"training.batch_size": "full"}),
        Rule("training.engine", lambda c: c.training.engine == "graph",
             "training.engine: graph holds the rows in memory; use auto or fit", {"training.engine": "graph"}),
        Rule("training.balanced_batches", lambda c: c.training.balanced_batches,
             "training.balanced_batches: drawing by class needs every row at once",
             {"training.balanced_batches": True}),
        Rule("report.gradient_norms", lambda c: c.report.gradient_norms,
             "report.gradient_norms: its rows are held in memory", {"report.gradient_norms": True}),
        Rule("training.distribute", lambda c: c.training.distribute == "mirrored",
             "training.distribute: mirrored is for rows in memory", {"training.distribute": "mirrored"}),
    ), {"data.streaming": True})

MIRRORED = Requirements(
    "training.distribute", lambda c: c.training.distribute == "mirrored", "mirrored", (
        Rule("training.engine", lambda c: c.training.engine == "graph",
             "training.engine must be auto or fit (it runs in Keras' fit)", {"training.engine": "graph"}),
        Rule("optimizer.name", lambda c: c.optimizer.name in ("lbfgs", "rprop", "delta_bar_delta"),
             lambda c: f"optimizer.name: {c.optimizer.name} is not mirrored (its steps are our own code)",
             {"optimizer": {"name": "rprop"}}),
        Rule("optimizer.schedule", lambda c: c.optimizer.schedule.name == "bold_driver",
             "optimizer.schedule: bold_driver runs in the graph engine only",
             {"optimizer": {"name": "sgd", "schedule": {"name": "bold_driver"}}, "training.batch_size": "full"}),
        Rule("report.gradient_norms", lambda c: c.report.gradient_norms,
             "report.gradient_norms: measured on one device only", {"report.gradient_norms": True}),
    ), {"training.distribute": "mirrored"})


def _late_snapshot(config) -> int | None:
    snapshots = config.report.snapshots
    late = [e for e in snapshots if e != "last" and e > config.training.epochs] if isinstance(snapshots, list) else []
    return late[0] if late else None


def _outputs(config) -> str:
    return " or ".join(map(repr, catalog.OUTPUTS[config.scenario]))


RULES: tuple[Entry, ...] = (
    Rule("loss", lambda c: c.scenario not in _loss_fits(c),
         lambda c: f"{_shown_loss(c)!r} does not fit scenario {c.scenario!r} (it is for {', '.join(_loss_fits(c))}); "
                   f"use {catalog.DEFAULT_LOSS[c.scenario]!r} or leave loss out for the default",
         {"loss": "categorical_crossentropy"}),
    Rule("model.output.activation", lambda c: c.output_activation not in catalog.OUTPUTS[c.scenario],
         lambda c: f"{c.output_activation!r} is not an output for scenario {c.scenario!r}; use {_outputs(c)}",
         {"model.output.activation": "softmax"}),
    Rule("model.output.activation",
         lambda c: bool(c.model.output.activation) and bool(_output_losses(c))
         and c.loss_name not in (*_output_losses(c), None),
         lambda c: f"{c.output_activation!r} does not pair with loss {c.loss_name!r}; "
                   f"use loss {' or '.join(map(repr, _output_losses(c)))}",
         {"model.output.activation": "tanh", "loss": "binary_crossentropy"}),
    Rule("data.positive_class", lambda c: c.data.positive_class is not None and c.scenario != "binary",
         lambda c: f"is for scenario binary, not {c.scenario!r}; leave it out",
         {"scenario": "multiclass", "data.positive_class": 1}),
    Rule("data.target", lambda c: isinstance(c.data.target, list) and c.scenario != "regression",
         lambda c: f"a list of targets is for regression only, got {c.data.target!r} with scenario {c.scenario!r}",
         {"data.target": ["y", "a"]}),
    Rule("data.normalize_target", lambda c: c.data.normalize_target == "standard" and c.scenario != "regression",
         lambda c: f"standard is for a regression target, not scenario {c.scenario!r}; leave it out",
         {"data.normalize_target": "standard"}),
    Rule("data.normalize_target",
         lambda c: c.data.normalize_target == "standard" and c.loss_name not in (*catalog.STANDARD_SCALE_LOSSES, None),
         lambda c: f"standard does not fit loss {c.loss_name!r}, which needs the target's own values; use auto or none",
         {"scenario": "regression", "data.normalize_target": "standard", "loss": "poisson"}),
    STREAMING,
    *_monitor_rules("training.early_stopping.monitor",
                    lambda c: c.training.early_stopping.monitor if c.training.early_stopping else None,
                    {"training.early_stopping": {"patience": 5}}),
    Rule("report.snapshots", lambda c: _late_snapshot(c) is not None,
         lambda c: f"epoch {_late_snapshot(c)} is after the last epoch (training.epochs is {c.training.epochs}); "
                   f"use last for the end of training",
         {"training.epochs": 3, "report.snapshots": [2, 400]}),
    LBFGS,
    Rule("optimizer.schedule", lambda c: c.optimizer.name == "rprop" and c.optimizer.schedule.name != "constant",
         "rprop adapts every weight's step size itself; leave the schedule out (its learning_rate is the initial "
         "step size)", {"optimizer": {"name": "rprop", "schedule": {"name": "exponential", "decay_steps": 10,
                                                                      "decay_rate": 0.5}}}),
    *_monitor_rules("optimizer.schedule.monitor",
                    lambda c: c.optimizer.schedule.monitor if c.optimizer.schedule.name == "reduce_on_plateau"
                    else None,
                    {"optimizer.schedule": {"name": "reduce_on_plateau"}}),
    BOLD_DRIVER,
    Rule("training.class_weight", lambda c: c.training.class_weight is not None and c.scenario == "regression",
         "class weights are for classification, not regression",
         {"scenario": "regression", "training.class_weight": "balanced"}),
    Rule("training.balanced_batches", lambda c: c.training.balanced_batches and c.scenario == "regression",
         "balanced batches are for classification, not regression",
         {"scenario": "regression", "training.balanced_batches": True}),
    Rule("training.balanced_batches", lambda c: c.training.balanced_batches and c.training.class_weight is not None,
         "the batches are balanced already; weighting the classes too would correct twice; leave "
         "training.class_weight out", {"training.balanced_batches": True, "training.class_weight": "balanced"}),
    *_monitor_rules("training.stop_at.monitor", lambda c: c.training.stop_at.monitor if c.training.stop_at else None,
                    {"training.stop_at": {"value": 0.1}}),
    Rule("training.replicas", lambda c: c.training.replicas is not None and c.training.distribute != "mirrored",
         "counts the devices of training.distribute: mirrored; set that too, or leave replicas out",
         {"training.replicas": 2}),
    MIRRORED,
)


def streaming_problems(config) -> list[str]:
    """What cannot be done while the rows stay in the file (data.streaming)."""
    return [problem for need in STREAMING.needs if (problem := need.problem(config))]


def examples(table: tuple[Entry, ...]) -> list[tuple[str, dict[str, Any]]]:
    """Every rule of `table` with overrides of BASE that break it: (key, overrides), one for
    each Rule and each need of a Requirements (the need's example over its entry's)."""
    found = []
    for entry in table:
        if isinstance(entry, Requirements):
            found += [(need.key, {**entry.example, **need.example}) for need in entry.needs]
        else:
            found.append((entry.key, entry.example))
    return found

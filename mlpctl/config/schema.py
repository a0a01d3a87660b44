"""The config schema: validation, defaults, documentation and JSON Schema all come from here.

Every model forbids unknown keys, so nothing in a config is silently ignored. Checks that span
several keys (a loss that must fit the scenario, a monitored quantity that must be logged) are
a table, `rules.py`, checked once the sections are valid; each names the key it is about.
"""

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mlpctl import catalog
from mlpctl.config import rules
from mlpctl.config.components import (
    ActivationSpec,
    Component,
    CustomLoss,
    InitializerSpec,
    LossSpec,
    Section,
    check_component,
    name_and_params,
)
from mlpctl.config.optimizers import AdamConfig, OptimizerConfig, ScheduleConfig
from mlpctl.config.suggest import unknown_name

__all__ = ["Component", "CustomLoss", "OptimizerConfig", "RunConfig", "ScheduleConfig", "name_and_params"]


def known_initializer(spec: Any) -> Any:
    """An initializer name or {name, params} that Keras has (a layer's may be left out: None)."""
    return None if spec is None else check_component("initializer", spec, catalog.INITIALIZERS)


class DataConfig(Section):
    """The `data` section: where the rows come from, which columns are what, how they are split and prepared."""
    source: Literal["table", "mnist", "fashion_mnist"] = Field(
        "table", description="table: data.path is a CSV or Parquet table. mnist, fashion_mnist: Keras' handwritten "
        "digits (or clothes), 28x28 pixels flattened to 784 inputs pixel_0 .. pixel_783 scaled to [0, 1], target "
        "label; data.path is the file as keras.datasets keeps it (default: Keras' cache), and the set's own "
        "10,000 test images are the test split.",
    )
    path: str | None = Field(
        None, description="CSV or Parquet (.parquet, .pq) file; a relative path is relative to the config file. "
        "Required for a table.",
    )
    target: str | list[str] | None = Field(
        None, description="Label column, or a list of target columns (regression only). Required for a table.",
    )
    header: bool = Field(True, description="Whether the CSV file's first line names the columns.")
    names: list[str] | None = Field(
        None, description="With header: false, the column names in order (the notes' lineal.csv has none).",
    )
    sample_weight: str | None = Field(
        None, description="A column of per-row weights for the training loss (positive numbers)."
    )
    features: list[str] | None = Field(
        None, description="Input columns; default: every column but the target (and sample_weight)."
    )
    positive_class: bool | int | float | str | None = Field(
        None, description="Binary: the label that is the positive class (output 1: P(positive), ROC and "
        "precision-recall); default the label that sorts second (1 of 0/1, true of false, 'yes' of no/yes).",
    )
    validation_split: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows.")
    test_split: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows.")
    split_seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seeds which rows go to the validation and test splits (and the "
        "training rows' order), apart from `seed`: runs and sweep trials that differ in `seed` train on the same "
        "rows. A run directory's config.yaml from before this key splits by its `seed`, as it did.",
    )
    normalize: Literal["standard", "minmax", "none"] = Field(
        "standard", description="Input scaling; statistics come from the training rows only."
    )
    normalize_target: Literal["auto", "standard", "none"] = Field(
        "auto", description="Regression: learn the target standardized with the training rows' mean and "
        "standard deviation; predictions, metrics and plots stay in the target's own units, the loss is on "
        "the standard scale. auto: standard for the mse, mae, huber and log_cosh losses, none for the others "
        "(poisson, msle and mape need the target's own values) and for classification.",
    )
    decorrelate: Literal["none", "pca", "pca_whiten"] = Field(
        "none", description="Rotate the normalized numeric inputs onto their principal components "
        "(whiten: also scale each to unit variance); fitted on the training rows.",
    )
    components: int | float | None = Field(
        None, description="With decorrelate: keep this many components, or (a fraction in (0, 1)) the fewest "
        "that keep that share of the variance; default all.",
    )
    categorical: list[str] | None = Field(
        None, description="Feature columns to one-hot encode; default: the columns whose values are mostly text.",
    )
    missing: Literal["error", "mean", "median", "most_frequent", "drop"] = Field(
        "error", description="Empty feature cells: an error, filled from the training rows' statistic, "
        "or the row dropped. Rows without a target are an error unless drop.",
    )

    streaming: bool | Literal["auto"] = Field(
        "auto", description="Read the data file a chunk at a time, for files bigger than memory: every row is "
        "checked and the statistics gathered in a first pass, then a second pass writes the transformed rows as "
        "float32 files into the run directory (.rows, removed when the run ends) that training and evaluation "
        "read. auto: on for files over 1 GB. Splits come from a hash of each row's position (not stratified); PCA, "
        "L-BFGS, full batches, the graph engine and median or most_frequent filling need every row at once "
        "and are refused.",
    )

    @field_validator("components")
    @classmethod
    def _count_or_fraction(cls, value: Any) -> Any:
        if value is None or (type(value) is int and value > 0) or (type(value) is float and 0 < value < 1):
            return value
        raise ValueError(f"must be a positive integer or a fraction between 0 and 1, got {value!r}")

    @property
    def targets(self) -> list[str]:
        """The target column, or a regression's columns, as a list (every valid config has one)."""
        assert self.target is not None, "a validated data section has its target"
        return [self.target] if isinstance(self.target, str) else list(self.target)

    @property
    def file(self) -> Path:
        """data.path as a Path: every table has one (an image set has one where it was given)."""
        assert self.path is not None, "a table has its data.path"
        return Path(self.path)

    @model_validator(mode="after")
    def _check_rules(self) -> "DataConfig":
        """The data section's own cross-key rules (`rules.DATA_RULES`); an image set has its target
        and test split filled in."""
        rules.check(rules.DATA_RULES, self)
        if self.source != "table":
            self.target, self.test_split = "label", 0.0
        return self


MAX_SNAPSHOTS = 50  # each is a copy of every weight, and a frame of each picture

REGULARIZERS = ("l1", "l2", "dropout", "gaussian_noise", "batch_norm", "layer_norm", "max_norm")


class RegularizationConfig(Section):
    """Model-wide defaults; a layer's own value wins. l1/l2 also apply to the output layer."""

    l1: float = Field(0.0, ge=0.0, description="L1 penalty on every Dense kernel.")
    l2: float = Field(0.0, ge=0.0, description="L2 penalty (weight decay) on every Dense kernel.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout rate after each hidden layer.")
    gaussian_noise: float = Field(0.0, ge=0.0,
                                  description="Std. dev. of noise added after each hidden layer in training.")
    batch_norm: bool = Field(False, description="Batch normalisation after each hidden layer.")
    layer_norm: bool = Field(False, description="Layer normalisation after each hidden layer.")
    max_norm: float | None = Field(None, gt=0.0, description="Cap on each unit's incoming weight vector norm.")


class LayerConfig(Section):
    """One hidden layer: units, activation, initialisers, and regularization of its own over model.regularization."""
    units: int = Field(gt=0, description="Number of units in this hidden Dense layer.")
    activation: ActivationSpec = Field(
        "relu", description="Activation name, or {name: ..., parameter: value}; see the lists below.",
    )
    dropout: float | None = Field(None, ge=0.0, lt=1.0,
                                  description="Dropout rate after this layer; default model.regularization.")
    l1: float | None = Field(None, ge=0.0, description="This layer's L1 penalty; default model.regularization.")
    l2: float | None = Field(None, ge=0.0, description="This layer's L2 penalty; default model.regularization.")
    gaussian_noise: float | None = Field(None, ge=0.0, description="Default model.regularization.")
    batch_norm: bool | None = Field(None, description="Default model.regularization.")
    layer_norm: bool | None = Field(None, description="Default model.regularization.")
    max_norm: float | None = Field(None, gt=0.0, description="Default model.regularization.")
    initializer: InitializerSpec | None = Field(None, description="Kernel initialiser; default model.initializer.")
    bias_initializer: InitializerSpec | None = Field(None, description="Default model.bias_initializer.")

    @property
    def dense_units(self) -> int:
        """The outputs of this layer's Dense: a maxout unit has one per piece."""
        name, params = name_and_params(self.activation)
        return self.units * params.get("pieces", catalog.MAXOUT_PIECES) if name == "maxout" else self.units

    def setting(self, name: str, defaults: RegularizationConfig) -> Any:
        """This layer's value of a regularizer, or the model's default."""
        value = getattr(self, name)
        return getattr(defaults, name) if value is None else value

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, spec: Any) -> Any:
        name, _ = name_and_params(spec)
        if name in catalog.NO_GRADIENT:
            raise ValueError(
                f"{name!r} cannot be trained: its derivative is zero almost everywhere, so no gradient "
                f"flows; use sigmoid or tanh, its smooth versions"
            )
        if isinstance(spec, str) and spec in catalog.ACTIVATIONS:
            return spec
        table = {**{n: {} for n in catalog.ACTIVATIONS}, **catalog.ACTIVATION_LAYERS}
        spec = check_component("activation", spec, table)
        pieces = spec.params.get("pieces", catalog.MAXOUT_PIECES) if isinstance(spec, Component) else None
        if isinstance(spec, Component) and spec.name == "maxout" and (pieces or 0) < 2:
            raise ValueError(f"maxout needs at least 2 pieces, got {spec.params['pieces']}")
        return spec

    _known_initializers = field_validator("initializer", "bias_initializer")(known_initializer)




class OutputConfig(Section):
    """The output layer: its units come from the scenario (one per class, target or one for binary)."""

    activation: str | None = Field(
        None, description="Default from the scenario: sigmoid (binary), softmax (multiclass), linear (regression; "
        "exponential with the poisson loss). Binary may use tanh, the notes' output on targets -1/+1, with loss "
        "mse, hinge or squared_hinge: the loss compares the tanh output o with -1/+1, and the model reports "
        "(o + 1) / 2 as P(positive), so predictions, metrics and plots read as with sigmoid.",
    )
    initializer: InitializerSpec | None = Field(None, description="Kernel initialiser; default model.initializer.")
    bias_initializer: InitializerSpec | None = Field(None, description="Default model.bias_initializer.")

    @field_validator("activation")
    @classmethod
    def _an_output_activation(cls, name: Any) -> Any:
        names = sorted({n for outputs in catalog.OUTPUTS.values() for n in outputs})
        if name is not None and name not in names:
            raise ValueError(unknown_name("output activation", name, names))
        return name

    _known_initializers = field_validator("initializer", "bias_initializer")(known_initializer)


class ModelConfig(Section):
    """The `model` section: the hidden layers, the output layer, default initialisers and regularization."""
    layers: list[LayerConfig] = Field(
        description="Hidden layers; the output layer comes from the scenario. [] for none: the inputs feed the "
        "output layer directly (the perceptron, logistic or linear regression).",
    )
    output: OutputConfig = Field(
        default_factory=OutputConfig, description="The output layer; its units come from the scenario.")
    regularization: RegularizationConfig = RegularizationConfig()
    initializer: InitializerSpec = Field("glorot_uniform", description="Kernel initialiser of every layer.")
    bias_initializer: InitializerSpec = Field("zeros", description="Bias initialiser of every layer.")

    _known_initializers = field_validator("initializer", "bias_initializer")(known_initializer)


class EarlyStoppingConfig(Section):
    """training.early_stopping: stop when a monitored quantity stops improving (Keras' EarlyStopping)."""
    monitor: str = Field("val_loss", description="A logged quantity, e.g. val_loss, val_accuracy.")
    patience: int = Field(5, ge=0, description="Epochs without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0.0, description="Smallest change that counts as improvement.")
    mode: Literal["auto", "min", "max"] = Field(
        "auto", description="Whether lower or higher is better; auto: from the name."
    )
    restore_best: bool = Field(True, description="Restore the best epoch's weights on stopping.")


class StopAtConfig(Section):
    """FANN's 'desired error': stop when the monitored quantity reaches `value`."""

    monitor: str = Field(description="A logged quantity, e.g. val_accuracy or loss.")
    value: float = Field(description="Stop after the first epoch at or beyond this.")
    mode: Literal["auto", "min", "max"] = Field(
        "auto", description="auto: lower is better for loss and mae, higher for the others.")

    def reached(self, current: float) -> bool:
        return current <= self.value if self.minimize else current >= self.value

    @property
    def minimize(self) -> bool:
        return catalog.mode_of(self.monitor, self.mode) == "min"


class CheckpointConfig(Section):
    """When training writes checkpoint.npz, from which `mlpctl train --resume RUN_DIR` goes on."""

    every_epochs: int | None = Field(None, gt=0, description="After every this many epochs.")
    every_seconds: float | None = Field(60.0, gt=0.0, description="After this many seconds of training since the last.")


class TrainingConfig(Section):
    """The `training` section: epochs, batches, the engine and XLA, class weights, stops and checkpoints."""
    epochs: int = Field(50, gt=0, description="Passes over the training rows.")
    batch_size: int | Literal["full"] = Field(
        32, description="Rows per step, or 'full' for the whole training set per step."
    )
    early_stopping: EarlyStoppingConfig | None = Field(None, description="Off unless given.")
    stop_at: StopAtConfig | None = Field(None, description="Stop once a logged quantity reaches a target.")
    class_weight: Literal["balanced"] | dict[int | str | bool, float] | None = Field(
        None, description="balanced (inverse class frequency), or {label: weight}; classification only.")
    balanced_batches: bool = Field(
        False, description="Classification: draw every batch with equal class shares (each class's rows "
        "shuffled and repeated as often as it takes; an epoch keeps its number of rows), instead of weighting "
        "the loss by class (class_weight).",
    )
    checkpoint: CheckpointConfig | None = Field(
        default_factory=CheckpointConfig, description="null: no checkpoints (and no --resume).")
    engine: Literal["auto", "graph", "fit"] = Field(
        "auto",
        description="graph: many epochs per call into TensorFlow (fast on small data); "
        "fit: Keras' model.fit; auto: graph whenever it supports the config.",
    )
    jit: Literal["auto", "on", "off"] = Field(
        "auto",
        description="on: the graph engine's chunks of epochs compiled by XLA (a compile of 1-3 s, then "
        "less per step; cached between runs, see the README); off: not; auto: on when the configured steps pay "
        "for the compile (20,000 steps under 10 million weights x rows, 2,000 bigger ones; bench/README.md).",
    )

    distribute: Literal["none", "mirrored"] = Field(
        "none",
        description="Experimental. mirrored: one model trained on several devices of this machine "
        "(tf.distribute.MirroredStrategy): every GPU, or training.replicas logical CPU devices where there is none "
        "(to try it out: not faster on a CPU). The batch is the global batch, split between the devices; "
        "batch-norm statistics are synchronised. Runs in the fit engine, one step per call into TensorFlow. Not "
        "across machines: Keras 3 does not work with MultiWorkerMirroredStrategy.",
    )
    replicas: int | None = Field(
        None, ge=2, description="With distribute: mirrored on a machine without a GPU: this many logical CPU "
        "devices (default 2). Where there are GPUs, every GPU is used and this is not.")

    @field_validator("class_weight", mode="before")
    @classmethod
    def _positive_weights(cls, value: Any) -> Any:
        if isinstance(value, dict) and not all(
                isinstance(weight, (int, float)) and not isinstance(weight, bool) and math.isfinite(weight)
                and weight > 0
                for weight in value.values()):
            raise ValueError(f"weights must be positive finite numbers, got {value}")
        return value

    @field_validator("jit", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        """YAML reads a bare on/off as true/false."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("batch_size", mode="before")
    @classmethod
    def _positive_or_full(cls, value: Any) -> Any:
        if value == "full" or (type(value) is int and value > 0):
            return value
        raise ValueError(f"must be a positive integer or 'full', got {value!r}")

    def batch_rows(self, rows: int) -> int:
        """Rows per training step for a training set of `rows` rows."""
        return rows if self.batch_size == "full" else min(self.batch_size, rows)


class ReportConfig(Section):
    """The `report` section: plots, TensorBoard, snapshots of the weights and gradient norms."""
    plots: bool = Field(True, description="Write the plots and report.html after training.")
    tensorboard: bool = Field(False, description="Also write TensorBoard logs under the run directory.")
    snapshots: int | list[int | Literal["last"]] | None = Field(
        None, description="Keep the weights after these epochs (a list; last: the weights training ends with) "
        "or after this many epochs spread from the first to the last (a number, log-spaced so that the early "
        "epochs, where most changes, get more), in snapshots.npz; the pictures of the network learning are drawn "
        "from them (decision regions and hidden units' lines for two inputs, the fitted curve for one, weight "
        "histograms).",
    )
    gradient_norms: bool = Field(
        False, description="Log each layer's gradient norm per epoch in history.csv (grad_norm_hidden_1 .. "
        "grad_norm_output: the loss's gradient with respect to the layer's weights, on the first 4,096 training "
        "rows, without dropout) and plot them: vanishing gradients show as the first layers' norms falling "
        "far below the last's.",
    )

    @field_validator("snapshots")
    @classmethod
    def _epochs_or_count(cls, value: Any) -> Any:
        if isinstance(value, int) and not 1 <= value <= MAX_SNAPSHOTS:
            raise ValueError(f"a count must be between 1 and {MAX_SNAPSHOTS}, got {value}")
        if isinstance(value, list):
            if not value or len(value) > MAX_SNAPSHOTS:
                raise ValueError(f"give between 1 and {MAX_SNAPSHOTS} epochs, got {len(value)}")
            if any(isinstance(epoch, int) and epoch < 1 for epoch in value):
                raise ValueError(f"epochs count from 1, got {value}")
        return value

    def snapshot_epochs(self, epochs: int) -> list[int]:
        """The epochs (1-based) after which to keep the weights; the end of training is added
        by `keeps_last`."""
        if self.snapshots is None:
            return []
        if isinstance(self.snapshots, int):
            count = self.snapshots
            spread = [epochs ** (step / (count - 1)) for step in range(count)] if count > 1 else [epochs]
            return sorted({round(epoch) for epoch in spread})
        return sorted({epochs if epoch == "last" else epoch for epoch in self.snapshots})

    @property
    def keeps_last(self) -> bool:
        """Whether the weights training ends with are a snapshot too (early stopping may end it early)."""
        return isinstance(self.snapshots, int) or (isinstance(self.snapshots, list) and "last" in self.snapshots)


class RunConfig(Section):
    """A whole mlpctl config: data, model, loss, optimizer, training and report, every default filled in."""

    # Built by config.load_config(path, overrides) or config_from_mapping; resolved_yaml writes it
    # back with every default, as a run directory's config.yaml keeps it; rules.py's table is
    # checked once every section is valid.
    name: str = Field(max_length=100, description="Used in the run directory name.")
    scenario: Literal["binary", "multiclass", "regression"] = Field(
        description="Sets the output layer, the default loss and the metrics."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1,
                      description="Seeds the weights, the batches' order and dropout (the split: data.split_seed).")
    data: DataConfig
    model: ModelConfig
    loss: LossSpec | None = Field(
        None, description="Default from the scenario. A Keras loss name, {name: ..., parameter: value}, "
        "or {custom: package.module:function}.",
    )
    loss_reduction: Literal["mean", "sum"] = Field(
        "mean", description="How a batch's per-row losses make its loss: Keras' mean, or the sum the course notes' "
        "update rules use (with sum, a learning rate eta acts as eta x batch rows would with mean).",
    )
    optimizer: OptimizerConfig = Field(default_factory=lambda: AdamConfig(name="adam"))
    training: TrainingConfig = TrainingConfig()
    report: ReportConfig = ReportConfig()

    @field_validator("name")
    @classmethod
    def _usable_in_a_directory_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise ValueError(
                f"must start with a letter or digit and contain only letters, digits, "
                f"'.', '_' and '-', got {name!r}"
            )
        return name

    @field_validator("optimizer", mode="before")
    @classmethod
    def _adam_unless_named(cls, value: Any) -> Any:
        if isinstance(value, dict) and "name" not in value:
            return {"name": "adam", **value}
        return value

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, spec: Any) -> Any:
        if spec is None or isinstance(spec, CustomLoss):
            return spec
        return check_component("loss", spec, catalog.loss_table())

    @property
    def loss_name(self) -> str | None:
        """The Keras name of the loss (aliases resolved); None for a custom loss."""
        if isinstance(self.loss, CustomLoss):
            return None
        assert self.loss is not None, "the validator gives every config its scenario's loss"
        return catalog.canonical_loss(self.loss if isinstance(self.loss, str) else self.loss.name)

    @property
    def custom_loss(self) -> str | None:
        """`loss.custom` (package.module:function), or None for a Keras loss."""
        return self.loss.custom if isinstance(self.loss, CustomLoss) else None

    @property
    def has_weight_penalty(self) -> bool:
        """Whether an L1/L2 penalty adds to the loss, so that data_loss differs from loss."""
        defaults = self.model.regularization
        return bool(defaults.l1 or defaults.l2 or any(layer.l1 or layer.l2 for layer in self.model.layers))

    @property
    def output_activation(self) -> str:
        """model.output.activation, or the scenario's (and the loss's) default."""
        return self.model.output.activation or catalog.default_output(self.scenario, self.loss_name)

    @property
    def label_column(self) -> str | None:
        """The classification target, whose labels are read as the file writes them; None for
        regression."""
        return None if self.scenario == "regression" else self.data.targets[0]

    @property
    def standardizes_target(self) -> bool:
        """Whether the network learns the standardized target (data.normalize_target)."""
        if self.scenario != "regression":
            return False
        if self.data.normalize_target == "auto":
            return self.loss_name in catalog.STANDARD_SCALE_LOSSES
        return self.data.normalize_target == "standard"

    @model_validator(mode="after")
    def _check_consistency(self) -> "RunConfig":
        """The loss defaults to the scenario's; then every cross-section rule (`rules.RULES`)."""
        if self.loss is None:
            self.loss = catalog.DEFAULT_LOSS[self.scenario]
        rules.check(rules.RULES, self)
        return self

    def streaming_problems(self) -> list[str]:
        """What cannot be done while the rows stay in the file (data.streaming)."""
        return rules.streaming_problems(self)

    def warnings(self) -> list[str]:
        """Allowed, but probably not what was meant."""
        found = []
        for where, spec in [("model.initializer", self.model.initializer),
                            *((f"model.layers.{i}.initializer", layer.initializer)
                              for i, layer in enumerate(self.model.layers))]:
            name = spec if isinstance(spec, str) or spec is None else spec.name
            if name in ("zeros", "ones", "constant"):
                found.append(f"{where}: {name} starts every unit of a layer with the same weights, so they "
                             f"get the same gradients and stay the same (symmetry is never broken)")
        if self.optimizer.name == "rprop" and self.training.batch_size != "full":
            found.append(f"optimizer.name: rprop is a full-batch method: it follows the sign of the whole gradient, "
                         f"and on mini-batches (batch_size {self.training.batch_size}) the signs flip from batch to "
                         f"batch, so its steps shrink and it is unstable; batch_size: full is what it is for")
        return found

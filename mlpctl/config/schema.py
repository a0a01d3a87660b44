"""The config schema: validation, defaults, documentation and JSON Schema all come from here.

Every model forbids unknown keys, so nothing in a config is silently ignored. Checks that span
several sections (a loss that must fit the scenario, a monitored quantity that must be logged)
live in `RunConfig._check_consistency` and name the field they are about.
"""

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from mlpctl import catalog
from mlpctl.config.suggest import did_you_mean, unknown_name
from mlpctl.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Component(BaseModel):
    """A name with parameters, e.g. `{name: leaky_relu, negative_slope: 0.1}`; the parameters
    allowed for each name are checked against the catalog."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def name_and_params(spec: "str | Component") -> tuple[str, dict[str, Any]]:
    """`relu` -> ('relu', {}); `{name: elu, alpha: 1}` -> ('elu', {'alpha': 1})."""
    return (spec, {}) if isinstance(spec, str) else (spec.name, spec.params)


def check_component(kind: str, spec: Any, table: dict[str, dict[str, type]]) -> Any:
    """A name from `table`, or a Component whose name and parameters are in it."""
    name, _ = name_and_params(spec)
    if name not in table:
        raise ValueError(unknown_name(kind, name, table))
    if isinstance(spec, Component):
        for param, value in spec.params.items():
            allowed = table[name]
            if param not in allowed:
                hint = did_you_mean(param, allowed) or (
                    f" ({name} takes {', '.join(allowed)})" if allowed else f" ({name} takes no parameters)")
                raise ValueError(f"{kind} {name!r} has no parameter {param!r}{hint}")
            wanted = allowed[param]
            if not (isinstance(value, wanted) or (wanted is float and type(value) is int)):
                raise ValueError(f"{kind} {name!r}: {param} must be a {wanted.__name__}, got {value!r}")
    return spec


def _names(*tables) -> Any:
    """A str whose JSON Schema lists the valid names, for editors' completion and checks."""
    names = list(dict.fromkeys(name for table in tables for name in table))
    return Annotated[str, WithJsonSchema({"type": "string", "enum": names})]


class CustomLoss(Section):
    custom: str = Field(description="package.module:function, imported from your environment.")

    @field_validator("custom")
    @classmethod
    def _module_and_function(cls, target: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", target):
            raise ValueError(f"expected package.module:function, got {target!r}")
        return target


InitializerSpec = Union[_names(catalog.INITIALIZERS), Component]
LossSpec = Union[_names(catalog.LOSSES, catalog.LOSS_ALIASES), Component, CustomLoss]
ActivationSpec = Union[_names(catalog.ACTIVATIONS, catalog.ACTIVATION_LAYERS), Component]


class DataConfig(Section):
    path: str = Field(description="CSV file; a relative path is relative to the config file.")
    target: Union[str, list[str]] = Field(
        description="Label column, or a list of target columns (regression only)."
    )
    sample_weight: str | None = Field(
        None, description="A column of per-row weights for the training loss (positive numbers)."
    )
    features: list[str] | None = Field(
        None, description="Input columns; default: every column but the target (and sample_weight)."
    )
    validation_split: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows.")
    test_split: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows.")
    normalize: Literal["standard", "minmax", "none"] = Field(
        "standard", description="Input scaling; statistics come from the training rows only."
    )
    decorrelate: Literal["none", "pca", "pca_whiten"] = Field(
        "none", description="Rotate the normalized numeric inputs onto their principal components "
        "(whiten: also scale each to unit variance); fitted on the training rows.",
    )
    components: Union[int, float] | None = Field(
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

    @field_validator("components")
    @classmethod
    def _count_or_fraction(cls, value: Any) -> Any:
        if value is None or (type(value) is int and value > 0) or (type(value) is float and 0 < value < 1):
            return value
        raise ValueError(f"must be a positive integer or a fraction between 0 and 1, got {value!r}")

    @model_validator(mode="after")
    def _splits_leave_training_rows(self) -> "DataConfig":
        if self.components is not None and self.decorrelate == "none":
            raise ValueError("components needs decorrelate: pca or pca_whiten")
        if self.validation_split + self.test_split >= 1.0:
            raise ValueError(
                f"validation_split + test_split must be below 1, got "
                f"{self.validation_split} + {self.test_split}"
            )
        return self


REGULARIZERS = ("l1", "l2", "dropout", "gaussian_noise", "batch_norm", "layer_norm", "max_norm")


class RegularizationConfig(Section):
    """Model-wide defaults; a layer's own value wins. l1/l2 also apply to the output layer."""

    l1: float = Field(0.0, ge=0.0, description="L1 penalty on every Dense kernel.")
    l2: float = Field(0.0, ge=0.0, description="L2 penalty (weight decay) on every Dense kernel.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout rate after each hidden layer.")
    gaussian_noise: float = Field(0.0, ge=0.0, description="Std. dev. of noise added after each hidden layer in training.")
    batch_norm: bool = Field(False, description="Batch normalisation after each hidden layer.")
    layer_norm: bool = Field(False, description="Layer normalisation after each hidden layer.")
    max_norm: float | None = Field(None, gt=0.0, description="Cap on each unit's incoming weight vector norm.")


class LayerConfig(Section):
    units: int = Field(gt=0, description="Number of units in this hidden Dense layer.")
    activation: ActivationSpec = Field(
        "relu", description="Activation name, or {name: ..., parameter: value}; see the lists below.",
    )
    dropout: float | None = Field(None, ge=0.0, lt=1.0, description="Dropout rate after this layer; default model.regularization.")
    l1: float | None = Field(None, ge=0.0, description="This layer's L1 penalty; default model.regularization.")
    l2: float | None = Field(None, ge=0.0, description="This layer's L2 penalty; default model.regularization.")
    gaussian_noise: float | None = Field(None, ge=0.0, description="Default model.regularization.")
    batch_norm: bool | None = Field(None, description="Default model.regularization.")
    layer_norm: bool | None = Field(None, description="Default model.regularization.")
    max_norm: float | None = Field(None, gt=0.0, description="Default model.regularization.")
    initializer: InitializerSpec | None = Field(None, description="Kernel initialiser; default model.initializer.")
    bias_initializer: InitializerSpec | None = Field(None, description="Default model.bias_initializer.")

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
        if isinstance(spec, Component) and spec.name == "maxout" and spec.params.get("pieces", catalog.MAXOUT_PIECES) < 2:
            raise ValueError(f"maxout needs at least 2 pieces, got {spec.params['pieces']}")
        return spec

    @field_validator("initializer", "bias_initializer")
    @classmethod
    def _known_initializer(cls, spec: Any) -> Any:
        return None if spec is None else check_component("initializer", spec, catalog.INITIALIZERS)




class ModelConfig(Section):
    layers: list[LayerConfig] = Field(
        min_length=1, description="Hidden layers; the output layer comes from the scenario."
    )
    regularization: RegularizationConfig = RegularizationConfig()
    initializer: InitializerSpec = Field("glorot_uniform", description="Kernel initialiser of every layer.")
    bias_initializer: InitializerSpec = Field("zeros", description="Bias initialiser of every layer.")

    @field_validator("initializer", "bias_initializer")
    @classmethod
    def _known_initializer(cls, spec: Any) -> Any:
        return check_component("initializer", spec, catalog.INITIALIZERS)


class ConstantSchedule(Section):
    name: Literal["constant"]


class ExponentialSchedule(Section):
    name: Literal["exponential"]
    decay_steps: int = Field(gt=0, description="Optimizer steps (batches) per decay_rate factor.")
    decay_rate: float = Field(gt=0.0, description="lr * decay_rate ** (step / decay_steps).")
    staircase: bool = Field(False, description="Decay in whole steps of decay_steps.")


class InverseTimeSchedule(Section):
    name: Literal["inverse_time"]
    decay_steps: int = Field(gt=0, description="Optimizer steps (batches) per unit of decay.")
    decay_rate: float = Field(gt=0.0, description="lr / (1 + decay_rate * step / decay_steps) ** power.")
    power: float = Field(1.0, gt=0.0, description="1: Keras' inverse time decay; with decay_rate 1 and "
                         "decay_steps 1, scikit-learn's invscaling with power_t.")
    staircase: bool = False


class StepSchedule(Section):
    name: Literal["step"]
    boundaries: list[int] = Field(min_length=1, description="Optimizer steps where the rate changes.")
    values: list[float] = Field(min_length=2, description="Rates: one more than boundaries; replaces learning_rate.")

    @model_validator(mode="after")
    def _one_more_value(self) -> "StepSchedule":
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(f"needs one more value than boundaries, got {len(self.values)} values "
                             f"for {len(self.boundaries)} boundaries")
        return self


class CosineSchedule(Section):
    name: Literal["cosine"]
    decay_steps: int = Field(gt=0, description="Optimizer steps of the cosine decay (after warm-up).")
    alpha: float = Field(0.0, ge=0.0, le=1.0, description="Final rate as a fraction of the initial one.")
    warmup_steps: int = Field(0, ge=0, description="Linear warm-up steps from learning_rate to warmup_target.")
    warmup_target: float | None = Field(None, gt=0.0, description="Rate reached after warm-up.")


class PlateauSchedule(Section):
    """Keras' ReduceLROnPlateau: the notes' 'reduce the rate when the error stops decreasing'."""

    name: Literal["reduce_on_plateau"]
    monitor: str = Field("val_loss", description="A logged quantity, as for early stopping.")
    factor: float = Field(0.1, gt=0.0, lt=1.0, description="Multiply the rate by this.")
    patience: int = Field(10, ge=0, description="Epochs without improvement first.")
    min_delta: float = Field(1e-4, ge=0.0)
    cooldown: int = Field(0, ge=0, description="Epochs to wait after a reduction.")
    min_lr: float = Field(0.0, ge=0.0, description="Never below this rate.")


ScheduleConfig = Annotated[
    Union[ConstantSchedule, ExponentialSchedule, InverseTimeSchedule, StepSchedule, CosineSchedule, PlateauSchedule],
    Field(discriminator="name"),
]


class OptimizerBase(Section):
    learning_rate: float = Field(0.001, gt=0.0, description="Step size.")
    clipnorm: float | None = Field(None, gt=0.0, description="Clip each gradient to this norm.")
    clipvalue: float | None = Field(None, gt=0.0, description="Clip each gradient element.")
    schedule: ScheduleConfig = Field(
        default_factory=lambda: ConstantSchedule(name="constant"),
        description="How the learning rate changes during training.",
    )


class SGDConfig(OptimizerBase):
    name: Literal["sgd"]
    learning_rate: float = Field(0.01, gt=0.0, description="Step size; SGD's default is larger.")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="The notes' 'inertia'.")
    nesterov: bool = Field(False, description="Nesterov momentum.")


class RMSpropConfig(OptimizerBase):
    name: Literal["rmsprop"]
    rho: float = Field(0.9, gt=0.0, lt=1.0, description="Decay of the squared-gradient average.")
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    epsilon: float = Field(1e-7, gt=0.0)
    centered: bool = False


class AdamConfig(OptimizerBase):
    name: Literal["adam"]
    beta_1: float = Field(0.9, gt=0.0, lt=1.0, description="Decay of the gradient average.")
    beta_2: float = Field(0.999, gt=0.0, lt=1.0, description="Decay of the squared-gradient average.")
    epsilon: float = Field(1e-7, gt=0.0)
    amsgrad: bool = False


class AdamWConfig(AdamConfig):
    name: Literal["adamw"]
    weight_decay: float = Field(0.004, ge=0.0, description="Decoupled weight decay.")


class NadamConfig(OptimizerBase):
    name: Literal["nadam"]
    beta_1: float = Field(0.9, gt=0.0, lt=1.0)
    beta_2: float = Field(0.999, gt=0.0, lt=1.0)
    epsilon: float = Field(1e-7, gt=0.0)


class AdamaxConfig(NadamConfig):
    name: Literal["adamax"]


class AdagradConfig(OptimizerBase):
    name: Literal["adagrad"]
    initial_accumulator_value: float = Field(0.1, ge=0.0)
    epsilon: float = Field(1e-7, gt=0.0)


class AdadeltaConfig(OptimizerBase):
    name: Literal["adadelta"]
    rho: float = Field(0.95, gt=0.0, lt=1.0)
    epsilon: float = Field(1e-7, gt=0.0)


class FtrlConfig(OptimizerBase):
    name: Literal["ftrl"]
    learning_rate_power: float = Field(-0.5, le=0.0)
    initial_accumulator_value: float = Field(0.1, ge=0.0)
    l1_regularization_strength: float = Field(0.0, ge=0.0)
    l2_regularization_strength: float = Field(0.0, ge=0.0)
    l2_shrinkage_regularization_strength: float = Field(0.0, ge=0.0)
    beta: float = Field(0.0, ge=0.0)


class LionConfig(OptimizerBase):
    name: Literal["lion"]
    learning_rate: float = Field(0.0001, gt=0.0, description="Lion wants a smaller rate than Adam.")
    beta_1: float = Field(0.9, gt=0.0, lt=1.0)
    beta_2: float = Field(0.99, gt=0.0, lt=1.0)


class RpropConfig(OptimizerBase):
    """iRprop-: only the sign of each weight's gradient counts; its step grows while the sign
    holds and shrinks when it flips. A full-batch method."""

    name: Literal["rprop"]
    learning_rate: float = Field(0.1, gt=0.0, description="The initial step size of every weight.")
    eta_plus: float = Field(1.2, gt=1.0, description="Step growth while the gradient keeps its sign.")
    eta_minus: float = Field(0.5, gt=0.0, lt=1.0, description="Step shrink when the sign flips.")
    step_min: float = Field(1e-6, gt=0.0)
    step_max: float = Field(50.0, gt=0.0)


class LbfgsConfig(OptimizerBase):
    """Full-batch L-BFGS (scipy's L-BFGS-B) over all weights, for small data sets. It picks its
    own steps, so learning_rate, clipping and schedules do not apply."""

    name: Literal["lbfgs"]
    max_iterations: int | None = Field(None, gt=0, description="At most this many iterations; default training.epochs.")
    history_size: int = Field(10, gt=0, description="Gradient pairs kept to estimate the curvature.")
    tolerance: float = Field(1e-9, gt=0.0, description="Stop when every gradient element is below this.")


OptimizerConfig = Annotated[
    Union[SGDConfig, RMSpropConfig, AdamConfig, AdamWConfig, NadamConfig, AdamaxConfig, AdagradConfig,
          AdadeltaConfig, FtrlConfig, LionConfig, RpropConfig, LbfgsConfig],
    Field(discriminator="name"),
]


class EarlyStoppingConfig(Section):
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
    mode: Literal["auto", "min", "max"] = Field("auto", description="auto: lower is better for loss and mae.")

    def reached(self, current: float) -> bool:
        return current <= self.value if self.minimize else current >= self.value

    @property
    def minimize(self) -> bool:
        if self.mode != "auto":
            return self.mode == "min"
        return self.monitor.removeprefix("val_") in ("loss", "mae")


class TrainingConfig(Section):
    epochs: int = Field(50, gt=0, description="Passes over the training rows.")
    batch_size: Union[int, Literal["full"]] = Field(
        32, description="Rows per step, or 'full' for the whole training set per step."
    )
    early_stopping: EarlyStoppingConfig | None = Field(None, description="Off unless given.")
    stop_at: StopAtConfig | None = Field(None, description="Stop once a logged quantity reaches a target.")
    class_weight: Union[Literal["balanced"], dict[Union[int, str, bool], float]] | None = Field(
        None, description="balanced (inverse class frequency), or {label: weight}; classification only.")
    engine: Literal["auto", "graph", "fit"] = Field(
        "auto",
        description="graph: many epochs per call into TensorFlow (fast on small data); "
        "fit: Keras' model.fit; auto: graph whenever it supports the config.",
    )

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
    plots: bool = Field(True, description="Write the plots and report.html after training.")
    tensorboard: bool = Field(False, description="Also write TensorBoard logs under the run directory.")


class RunConfig(Section):
    name: str = Field(description="Used in the run directory name.")
    scenario: Literal["binary", "multiclass", "regression"] = Field(
        description="Sets the output layer, the default loss and the metrics."
    )
    seed: int = Field(0, description="Seeds the splits, the weights, shuffling and dropout.")
    data: DataConfig
    model: ModelConfig
    loss: LossSpec | None = Field(
        None, description="Default from the scenario. A Keras loss name, {name: ..., parameter: value}, "
        "or {custom: package.module:function}.",
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
        return catalog.canonical_loss(self.loss if isinstance(self.loss, str) else self.loss.name)

    @model_validator(mode="after")
    def _check_consistency(self) -> "RunConfig":
        if self.loss is None:
            self.loss = catalog.DEFAULT_LOSS[self.scenario]
        fits = catalog.LOSSES[self.loss_name] if self.loss_name else catalog.SCENARIOS
        if self.scenario not in fits:
            shown = self.loss if isinstance(self.loss, str) else self.loss.name
            raise ConfigError(
                f"loss: {shown!r} does not fit scenario {self.scenario!r} "
                f"(it is for {', '.join(fits)}); use {catalog.DEFAULT_LOSS[self.scenario]!r} "
                f"or leave loss out for the default"
            )
        if isinstance(self.data.target, list) and self.scenario != "regression":
            raise ConfigError(
                f"data.target: a list of targets is for regression only, "
                f"got {self.data.target!r} with scenario {self.scenario!r}"
            )
        self._check_early_stopping()
        self._check_optimizer()
        self._check_weights()
        return self

    def _check_weights(self) -> None:
        weights = self.training.class_weight
        if weights is not None and self.scenario == "regression":
            raise ConfigError("training.class_weight: class weights are for classification, not regression")
        if isinstance(weights, dict) and any(value <= 0 for value in weights.values()):
            raise ConfigError(f"training.class_weight: weights must be positive, got {weights}")
        if self.training.stop_at is not None:
            self._check_monitor("training.stop_at.monitor", self.training.stop_at.monitor)

    def _check_lbfgs(self) -> None:
        """L-BFGS's line search needs one deterministic objective: the whole training set, and
        nothing random in the network."""
        problems = []
        if self.training.batch_size != "full":
            problems.append(f"training.batch_size must be full (got {self.training.batch_size!r})")
        written = {"learning_rate", "clipnorm", "clipvalue", "schedule"} & self.optimizer.model_fields_set
        if written:
            problems.append(f"optimizer.{sorted(written)[0]} does not apply (it picks its own steps)")
        if self.training.engine != "auto":
            problems.append(f"training.engine must be auto (lbfgs is its own engine), got {self.training.engine!r}")
        if self.training.early_stopping is not None or self.training.stop_at is not None:
            problems.append("early_stopping and stop_at are not supported; use optimizer.max_iterations")
        defaults = self.model.regularization
        for index, layer in enumerate(self.model.layers):
            name, _ = name_and_params(layer.activation)
            random = [k for k in ("dropout", "gaussian_noise", "batch_norm") if layer.setting(k, defaults)]
            if random or name == "rrelu":
                problems.append(f"model.layers.{index}: {', '.join(random + (['rrelu'] if name == 'rrelu' else []))} "
                                f"makes the objective random or stateful")
        if problems:
            raise ConfigError("optimizer.name: lbfgs needs a deterministic full-batch objective: " + "; ".join(problems))

    def _check_optimizer(self) -> None:
        if self.optimizer.name == "lbfgs":
            self._check_lbfgs()
        if self.optimizer.name == "rprop" and self.training.batch_size != "full":
            raise ConfigError(
                f"optimizer.name: rprop is a full-batch method (it follows the sign of the whole "
                f"gradient); set training.batch_size: full, got {self.training.batch_size!r}"
            )
        schedule = self.optimizer.schedule
        if self.optimizer.name == "rprop" and schedule.name != "constant":
            raise ConfigError("optimizer.schedule: rprop adapts every weight's step size itself; "
                              "leave the schedule out (its learning_rate is the initial step size)")
        if schedule.name == "reduce_on_plateau":
            self._check_monitor("optimizer.schedule.monitor", schedule.monitor)

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
        return found

    def _check_early_stopping(self) -> None:
        stopping = self.training.early_stopping
        if stopping is None:
            return
        self._check_monitor("training.early_stopping.monitor", stopping.monitor)

    def _check_monitor(self, where: str, monitor: str) -> None:
        choices = catalog.monitorable(self.scenario)
        if monitor not in choices:
            raise ConfigError(f"{where}: " + unknown_name("monitored quantity", monitor, choices))
        if monitor.startswith("val_") and self.data.validation_split == 0:
            raise ConfigError(
                f"{where}: {monitor!r} needs validation rows, but data.validation_split is 0; "
                f"monitor 'loss' or set a validation_split"
            )

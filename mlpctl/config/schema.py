"""The config schema: validation, defaults, documentation and JSON Schema all come from here.

Every model forbids unknown keys, so nothing in a config is silently ignored. Checks that span
several sections (a loss that must fit the scenario, a monitored quantity that must be logged)
live in `RunConfig._check_consistency` and name the field they are about.
"""

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlpctl import catalog
from mlpctl.config.suggest import unknown_name
from mlpctl.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(Section):
    path: str = Field(description="CSV file; a relative path is relative to the config file.")
    target: Union[str, list[str]] = Field(
        description="Label column, or a list of target columns (regression only)."
    )
    features: list[str] | None = Field(
        None, description="Input columns; default: every column but the target."
    )
    validation_split: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows.")
    test_split: float = Field(0.15, ge=0.0, lt=1.0, description="Fraction of rows.")
    normalize: Literal["standard", "minmax", "none"] = Field(
        "standard", description="Input scaling; statistics come from the training rows only."
    )

    @model_validator(mode="after")
    def _splits_leave_training_rows(self) -> "DataConfig":
        if self.validation_split + self.test_split >= 1.0:
            raise ValueError(
                f"validation_split + test_split must be below 1, got "
                f"{self.validation_split} + {self.test_split}"
            )
        return self


class LayerConfig(Section):
    units: int = Field(gt=0, description="Number of units in this hidden Dense layer.")
    activation: str = Field(
        "relu", description="Activation function name.",
        json_schema_extra={"enum": list(catalog.ACTIVATIONS)},
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout rate after this layer.")

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, name: str) -> str:
        if name not in catalog.ACTIVATIONS:
            raise ValueError(unknown_name("activation", name, catalog.ACTIVATIONS))
        return name


class RegularizationConfig(Section):
    l1: float = Field(0.0, ge=0.0, description="L1 penalty on every Dense kernel.")
    l2: float = Field(0.0, ge=0.0, description="L2 penalty (weight decay) on every Dense kernel.")


class ModelConfig(Section):
    layers: list[LayerConfig] = Field(
        min_length=1, description="Hidden layers; the output layer comes from the scenario."
    )
    regularization: RegularizationConfig = RegularizationConfig()


class OptimizerBase(Section):
    learning_rate: float = Field(0.001, gt=0.0, description="Step size.")
    clipnorm: float | None = Field(None, gt=0.0, description="Clip each gradient to this norm.")
    clipvalue: float | None = Field(None, gt=0.0, description="Clip each gradient element.")


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


OptimizerConfig = Annotated[
    Union[SGDConfig, RMSpropConfig, AdamConfig], Field(discriminator="name")
]


class EarlyStoppingConfig(Section):
    monitor: str = Field("val_loss", description="A logged quantity, e.g. val_loss, val_accuracy.")
    patience: int = Field(5, ge=0, description="Epochs without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0.0, description="Smallest change that counts as improvement.")
    mode: Literal["auto", "min", "max"] = Field(
        "auto", description="Whether lower or higher is better; auto: from the name."
    )
    restore_best: bool = Field(True, description="Restore the best epoch's weights on stopping.")


class TrainingConfig(Section):
    epochs: int = Field(50, gt=0, description="Passes over the training rows.")
    batch_size: Union[int, Literal["full"]] = Field(
        32, description="Rows per step, or 'full' for the whole training set per step."
    )
    early_stopping: EarlyStoppingConfig | None = Field(None, description="Off unless given.")
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
    loss: str | None = Field(
        None, description="Default from the scenario; a Keras loss name.",
        json_schema_extra={"enum": [*catalog.LOSSES, *catalog.LOSS_ALIASES, None]},
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
    def _known_loss(cls, name: str | None) -> str | None:
        if name is not None and catalog.canonical_loss(name) not in catalog.LOSSES:
            raise ValueError(unknown_name("loss", name, [*catalog.LOSSES, *catalog.LOSS_ALIASES]))
        return name

    @model_validator(mode="after")
    def _check_consistency(self) -> "RunConfig":
        if self.loss is None:
            self.loss = catalog.DEFAULT_LOSS[self.scenario]
        fits = catalog.LOSSES[catalog.canonical_loss(self.loss)]
        if self.scenario not in fits:
            raise ConfigError(
                f"loss: {self.loss!r} does not fit scenario {self.scenario!r} "
                f"(it is for {', '.join(fits)}); use {catalog.DEFAULT_LOSS[self.scenario]!r} "
                f"or leave loss out for the default"
            )
        if isinstance(self.data.target, list) and self.scenario != "regression":
            raise ConfigError(
                f"data.target: a list of targets is for regression only, "
                f"got {self.data.target!r} with scenario {self.scenario!r}"
            )
        self._check_early_stopping()
        return self

    def _check_early_stopping(self) -> None:
        stopping = self.training.early_stopping
        if stopping is None:
            return
        choices = catalog.monitorable(self.scenario)
        if stopping.monitor not in choices:
            raise ConfigError(
                "training.early_stopping.monitor: "
                + unknown_name("monitored quantity", stopping.monitor, choices)
            )
        if stopping.monitor.startswith("val_") and self.data.validation_split == 0:
            raise ConfigError(
                f"training.early_stopping.monitor: {stopping.monitor!r} needs validation rows, "
                f"but data.validation_split is 0; monitor 'loss' or set a validation_split"
            )

"""The optimizer and learning-rate schedule sections: one tagged section per optimizer and per
schedule, each with its own parameters and defaults."""

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from mlpctl.config.components import Section


class ConstantSchedule(Section):
    """schedule: constant: the learning rate as given, every step."""
    name: Literal["constant"]


class ExponentialSchedule(Section):
    """schedule: exponential: the rate times decay_rate every decay_steps steps (Keras' ExponentialDecay)."""
    name: Literal["exponential"]
    decay_steps: int = Field(gt=0, description="Optimizer steps (batches) per decay_rate factor.")
    decay_rate: float = Field(gt=0.0, description="lr * decay_rate ** (step / decay_steps).")
    staircase: bool = Field(False, description="Decay in whole steps of decay_steps.")


class InverseTimeSchedule(Section):
    """schedule: inverse_time: the rate over (1 + decay_rate * step / decay_steps) ** power."""
    name: Literal["inverse_time"]
    decay_steps: int = Field(gt=0, description="Optimizer steps (batches) per unit of decay.")
    decay_rate: float = Field(gt=0.0, description="lr / (1 + decay_rate * step / decay_steps) ** power.")
    power: float = Field(1.0, gt=0.0, description="1: Keras' inverse time decay; with decay_rate 1 and "
                         "decay_steps 1, scikit-learn's invscaling with power_t.")
    staircase: bool = False


class StepSchedule(Section):
    """schedule: step: the rate cut by a factor at given steps (Keras' PiecewiseConstantDecay)."""
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
    """schedule: cosine: a linear warm-up if asked, then the rate down a half cosine over decay_steps."""
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


class BoldDriverSchedule(Section):
    """The notes' 'bold driver', for full-batch SGD: after each epoch, a rate that lowered the
    error grows; one that raised it is cut, and the step is undone."""

    name: Literal["bold_driver"]
    increase: float = Field(1.05, gt=1.0, description="Multiply the rate by this after an epoch that lowered the loss.")
    decrease: float = Field(0.5, gt=0.0, lt=1.0, description="Multiply the rate by this after one that raised it, "
                            "and go back to the weights before that step (SGD's momentum is reset).")


ScheduleConfig = Annotated[
    ConstantSchedule | ExponentialSchedule | InverseTimeSchedule | StepSchedule | CosineSchedule | PlateauSchedule
    | BoldDriverSchedule,
    Field(discriminator="name"),
]


class OptimizerBase(Section):
    """What every optimizer section has: the learning rate, its schedule, and gradient clipping."""
    learning_rate: float = Field(0.001, gt=0.0, description="Step size.")
    clipnorm: float | None = Field(None, gt=0.0, description="Clip each gradient to this norm.")
    clipvalue: float | None = Field(None, gt=0.0, description="Clip each gradient element.")
    schedule: ScheduleConfig = Field(
        default_factory=lambda: ConstantSchedule(name="constant"),
        description="How the learning rate changes during training: a section, or a name alone for one "
        "whose parameters all have defaults (constant, bold_driver).",
    )

    @field_validator("schedule", mode="before")
    @classmethod
    def _a_name_alone(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class SGDConfig(OptimizerBase):
    """optimizer: sgd: plain gradient descent, with momentum and Nesterov's if asked."""
    name: Literal["sgd"]
    learning_rate: float = Field(0.01, gt=0.0, description="Step size; SGD's default is larger.")
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="The notes' 'inertia'.")
    nesterov: bool = Field(False, description="Nesterov momentum.")


class RMSpropConfig(OptimizerBase):
    """optimizer: rmsprop: steps scaled by a running mean of squared gradients."""
    name: Literal["rmsprop"]
    rho: float = Field(0.9, gt=0.0, lt=1.0, description="Decay of the squared-gradient average.")
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    epsilon: float = Field(1e-7, gt=0.0)
    centered: bool = False


class AdamConfig(OptimizerBase):
    """optimizer: adam, the default: momentum and RMSprop's scaling, bias-corrected."""
    name: Literal["adam"]
    beta_1: float = Field(0.9, gt=0.0, lt=1.0, description="Decay of the gradient average.")
    beta_2: float = Field(0.999, gt=0.0, lt=1.0, description="Decay of the squared-gradient average.")
    epsilon: float = Field(1e-7, gt=0.0)
    amsgrad: bool = False


class AdamWConfig(AdamConfig):
    """optimizer: adamw: Adam with decoupled weight decay."""
    name: Literal["adamw"]  # type: ignore[assignment]  # the tag of its own section, as pydantic's tagged unions want
    weight_decay: float = Field(0.004, ge=0.0, description="Decoupled weight decay.")


class NadamConfig(OptimizerBase):
    """optimizer: nadam: Adam with Nesterov momentum."""
    name: Literal["nadam"]
    beta_1: float = Field(0.9, gt=0.0, lt=1.0)
    beta_2: float = Field(0.999, gt=0.0, lt=1.0)
    epsilon: float = Field(1e-7, gt=0.0)


class AdamaxConfig(NadamConfig):
    """optimizer: adamax: Adam with the infinity norm."""
    name: Literal["adamax"]  # type: ignore[assignment]  # the tag of its own section


class AdagradConfig(OptimizerBase):
    """optimizer: adagrad: each weight's rate shrinks with its summed squared gradients."""
    name: Literal["adagrad"]
    initial_accumulator_value: float = Field(0.1, ge=0.0)
    epsilon: float = Field(1e-7, gt=0.0)


class AdadeltaConfig(OptimizerBase):
    """optimizer: adadelta: Adagrad's idea with windows of past steps and gradients."""
    name: Literal["adadelta"]
    rho: float = Field(0.95, gt=0.0, lt=1.0)
    epsilon: float = Field(1e-7, gt=0.0)


class FtrlConfig(OptimizerBase):
    """optimizer: ftrl: follow-the-regularized-leader, with its own l1 and l2."""
    name: Literal["ftrl"]
    learning_rate_power: float = Field(-0.5, le=0.0)
    initial_accumulator_value: float = Field(0.1, ge=0.0)
    l1_regularization_strength: float = Field(0.0, ge=0.0)
    l2_regularization_strength: float = Field(0.0, ge=0.0)
    l2_shrinkage_regularization_strength: float = Field(0.0, ge=0.0)
    beta: float = Field(0.0, ge=0.0)


class LionConfig(OptimizerBase):
    """optimizer: lion: the sign of a momentum, for each weight."""
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


class DeltaBarDeltaConfig(OptimizerBase):
    """Jacobs' delta-bar-delta: a learning rate per weight, raised by kappa while the gradient
    agrees in sign with its recent average and multiplied by phi when it does not."""

    name: Literal["delta_bar_delta"]
    learning_rate: float = Field(0.01, gt=0.0, description="Every weight's starting rate.")
    kappa: float = Field(0.05, gt=0.0, description="Added to a weight's rate while its gradient's sign holds.")
    phi: float = Field(0.95, gt=0.0, lt=1.0, description="Multiplies a weight's rate when its gradient's sign flips.")
    theta: float = Field(0.7, ge=0.0, lt=1.0, description="Weight of the past in the gradient's running average.")


class LbfgsConfig(OptimizerBase):
    """Full-batch L-BFGS (scipy's L-BFGS-B) over all weights, for small data sets. It picks its
    own steps, so learning_rate, clipping and schedules do not apply."""

    name: Literal["lbfgs"]
    max_iterations: int | None = Field(None, gt=0, description="At most this many iterations; default training.epochs.")
    history_size: int = Field(10, gt=0, description="Gradient pairs kept to estimate the curvature.")
    tolerance: float = Field(1e-9, gt=0.0, description="Stop when every gradient element is below this.")


OptimizerConfig = Annotated[
    SGDConfig | RMSpropConfig | AdamConfig | AdamWConfig | NadamConfig | AdamaxConfig | AdagradConfig | AdadeltaConfig
    | FtrlConfig | LionConfig | RpropConfig | DeltaBarDeltaConfig | LbfgsConfig,
    Field(discriminator="name"),
]

"""The names a config may use, kept free of TensorFlow so that `validate` can check them fast.

`mlpctl.model` maps each name here to its Keras object; a test checks the two agree.
"""

SCENARIOS = ("binary", "multiclass", "regression")
SPLITS = ("train", "validation", "test")
MODES = ("min", "max")  # lower or higher is better
MAXOUT_PIECES = 2  # maxout's pieces when the config does not say

# Our name -> Keras' name. Aliases are the words the course notes use.
ACTIVATIONS = {
    "linear": "linear",
    "identity": "linear",
    "sigmoid": "sigmoid",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "relu6": "relu6",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
    "selu": "selu",
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "softplus": "softplus",
    "softsign": "softsign",
    "hard_sigmoid": "hard_sigmoid",
    "hard_silu": "hard_silu",
    "exponential": "exponential",
    "mish": "mish",
}

# Parameterised activations and those Keras has only as layers: name -> {parameter: type}.
# Written as `activation: {name: leaky_relu, negative_slope: 0.1}`; built as a Keras layer.
ACTIVATION_LAYERS: dict[str, dict[str, type]] = {
    "leaky_relu": {"negative_slope": float},
    "elu": {"alpha": float},
    "relu": {"negative_slope": float, "max_value": float, "threshold": float},
    "prelu": {},  # a learned slope per unit
    "rrelu": {"lower": float, "upper": float},  # random slope in training, the mean at inference
    "maxout": {"pieces": int},  # max of k linear pieces per unit
    "sin": {},
    "sigmoid": {"slope": float},  # sigmoid(slope * x): the notes' slope parameter c
    "tanh": {"slope": float},
    "soft_exponential": {"alpha_init": float},  # learned alpha per unit
}
# Refused, with the reason: they cannot be trained by gradient descent.
NO_GRADIENT = ("step", "sign", "heaviside", "threshold", "binary_step", "hard_limit")

# Weight initialisers: name -> {parameter: type}. `{name: random_uniform, minval: -1, maxval: 1}`.
INITIALIZERS: dict[str, dict[str, type]] = {
    "glorot_uniform": {}, "glorot_normal": {},
    "he_uniform": {}, "he_normal": {},
    "lecun_uniform": {}, "lecun_normal": {},
    "orthogonal": {"gain": float},
    "random_uniform": {"minval": float, "maxval": float},
    "random_normal": {"mean": float, "stddev": float},
    "truncated_normal": {"mean": float, "stddev": float},
    "variance_scaling": {"scale": float, "mode": str, "distribution": str},
    "constant": {"value": float},
    "zeros": {}, "ones": {},
}

# Loss -> the scenarios it fits. The first loss listed for a scenario is its default.
LOSSES: dict[str, tuple[str, ...]] = {
    "binary_crossentropy": ("binary",),
    "binary_focal_crossentropy": ("binary",),
    "hinge": ("binary",),
    "squared_hinge": ("binary",),
    "sparse_categorical_crossentropy": ("multiclass",),
    "categorical_crossentropy": ("multiclass",),
    "categorical_focal_crossentropy": ("multiclass",),
    "mean_squared_error": ("regression", "binary"),  # binary: the notes' sigmoid output with squared error
    "mean_absolute_error": ("regression",),
    "mean_absolute_percentage_error": ("regression",),
    "mean_squared_logarithmic_error": ("regression",),
    "huber": ("regression",),
    "log_cosh": ("regression",),
    "poisson": ("regression",),  # counts: the output becomes exponential (a log link), always positive
}
# Loss parameters: name -> {parameter: type}. `loss: {name: huber, delta: 0.5}`.
LOSS_PARAMS: dict[str, dict[str, type]] = {
    "binary_crossentropy": {"label_smoothing": float},
    "categorical_crossentropy": {"label_smoothing": float},
    "binary_focal_crossentropy": {"gamma": float, "alpha": float, "apply_class_balancing": bool,
                                  "label_smoothing": float},
    "categorical_focal_crossentropy": {"gamma": float, "alpha": float, "label_smoothing": float},
    "huber": {"delta": float},
}
LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
}
# Regression losses that data.normalize_target: auto computes on the standardized target. The
# others need the target's own values: poisson and msle positive ones, mape its distance from zero.
STANDARD_SCALE_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber", "log_cosh")
# Losses that want one-hot targets rather than integer class indices.
ONE_HOT_LOSSES = ("categorical_crossentropy", "categorical_focal_crossentropy")

DEFAULT_LOSS = {
    "binary": "binary_crossentropy",
    "multiclass": "sparse_categorical_crossentropy",
    "regression": "mean_squared_error",
}
OUTPUT_ACTIVATION = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}
# model.output.activation: scenario -> {output activation: the losses it pairs with (None: all of
# the scenario's)}. tanh is the notes' binary output on targets -1/+1; poisson needs exp's log link.
OUTPUTS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "binary": {"sigmoid": None, "tanh": ("mean_squared_error", "hinge", "squared_hinge")},
    "multiclass": {"softmax": None},
    "regression": {"linear": tuple(name for name, fits in LOSSES.items() if "regression" in fits and name != "poisson"),
                   "exponential": ("poisson",)},
}
METRICS = {"binary": ("accuracy", "auc"), "multiclass": ("accuracy",), "regression": ("mae", "r2")}
# loss: the training objective, the data's loss plus the L1/L2 penalty on the weights; data_loss
# without the penalty (equal to loss when there is none), to compare runs of different penalties.
LOSS_NAMES = ("loss", "data_loss")
# Whether lower (min) or higher (max) is better, for the loss and every metric: Keras' own
# resolution of mode="auto" (MonitorCallback: the loss is minimised, a metric goes its
# `_direction`). A test holds this table to the Keras metric objects. The one rule used by
# early stopping, reduce_on_plateau, stop_at, sweep ranking and compare.
DIRECTION = {"loss": "min", "data_loss": "min", "accuracy": "max", "auc": "max", "mae": "min", "r2": "max"}


def default_output(scenario: str, loss: str | None) -> str:
    """The output activation a scenario and loss get unless model.output says otherwise."""
    return "exponential" if loss == "poisson" else OUTPUT_ACTIVATION[scenario]


def canonical_loss(name: str) -> str:
    """The Keras name of a loss a config may spell another way (`mse` -> `mean_squared_error`)."""
    return LOSS_ALIASES.get(name, name)


def loss_table() -> dict[str, dict[str, type]]:
    """Every loss name a config may use (aliases too) -> its parameters."""
    return {name: LOSS_PARAMS.get(canonical_loss(name), {}) for name in (*LOSSES, *LOSS_ALIASES)}


def monitorable(scenario: str) -> tuple[str, ...]:
    """Every quantity an epoch logs for this scenario, training and validation."""
    names = (*LOSS_NAMES, *METRICS[scenario])
    return names + tuple(f"val_{name}" for name in names)


def mode_of(quantity: str, mode: str = "auto") -> str:
    """min or max: `mode` itself unless auto, else by the quantity's name (`val_` ignored)."""
    return mode if mode != "auto" else DIRECTION[quantity.removeprefix("val_")]


def metric_value(metrics: dict, metric: str) -> float | None:
    """`validation.accuracy` looked up in metrics.json's {split: {name: value}}; None if absent."""
    split, _, name = metric.partition(".")
    values = metrics.get(split) if isinstance(metrics, dict) else None
    value = values.get(name) if isinstance(values, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

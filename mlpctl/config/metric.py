"""`--metric SPLIT.NAME` and `--mode`, as `sweep` and `compare` take them: checked against the
names a run logs, with the direction from the one rule (`catalog.mode_of`)."""

from mlpctl import catalog
from mlpctl.config.suggest import unknown_name
from mlpctl.errors import ConfigError


def default_metric(has_validation: bool) -> str:
    """What a sweep or a comparison ranks by when not told: validation.loss, or train.loss without validation rows."""
    return "validation.loss" if has_validation else "train.loss"


def check_split(metric: str) -> str:
    """`SPLIT.NAME` with a known split; returns NAME."""
    split, _, name = metric.partition(".")
    if split not in catalog.SPLITS:
        raise ConfigError(f"--metric: {unknown_name('split', split, catalog.SPLITS)}; "
                          f"write SPLIT.NAME, e.g. validation.loss")
    return name


def metric_and_mode(metric: str | None, mode: str | None, scenario: str, has_validation: bool) -> tuple[str, str]:
    """The metric to rank by (`split.name`) and whether lower (min) or higher (max) is better."""
    metric = metric or default_metric(has_validation)
    name = check_split(metric)
    names = (*catalog.LOSS_NAMES, *catalog.METRICS[scenario])
    if name not in names:
        raise ConfigError(f"--metric: {unknown_name(f'metric for {scenario}', name, names)}")
    if mode is not None and mode not in catalog.MODES:
        raise ConfigError(f"--mode: {unknown_name('mode', mode, catalog.MODES)}")
    return metric, catalog.mode_of(name, mode or "auto")

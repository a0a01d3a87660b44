"""A sweep's plan: the base config itself, the fixed --set, the grid and the seeds, and the
trials they make. Worked out and checked before anything trains, without TensorFlow."""

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpctl.config import RunConfig, config_from_mapping, format_value, read_raw
from mlpctl.errors import ConfigError


@dataclass
class Plan:
    """Everything that decides the trials; stored in sweep.json so --resume can rebuild them."""

    config: str  # absolute path of the base config file, as given
    sets: list[str]  # fixed --set overrides
    grid: dict[str, list]  # key -> values, in the order given
    seeds: list[int] | None
    base: dict = field(default_factory=dict)  # the base config file's mapping, data path absolute

    def load(self, overrides: Sequence[str] = ()) -> RunConfig:
        """The validated config of the base with the fixed --set and `overrides` applied."""
        return config_from_mapping(self.base, [*self.sets, *overrides], self.config)

    @property
    def size(self) -> int:
        """How many trials the plan makes, counted without making them."""
        return math.prod(len(values) for values in self.grid.values()) * len(self.seeds or [None])

    def trials(self) -> list["Trial"]:
        """Every trial of the plan, in order: the grid's product, each point once per seed."""
        points = itertools.product(*self.grid.values()) if self.grid else [()]
        seeds: list[int | None] = list(self.seeds or []) or [None]
        return [
            Trial(index, dict(zip(self.grid, values)), seed)
            for index, (values, seed) in enumerate(itertools.product(points, seeds), start=1)
        ]


@dataclass
class Trial:
    """One trial of a plan: its grid point and seed, and the --set overrides that make its config."""
    index: int  # 1-based
    point: dict[str, Any]  # grid key -> value
    seed: int | None

    @property
    def overrides(self) -> list[str]:
        pairs = [*self.point.items(), *([("seed", self.seed)] if self.seed is not None else [])]
        return [f"{key}={format_value(value)}" for key, value in pairs]

    @property
    def key(self) -> str:
        """Identity across --resume: the same point and seed is the same trial."""
        return json.dumps({"point": self.point, "seed": self.seed}, sort_keys=True)


@dataclass(frozen=True)
class Shard:
    """One of `count` processes that share a sweep's trials (a job array's task): it runs the
    trials whose 1-based index minus 1 is `index` modulo `count`."""

    index: int  # K in 0 .. count - 1
    count: int  # N

    def runs(self, trial_index: int) -> bool:
        return (trial_index - 1) % self.count == self.index


def parse_shard(text: str | None) -> Shard | None:
    """`K/N` with 0 <= K < N, e.g. `$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`."""
    if text is None:
        return None
    index, sep, count = text.partition("/")
    try:
        shard = Shard(int(index), int(count))
    except ValueError:
        shard = None
    if not sep or shard is None or not 0 <= shard.index < shard.count:
        raise ConfigError(f"--shard {text!r}: expected K/N with 0 <= K < N, e.g. 0/3, 1/3 and 2/3 for three shards")
    return shard


def parse_grid(arguments: list[str]) -> dict[str, list]:
    """`key=v1,v2,...` -> {key: [v1, v2, ...]}; values are YAML, so `[16, 32]` stays a list."""
    grid: dict[str, list] = {}
    for argument in arguments:
        key, sep, text = argument.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(f"--grid {argument!r}: expected KEY=V1,V2,..., e.g. optimizer.learning_rate=0.1,0.01")
        try:
            values = yaml.safe_load(f"[{text}]")
        except yaml.YAMLError:
            raise ConfigError(f"--grid {argument!r}: the values are not valid YAML") from None
        if key in grid:
            raise ConfigError(f"--grid {argument!r}: {key} is already a grid key; give all its values at once")
        shown = [format_value(value) for value in values]
        repeated = sorted({value for value in shown if shown.count(value) > 1})
        if repeated:  # the same point twice would be one trial, and one result lost
            raise ConfigError(f"--grid {argument!r}: {', '.join(repeated)} is repeated")
        grid[key] = values
    return grid


def parse_seeds(text: str | None) -> list[int] | None:
    """--seeds 1,2,3 as a list of integers (None without it)."""
    if text is None:
        return None
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected integers separated by commas, e.g. 1,2,3") from None
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: a seed is repeated")
    return seeds


MAX_TRIALS = 10_000  # a sweep's trials unless --max-trials says more: six keys of ten values are 10^6


def check_size(plan: Plan, most: int = MAX_TRIALS) -> None:
    """A plan of more than `most` trials is refused before one is made: a grid of 10^6 trials
    spent 40 s and 1.5 GB making them before the first trained."""
    if plan.size > most:
        sizes = " x ".join([*(str(len(values)) for values in plan.grid.values()),
                            *([f"{len(plan.seeds)} seeds"] if plan.seeds else [])])
        raise ConfigError(f"--grid: {plan.size:,} trials ({sizes}) is more than {most:,}; grid fewer values, "
                          f"or raise the limit with --max-trials {plan.size}")


def check_plan(plan: Plan) -> dict[int, str]:
    """Validate the base config (errors stop the sweep) and each trial (errors are recorded)."""
    plan.load()
    problems = {}
    for trial in plan.trials():
        try:
            plan.load(trial.overrides)
        except ConfigError as error:
            problems[trial.index] = str(error).replace("\n", "; ")
    return problems


def base_file_changed(plan: Plan) -> str | None:
    """A warning when the base config file now says something else than the sweep started with."""
    try:
        now = read_raw(Path(plan.config))
    except ConfigError:
        now = None
    if now == plan.base:
        return None
    state = "was edited" if now is not None else "is gone or unreadable"
    return f"{plan.config} {state} since the sweep started; --resume runs the config the sweep started with"

"""The config contract: defaults, paths, --set overrides, the resolved config. No TensorFlow."""

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpctl.config import RunConfig, apply_override, load_config, resolved_yaml
from mlpctl.config.reference import example_config
from mlpctl.errors import ConfigError

from conftest import CONFIGS, DATA, ROOT, base_config

BUNDLED = sorted(CONFIGS.glob("*.yaml"))


def test_there_is_a_config_per_bundled_data_set():
    names = {path.stem for path in BUNDLED}
    assert {"xor", "xor_cloud", "linear", "digits", "regression", "keras_seed_example"} <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_configs_are_valid(path):
    config = load_config(path)
    assert config.data.path.startswith(str(DATA))


def test_defaults_are_filled_in(write_config):
    raw = base_config()
    del raw["optimizer"], raw["training"]
    config = load_config(write_config(raw))
    assert config.loss == "binary_crossentropy"
    assert config.optimizer.name == "adam" and config.optimizer.learning_rate == 0.001
    assert config.training.epochs == 50 and config.training.batch_size == 32
    assert config.data.validation_split == 0.15 and config.data.normalize == "standard"


@pytest.mark.parametrize(
    "scenario, target, loss",
    [("binary", "y", "binary_crossentropy"), ("multiclass", "y", "sparse_categorical_crossentropy"),
     ("regression", "y", "mean_squared_error")],
)
def test_loss_defaults_follow_the_scenario(write_config, scenario, target, loss):
    assert load_config(write_config(base_config(scenario=scenario))).loss == loss


def test_relative_data_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "points.csv").write_text("a,y\n1,0\n")
    raw = base_config(**{"data.path": "points.csv"})
    path = tmp_path / "sub" / "run.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_config(path).data.path == str(tmp_path / "sub" / "points.csv")


def test_optimizer_without_a_name_is_adam(write_config):
    config = load_config(write_config(base_config(optimizer={"learning_rate": 0.01})))
    assert config.optimizer.name == "adam" and config.optimizer.learning_rate == 0.01


@pytest.mark.parametrize(
    "assignment, read, expected",
    [
        ("training.epochs=5", lambda c: c.training.epochs, 5),
        ("optimizer.learning_rate=0.01", lambda c: c.optimizer.learning_rate, 0.01),
        ("optimizer.learning_rate=1e-3", lambda c: c.optimizer.learning_rate, 0.001),
        ("training.batch_size=full", lambda c: c.training.batch_size, "full"),
        ("model.layers.0.dropout=0.3", lambda c: c.model.layers[0].dropout, 0.3),
        ("data.features=[x1]", lambda c: c.data.features, ["x1"]),
        ("training.early_stopping.patience=2", lambda c: c.training.early_stopping.patience, 2),
        ("seed=42", lambda c: c.seed, 42),
    ],
)
def test_set_overrides_are_typed(write_config, assignment, read, expected):
    config = load_config(write_config(base_config()), [assignment])
    assert read(config) == expected
    assert type(read(config)) is type(expected)


def test_set_can_switch_the_optimizer(write_config):
    config = load_config(write_config(base_config()), ["optimizer.name=sgd", "optimizer.momentum=0.9"])
    assert config.optimizer.name == "sgd" and config.optimizer.momentum == 0.9


def test_set_unknown_key_is_an_error_with_a_suggestion(write_config):
    with pytest.raises(ConfigError, match=r"training\.epoch: unknown key; did you mean 'epochs'\?"):
        load_config(write_config(base_config()), ["training.epoch=5"])


def test_set_into_a_value_is_an_error():
    with pytest.raises(ConfigError, match="loss is a value, not a section"):
        apply_override({"loss": "mse"}, "loss.delta=1")


def test_resolved_config_round_trips(write_config, tmp_path):
    config = load_config(write_config(base_config()), ["training.epochs=7"])
    again = tmp_path / "again.yaml"
    again.write_text(resolved_yaml(config))
    assert load_config(again) == config


@settings(max_examples=40, deadline=None)
@given(
    learning_rate=st.floats(min_value=1e-8, max_value=10.0, allow_nan=False),
    epochs=st.integers(min_value=1, max_value=10**6),
    units=st.lists(st.integers(min_value=1, max_value=4096), min_size=1, max_size=4),
)
def test_any_valid_value_survives_set_and_the_resolved_yaml(learning_rate, epochs, units):
    raw = base_config(model={"layers": [{"units": u} for u in units]})
    for assignment in (f"optimizer.learning_rate={learning_rate!r}", f"training.epochs={epochs}"):
        apply_override(raw, assignment)
    config = RunConfig.model_validate(raw)
    assert math.isclose(config.optimizer.learning_rate, learning_rate, rel_tol=1e-12)
    assert config.training.epochs == epochs
    assert RunConfig.model_validate(yaml.safe_load(resolved_yaml(config))) == config


@pytest.mark.parametrize("typo, choices, meant", [
    ("adma", ("sgd", "adam", "adamw", "adamax", "nadam"), "adam"),  # a swap, not the longer adamax
    ("tahn", ("tanh", "relu", "sigmoid"), "tanh"),
    ("rleu", ("relu", "elu", "selu"), "relu"),
    ("sigmod", ("sigmoid", "softsign"), "sigmoid"),
    ("sdg", ("sgd", "adam"), "sgd"),
    ("bianry", ("binary", "multiclass", "regression"), "binary"),
    ("binary_crossentopy", ("binary_crossentropy", "categorical_crossentropy"), "binary_crossentropy"),
    ("learning_rat", ("learning_rate", "momentum"), "learning_rate"),
    ("val_acc", ("val_loss", "val_accuracy", "accuracy"), "val_accuracy"),
    ("valdiation", ("train", "validation", "test"), "validation"),
    ("xyz", ("relu", "tanh"), None),
])
def test_suggestions_rank_swaps_and_short_edits_first(typo, choices, meant):
    from mlpctl.config.suggest import closest

    assert closest(typo, choices) == meant


# --- the cross-key rules, generated from their table (config/rules.py) -----------------------------

def _rule_cases():
    from mlpctl.config import rules

    for table in (rules.DATA_RULES, rules.RULES):
        for entry in table:
            needs = entry.needs if isinstance(entry, rules.Requirements) else (None,)
            for need in needs:
                yield pytest.param(entry, need, id=f"{entry.key}/{(need or entry).key}:{sorted((need or entry).example)}")


def test_the_rules_base_config_breaks_no_rule():
    assert example_config({}).scenario == "binary"


@pytest.mark.parametrize(("entry", "need"), list(_rule_cases()))
def test_each_rule_refuses_its_example_in_one_line_naming_its_key(entry, need):
    """Every rule of the table, from its own example: one ConfigError, `KEY: ...`, naming what is
    wrong; a need of a Requirements entry is named in the entry's one message."""
    overrides = {**entry.example, **need.example} if need else entry.example
    with pytest.raises(ConfigError) as caught:
        example_config(overrides)
    message = str(caught.value)
    assert message.startswith(f"config: {entry.key}: ") and "\n" not in message
    rule = need or entry
    if not callable(rule.says):
        assert rule.says in message
    assert rule.key.rsplit(".", 1)[-1].split("_")[0] in message.removeprefix(f"config: {entry.key}: ") or \
        rule.key == entry.key


def test_the_readme_lists_what_the_rules_refuse():
    from mlpctl.config.reference import RULES_BEGIN, RULES_END, rules_markdown

    readme = (ROOT / "README.md").read_text()
    assert readme[readme.index(RULES_BEGIN): readme.index(RULES_END) + len(RULES_END)] == rules_markdown(), \
        "regenerate with: python -m mlpctl.config.reference README.md"

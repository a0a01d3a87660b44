"""The corpus of bad configs and bad data: each one exit code, one line naming the problem.

Config problems exit 2 from `validate`; data problems exit 3 from `train` before TensorFlow is
loaded. No traceback without --debug.
"""

import pytest

from conftest import CONFIGS, base_config

BAD_CONFIGS = [
    # (id, config changes or YAML text, --set overrides, expected message fragment)
    ("top-level typo", {"optimiser": {"name": "adam"}}, [], "optimiser: unknown key; did you mean 'optimizer'?"),
    ("option typo", {"optimizer.learning_rat": 0.1}, [], "optimizer.learning_rat: unknown key; did you mean 'learning_rate'?"),
    ("option of another optimizer", {"optimizer.momentum": 0.9}, [], "optimizer.momentum: unknown key (valid keys here: learning_rate"),
    ("activation typo", {"model.layers": [{"units": 4, "activation": "rleu"}]}, [], "model.layers.0.activation: unknown activation 'rleu'; did you mean 'relu'?"),
    ("scenario typo", {"scenario": "bianry"}, [], "scenario: unknown value 'bianry'; did you mean 'binary'?"),
    ("optimizer typo", {"optimizer": {"name": "adm"}}, [], "optimizer.name: unknown name 'adm'; did you mean 'adam'?"),
    ("negative dropout", {"model.layers": [{"units": 4, "dropout": -0.1}]}, [], "model.layers.0.dropout: input should be greater than or equal to 0, got -0.1"),
    ("zero batch", {"training.batch_size": 0}, [], "training.batch_size: must be a positive integer or 'full', got 0"),
    ("text epochs", {"training.epochs": "many"}, [], "training.epochs: input should be a valid integer"),
    ("loss against scenario", {"loss": "mae"}, [], "loss: 'mae' does not fit scenario 'binary'"),
    ("loss typo", {"loss": "binary_crossentropi"}, [], "loss: unknown loss 'binary_crossentropi'; did you mean 'binary_crossentropy'?"),
    ("splits too large", {"data.validation_split": 0.6, "data.test_split": 0.5}, [], "validation_split + test_split must be below 1"),
    ("missing target", {"data": {"path": "x.csv"}}, [], "data.target: required key is missing"),
    ("monitor typo", {"training.early_stopping": {"monitor": "val_acc"}}, [], "unknown monitored quantity 'val_acc'; did you mean 'val_accuracy'?"),
    ("monitor without validation", {"training.early_stopping": {"monitor": "val_loss"}, "data.validation_split": 0.0}, [], "'val_loss' needs validation rows"),
    ("target list outside regression", {"data.target": ["y", "x1"]}, [], "a list of targets is for regression only"),
    ("bad run name", {"name": "my run"}, [], "name: must start with a letter or digit"),
    ("invalid yaml", "name: [unclosed\n", [], "invalid YAML at line"),
    ("not a mapping", "- just\n- a list\n", [], "expected a mapping of config keys"),
    ("set unknown key", {}, ["training.epoch=5"], "training.epoch: unknown key; did you mean 'epochs'?"),
    ("set without value", {}, ["training.epochs"], "expected KEY=VALUE"),
    ("set index out of range", {}, ["model.layers.3.units=2"], "model.layers.3 is not an item; the list has 1 item(s)"),
]


@pytest.mark.parametrize("changes, overrides, fragment", [case[1:] for case in BAD_CONFIGS], ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_exits_2_with_one_clear_line(cli, write_config, changes, overrides, fragment):
    path = write_config(changes if isinstance(changes, str) else base_config(**changes))
    sets = [arg for value in overrides for arg in ("--set", value)]
    result = cli("validate", path, *sets)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in result.output


def test_missing_config_file_exits_2(cli, tmp_path):
    result = cli("validate", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "config file not found" in result.stderr


def test_validate_reports_every_file_and_fails_if_any_is_bad(cli, write_config):
    good = write_config(base_config(), "good.yaml")
    bad = write_config(base_config(scenario="bianry"), "bad.yaml")
    result = cli("validate", good, bad)
    assert result.exit_code == 2
    assert f"ok: {good}" in result.stderr and f"error: {bad}: scenario" in result.stderr


XOR_ROWS = "x1,x2,y\n" + "0,0,0\n0,1,1\n1,0,1\n1,1,0\n" * 5
BAD_DATA = [
    # (id, CSV text or None for no file, config changes, expected message fragment)
    ("missing file", None, {}, "data.path: file not found"),
    ("missing target column", XOR_ROWS, {"data.target": "label"}, "data.target: no column 'label' in the data"),
    ("target column typo", XOR_ROWS, {"data.target": "yy"}, "did you mean 'y'?"),
    ("missing feature column", XOR_ROWS, {"data.features": ["x1", "x3"]}, "data.features: no column 'x3'"),
    ("text in a numeric column", XOR_ROWS + "abc,1,0\n", {}, "column 'x1': 1 non-numeric value(s), first 'abc' at line 22"),
    ("NaN in a feature", XOR_ROWS + ",1,0\n", {}, "column 'x1': 1 missing value(s)"),
    ("infinity in a feature", XOR_ROWS + "inf,1,0\n", {}, "column 'x1': contains infinite values"),
    ("NaN in the target", XOR_ROWS + "1,1,\n", {}, "column 'y': 1 missing value(s)"),
    ("three labels for binary", XOR_ROWS + "1,1,2\n", {}, "binary scenario needs exactly 2 distinct labels, found 3"),
    ("infinite label", XOR_ROWS.replace("1,1,0", "1,1,inf"), {}, "found 3 (0, 1, 'inf')"),  # text as written
    ("one label for binary", "x1,y\n1,0\n2,0\n3,0\n", {}, "needs exactly 2 distinct labels, found 1"),
    ("fractional labels for multiclass", "x1,y\n" + "".join(f"{i},{i / 7:.3f}\n" for i in range(40)), {"scenario": "multiclass"}, "fractional values, which are not class labels"),
    ("text target for regression", XOR_ROWS.replace("1,0,1", "1,0,high"), {"scenario": "regression"}, "column 'y': 5 non-numeric value(s)"),
    ("header only", "x1,x2,y\n", {}, "has no data rows"),
    ("too few rows for the splits", "x1,y\n1,0\n2,1\n", {"data.test_split": 0.1}, "leaves no"),
]


@pytest.mark.parametrize("csv, changes, fragment", [case[1:] for case in BAD_DATA], ids=[case[0] for case in BAD_DATA])
def test_bad_data_exits_3_before_training(cli, write_config, tmp_path, csv, changes, fragment):
    data = tmp_path / "data.csv"
    if csv is not None:
        data.write_text(csv)
    config = base_config(**{"data.path": str(data), **changes})
    result = cli("train", write_config(config), "--output-dir", tmp_path / "runs")
    assert result.exit_code == 3, result.output
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists(), "no run directory for data that cannot train"


def test_debug_shows_the_traceback(cli, write_config, tmp_path):
    config = base_config(**{"data.path": str(tmp_path / "absent.csv")})
    result = cli("train", write_config(config), "--debug")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr and "DataError" in result.stderr


def test_internal_errors_exit_1_with_one_line_and_traceback_on_request(cli, monkeypatch):
    def broken(config, max_rows=None):
        raise RuntimeError("boom")

    monkeypatch.setattr("mlpctl.workflows.run.load_dataset", broken)
    result = cli("train", CONFIGS / "xor.yaml")
    assert result.exit_code == 1
    assert result.stderr == "error: internal error: RuntimeError: boom (run again with --debug for the traceback)\n"
    monkeypatch.setenv("MLPCTL_DEBUG", "1")
    result = cli("train", CONFIGS / "xor.yaml")
    assert result.exit_code == 1 and "Traceback" in result.stderr


def test_unusable_output_dir_is_a_usage_error(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("train", CONFIGS / "xor.yaml", "--output-dir", blocker / "runs")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --output-dir: cannot create")

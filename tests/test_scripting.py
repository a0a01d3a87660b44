"""What scripts and CI pipelines use: show, schema, init, train --smoke."""

import json

import jsonschema
import pytest
import yaml

from mlpctl.config import load_config

from conftest import CONFIGS, DATA

BUNDLED_CSVS = [("xor", "y"), ("xor_cloud", "y"), ("linear", "y"), ("digits", "digit"), ("regression", "y")]


def test_show_prints_the_resolved_config_on_stdout(cli, tmp_path):
    result = cli("show", CONFIGS / "digits.yaml", "--set", "training.epochs=3")
    assert result.exit_code == 0 and result.stderr == ""
    shown = tmp_path / "shown.yaml"
    shown.write_text(result.stdout)
    assert load_config(shown) == load_config(CONFIGS / "digits.yaml", ["training.epochs=3"])
    assert yaml.safe_load(result.stdout)["optimizer"]["beta_1"] == 0.9  # defaults filled in


def test_show_model_prints_the_summary_and_parameter_count(cli):
    result = cli("show", CONFIGS / "digits.yaml", "--model")
    assert result.exit_code == 0
    assert "hidden_1" in result.stdout and "output" in result.stdout
    assert f"parameters: {64 * 65 + 65 * 32 + 33 * 10}" in result.stdout


def test_schema_accepts_every_bundled_config_and_rejects_typos(cli):
    result = cli("schema")
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(CONFIGS.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    bad = yaml.safe_load((CONFIGS / "xor.yaml").read_text())
    bad["model"]["layers"][0]["activation"] = "rleu"
    with pytest.raises(jsonschema.ValidationError, match="rleu"):
        jsonschema.validate(bad, schema)
    bad = yaml.safe_load((CONFIGS / "xor.yaml").read_text())
    bad["optimizer"]["learning_rat"] = 0.1
    with pytest.raises(jsonschema.ValidationError, match="learning_rat"):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize("name, target", BUNDLED_CSVS, ids=[name for name, _ in BUNDLED_CSVS])
@pytest.mark.slow
def test_init_writes_a_config_that_validates_and_trains(cli, tmp_path, name, target):
    output = tmp_path / "configs" / f"{name}.yaml"
    output.parent.mkdir()
    result = cli("init", "--data", DATA / f"{name}.csv", "--target", target, "--output", output)
    assert result.exit_code == 0, result.stderr
    assert cli("validate", output).exit_code == 0
    trained = cli("train", output, "-o", tmp_path / "runs", "--json", "--set", "training.epochs=3")
    assert trained.exit_code == 0
    assert json.loads(trained.stdout)["status"] == "completed"


@pytest.mark.parametrize("name, target, scenario", [("xor", "y", "binary"), ("digits", "digit", "multiclass"),
                                                    ("regression", "y", "regression")])
def test_init_guesses_the_scenario(cli, tmp_path, name, target, scenario):
    output = tmp_path / "run.yaml"
    cli("init", "--data", DATA / f"{name}.csv", "--target", target, "--output", output)
    assert yaml.safe_load(output.read_text())["scenario"] == scenario
    assert f"scenario: {scenario} (guessed" in output.read_text()


def test_init_refuses_to_overwrite_and_names_a_bad_target(cli, tmp_path):
    output = tmp_path / "run.yaml"
    output.write_text("mine\n")
    result = cli("init", "--data", DATA / "xor.csv", "--target", "y", "--output", output)
    assert result.exit_code == 2 and "exists; pass --force" in result.stderr and output.read_text() == "mine\n"
    result = cli("init", "--data", DATA / "digits.csv", "--target", "digt", "--output", tmp_path / "x.yaml")
    assert result.exit_code == 3 and "did you mean 'digit'?" in result.stderr


def test_smoke_trains_briefly_and_keeps_only_metrics(cli, tmp_path):
    result = cli("train", CONFIGS / "digits.yaml", "--smoke", "-o", tmp_path, "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["smoke"] is True and document["epochs_run"] == 2
    (run_dir,) = list(tmp_path.iterdir())
    assert [path.name for path in run_dir.iterdir()] == ["metrics.json"]
    assert sum(document["rows"].values()) == 300  # of digits.csv's 1,797
    assert set(document["metrics"]) == {"train", "validation", "test"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smoke_checks_every_row_before_sampling(cli, write_config, tmp_path, seed):
    """A bad cell anywhere in the file fails the smoke run as it fails train, at its line in the
    file, whichever rows the sample keeps."""
    lines = (DATA / "digits.csv").read_text().splitlines()
    row = lines[901].split(",")
    row[3] = "abc"
    lines[901] = ",".join(row)
    data = tmp_path / "digits.csv"
    data.write_text("\n".join(lines) + "\n")
    config = write_config(load_config(CONFIGS / "digits.yaml", [f"data.path={data}", f"seed={seed}"]).model_dump())
    for extra in (["--smoke"], []):
        result = cli("train", config, *extra, "-o", tmp_path / "runs", "--quiet")
        assert result.exit_code == 3 and "'abc' at line 902" in result.stderr, result.stderr


def test_validate_data_reads_the_file_as_train_does(cli, write_config, tmp_path):
    good = cli("validate", CONFIGS / "digits.yaml", "--data")
    assert good.exit_code == 0
    assert "(data: train 1259, validation 269, test 269 rows; 64 inputs)" in good.stderr
    assert cli("validate", CONFIGS / "digits.yaml", "--set", "data.target=digt").exit_code == 0  # columns unread
    wrong_column = cli("validate", CONFIGS / "digits.yaml", "--data", "--set", "data.target=digt")
    assert wrong_column.exit_code == 3 and "did you mean 'digit'" in wrong_column.stderr
    missing = cli("validate", CONFIGS / "digits.yaml", "--data", "--set", "data.path=nowhere.csv")
    assert missing.exit_code == 3 and "relative to the config file's folder" in missing.stderr
    assert str(CONFIGS / "nowhere.csv") in missing.stderr
    both = cli("validate", CONFIGS / "digits.yaml", CONFIGS / "xor.yaml", "--data",
               "--set", "data.path=nowhere.csv", "--set", "optimizer.learning_rat=1")
    assert both.exit_code == 2  # a config error outranks a data error


def test_validate_data_does_not_import_tensorflow(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from typer.testing import CliRunner; from mlpctl.cli import app; "
            f"r = CliRunner().invoke(app, ['validate', {str(CONFIGS / 'digits.yaml')!r}, '--data']); "
            "assert r.exit_code == 0, r.output; print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr

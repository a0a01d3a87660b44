"""`mlpctl init` on real CSVs: messy columns left out with a reason, empty cells handled, the
scenario guessed from the rows, and starters that train well as written on public data."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml


def messy_frame(rows: int = 350) -> pd.DataFrame:
    """What a tabular CSV from the wild looks like: an id, a date, text categories, yes/no
    labels and empty cells. The label depends on x1 and on the colour."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    color = rng.choice(["red", "green", "blue"], size=rows)
    churn = np.where(x1 + 1.5 * (color == "red") + 0.3 * rng.normal(size=rows) > 0.5, "yes", "no")
    x1[rng.choice(rows, 10, replace=False)] = np.nan
    return pd.DataFrame({
        "customer_id": rng.permutation(rows) + 1000,
        "signup": pd.date_range("2024-01-01", periods=rows).strftime("%Y-%m-%d"),
        "x1": x1, "x2": x2, "color": color, "churn": churn,
    })


def init(cli, tmp_path, frame: pd.DataFrame, target: str, *extra) -> tuple[dict, str]:
    data = tmp_path / "table.csv"
    frame.to_csv(data, index=False)
    output = tmp_path / "table.yaml"
    result = cli("init", "--data", data, "--target", target, "--output", output, "--force", *extra)
    assert result.exit_code == 0, result.stderr
    text = output.read_text()
    return yaml.safe_load(text), text


def test_ids_and_dates_are_left_out_with_the_reason(cli, tmp_path):
    config, text = init(cli, tmp_path, messy_frame(), "churn")
    assert config["data"]["features"] == ["x1", "x2", "color"]
    assert "# left out 'customer_id': unique per row, like an id" in text
    assert "# left out 'signup': dates: to use them, turn them into numbers" in text


def test_empty_feature_cells_are_filled_and_empty_targets_dropped(cli, tmp_path):
    frame = messy_frame()
    config, text = init(cli, tmp_path, frame, "churn")
    assert config["data"]["missing"] == "median" and "empty cells in x1" in text
    frame.loc[[3, 7], "churn"] = np.nan
    config, text = init(cli, tmp_path, frame, "churn")
    assert config["data"]["missing"] == "drop" and "target 'churn' has 2 empty cell(s)" in text
    complete = messy_frame().dropna()
    assert init(cli, tmp_path, complete, "churn")[0]["data"]["missing"] == "error"


def test_a_number_unique_per_row_is_kept_unless_it_looks_like_an_id(cli, tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"income": rng.permutation(200) * 37 + 20_000, "age": rng.integers(18, 90, 200),
                          "row": np.arange(200), "y": rng.normal(size=200)})
    config, text = init(cli, tmp_path, frame, "y")
    assert config["data"]["features"] == ["income", "age"] and "left out 'row'" in text


@pytest.mark.parametrize("values, rows, scenario", [
    (list(range(16)) + [3, 5, 7, 9], 20, "regression"),  # 16 integers in 20 rows: not classes
    ([0, 1, 2] * 7, 21, "multiclass"),
    ([0, 1] * 10, 20, "binary"),
])
def test_integer_targets_are_classes_only_with_few_values_for_the_rows(cli, tmp_path, values, rows, scenario):
    frame = pd.DataFrame({"x": np.linspace(0, 1, rows), "y": values})
    config, _ = init(cli, tmp_path, frame, "y")
    assert config["scenario"] == scenario


@pytest.mark.slow
def test_the_messy_starter_generalises(cli, tmp_path):
    """Before, the id and date columns were one-hot encoded: train 0.95, test 0.64."""
    init(cli, tmp_path, messy_frame(), "churn")
    result = cli("train", tmp_path / "table.yaml", "-o", tmp_path / "runs", "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["test"]["accuracy"] > 0.85


PUBLIC = [("iris", "test.accuracy", 0.9), ("breast_cancer", "test.accuracy", 0.9), ("diabetes", "test.r2", 0.3)]


@pytest.mark.slow
@pytest.mark.parametrize("name, metric, threshold", PUBLIC, ids=[name for name, _, _ in PUBLIC])
def test_starters_for_public_data_train_well_as_written(cli, tmp_path, name, metric, threshold):
    """scikit-learn's bundled sets, exported to CSV as a user would have them (iris with its
    species names); the starter trains with nothing changed."""
    from sklearn import datasets  # the test extra installs it; mlpctl never imports it

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame
    if name == "iris":
        frame["target"] = np.asarray(bunch.target_names)[bunch.target]
    init(cli, tmp_path, frame, "target")
    result = cli("train", tmp_path / "table.yaml", "-o", tmp_path / "runs", "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    split, key = metric.split(".")
    assert json.loads(result.stdout)["metrics"][split][key] > threshold


@pytest.mark.parametrize("values, scenario, hint", [
    ([f"{1000 + 37 * i:,}.50" for i in range(120)], None, "thousands separators"),  # 1,037.50: text to pandas
    ([f"person {i}" for i in range(120)], None, "is it the column you meant"),
    ([f"person {i}" for i in range(120)], "regression", "must be numbers"),
], ids=["separated-prices", "a-name-column", "names-as-regression"])
def test_init_refuses_a_target_that_validate_would_refuse_and_says_what_to_do(cli, tmp_path, values, scenario, hint):
    """It exited 0 with a multiclass starter that `validate --data` then refused."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=120), "x2": rng.normal(size=120), "target": values})
    frame.to_csv(tmp_path / "table.csv", index=False)
    output = tmp_path / "table.yaml"
    result = cli("init", "--data", tmp_path / "table.csv", "--target", "target", "--output", output,
                 *(("--scenario", scenario) if scenario else ()))
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code == 3 and len(lines) == 1 and hint in lines[0] and "'target'" in lines[0]
    assert not output.exists()

"""The data stage: label encodings per scenario, stratified splits, training-only statistics."""

import json
from pathlib import Path

import numpy as np
import pytest

from mlpctl.config import load_config
from mlpctl.data import load_dataset
from mlpctl.errors import DataError

from conftest import CONFIGS, DATA, base_config, run_dir_of


def dataset_from(write_config, tmp_path, csv: str, **changes):
    data = tmp_path / "data.csv"
    data.write_text(csv)
    return load_dataset(load_config(write_config(base_config(**{"data.path": str(data), **changes}))))


def test_digits_split_is_stratified_and_complete():
    dataset = load_dataset(load_config(CONFIGS / "digits.yaml"))
    assert sum(dataset.rows.values()) == 1797
    assert dataset.rows["test"] == pytest.approx(0.15 * 1797, abs=10)
    for split in ("train", "validation", "test"):
        shares = np.bincount(dataset.y[split], minlength=10) / dataset.rows[split]
        assert np.all(np.abs(shares - 0.1) < 0.02), (split, shares)


def test_normalization_uses_training_rows_only():
    dataset = load_dataset(load_config(CONFIGS / "digits.yaml"))
    train = dataset.x["train"]
    varying = train.std(axis=0) > 0
    assert np.allclose(train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(train.std(axis=0)[varying], 1, atol=1e-4)
    assert not np.allclose(dataset.x["test"].mean(axis=0)[varying], 0, atol=1e-3)


def test_minmax_maps_training_rows_to_unit_interval(write_config):
    config = load_config(write_config(base_config(**{"data.normalize": "minmax"})))
    train = load_dataset(config).x["train"]
    assert train.min() == pytest.approx(0, abs=1e-6) and train.max() == pytest.approx(1, abs=1e-6)


def test_splits_follow_the_split_seed_not_the_seed(write_config):
    """#24: `seed` drew the rows too, so a sweep over seeds compared different splits."""
    def test_rows(**changes):
        return load_dataset(load_config(write_config(base_config(**changes)))).x["test"]

    assert np.array_equal(test_rows(**{"data.split_seed": 1}), test_rows(**{"data.split_seed": 1}))
    assert not np.array_equal(test_rows(**{"data.split_seed": 1}), test_rows(**{"data.split_seed": 2}))
    assert np.array_equal(test_rows(seed=1), test_rows(seed=2))  # the initialisation's seed leaves the rows alone


@pytest.mark.slow
def test_the_split_is_recorded_and_rebuilds_with_pandas_alone(cli, write_config, tmp_path):
    import pandas as pd

    from mlpctl.data import read_table

    data = tmp_path / "gaps.csv"
    frame = read_table(DATA / "xor_cloud.csv")
    frame.loc[[3, 10], "x1"] = None  # dropped rows leave gaps in the numbering
    frame.to_csv(data, index=False)
    config = write_config(base_config(**{"data.path": str(data), "data.missing": "drop", "report.plots": False,
                                         "training.epochs": 2}))
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path / "runs", "--json"))
    split = pd.read_csv(run_dir / "split.csv")
    assert list(split.columns) == ["row", "split"] and len(split) == len(frame) - 2
    assert {3, 10}.isdisjoint(split["row"]) and split["row"].is_unique
    dataset = load_dataset(load_config(run_dir / "config.yaml"))
    raw = pd.read_csv(data)
    for name in ("train", "validation", "test"):  # each split's rows, in the order training used them
        rows = raw.loc[split.loc[split["split"] == name, "row"]]
        assert np.array_equal(dataset.preprocessing.transform(rows), dataset.x[name])
    document = json.loads((run_dir / "metrics.json").read_text())
    assert document["split_seed"] == 0 and len(document["data_sha256"]) == 64


def test_an_old_run_directorys_config_splits_by_its_seed_as_it_did(write_config, tmp_path):
    """A config.yaml written before data.split_seed, in its run directory, repeats and resumes on its own rows."""
    import yaml

    from mlpctl.rundir.reader import run_config

    old = tmp_path / "old-run"
    old.mkdir()
    raw = yaml.safe_load(write_config(base_config(seed=5)).read_text())
    (old / "config.yaml").write_text(yaml.safe_dump(raw))
    (old / "metrics.json").write_text("{}")
    assert run_config(old / "config.yaml").data.split_seed == 5
    assert load_config(old / "config.yaml").data.split_seed == 0  # elsewhere a config without it gets the default


@pytest.mark.parametrize(
    "labels, classes",
    [(["no", "yes"], ["no", "yes"]), (["False", "True"], ["False", "True"]), (["0", "1"], [0, 1]),
     (["007", "012"], ["007", "012"]), (["1.5", "2.5"], [1.5, 2.5])],
    ids=["words", "true-false-as-written", "numbers", "leading-zeros", "decimals"],
)
def test_binary_labels_may_be_strings_booleans_or_01(write_config, tmp_path, labels, classes):
    csv = "x,y\n" + "".join(f"{i},{labels[i % 2]}\n" for i in range(40))
    dataset = dataset_from(write_config, tmp_path, csv)
    assert dataset.preprocessing.classes == classes
    assert set(np.unique(dataset.y["train"])) == {0.0, 1.0}
    assert dataset.y["train"].shape[1] == 1


def test_multiclass_string_labels_are_mapped_and_kept(write_config, tmp_path):
    csv = "x,y\n" + "".join(f"{i},{['cat', 'dog', 'emu'][i % 3]}\n" for i in range(60))
    dataset = dataset_from(write_config, tmp_path, csv, scenario="multiclass")
    assert dataset.preprocessing.classes == ["cat", "dog", "emu"]
    assert dataset.y["train"].dtype == np.int32 and set(dataset.y["train"]) == {0, 1, 2}


def test_regression_takes_several_target_columns(write_config, tmp_path):
    csv = "x,a,b\n" + "".join(f"{i},{i * 2},{i * 3}\n" for i in range(40))
    dataset = dataset_from(write_config, tmp_path, csv, scenario="regression", **{"data.target": ["a", "b"]})
    assert dataset.y["train"].shape[1] == 2
    assert dataset.preprocessing.features == ["x"]


def test_selected_features_keep_their_order(write_config, tmp_path):
    csv = "a,b,c,y\n" + "".join(f"{i},{i + 1},{i + 2},{i % 2}\n" for i in range(40))
    dataset = dataset_from(write_config, tmp_path, csv, **{"data.features": ["c", "a"]})
    assert dataset.preprocessing.features == ["c", "a"]
    assert dataset.x["train"].shape[1] == 2


HOLES = "x,z,y\n" + "".join(
    f"{'' if i % 10 == 3 else i},{'' if i % 7 == 0 else i % 4},{i % 2}\n" for i in range(60))


def holes_dataset(write_config, tmp_path, strategy, **changes):
    return dataset_from(write_config, tmp_path, HOLES, **{"data.missing": strategy, "data.normalize": "none", **changes})


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
def test_missing_feature_cells_are_filled_from_the_training_rows(write_config, tmp_path, strategy):
    dataset = holes_dataset(write_config, tmp_path, strategy)
    fill = dataset.preprocessing.fill
    from mlpctl.data import split_indices

    frame = __import__("pandas").read_csv(tmp_path / "data.csv")
    config = load_config(tmp_path / "run.yaml")  # the statistic must come from the training rows only
    train_rows = frame.iloc[split_indices(len(frame), config, frame["y"].to_numpy())["train"]]
    expected = {"mean": train_rows[["x", "z"]].mean(), "median": train_rows[["x", "z"]].median(),
                "most_frequent": train_rows[["x", "z"]].mode().iloc[0]}[strategy].to_numpy()
    np.testing.assert_allclose(fill, expected)
    assert not np.isnan(np.concatenate(list(dataset.x.values()))).any()


def test_drop_removes_rows_with_empty_cells(write_config, tmp_path):
    dataset = holes_dataset(write_config, tmp_path, "drop")
    complete = sum(1 for i in range(60) if i % 10 != 3 and i % 7 != 0)
    assert sum(dataset.rows.values()) == complete and dataset.preprocessing.fill is None


def test_missing_targets_need_drop(write_config, tmp_path):
    from mlpctl.errors import DataError

    with pytest.raises(DataError, match="column 'y': 1 missing value.*use data.missing: drop"):
        dataset_from(write_config, tmp_path, "x,y\n" + "".join(f"{i},{'' if i == 5 else i % 2}\n" for i in range(40)),
                     **{"data.missing": "mean"})
    with pytest.raises(DataError, match="or set data.missing"):
        holes_dataset(write_config, tmp_path, "error")


@pytest.mark.slow
def test_predict_fills_empty_cells_the_way_training_did(cli, write_config, tmp_path):
    import json

    from conftest import base_config

    data = tmp_path / "holes.csv"
    data.write_text(HOLES)
    config = base_config(**{"data.path": str(data), "data.missing": "median", "training.epochs": 2})
    run_dir = json.loads(cli("train", write_config(config), "-o", tmp_path / "runs", "--json").stdout)["run_dir"]
    new, filled = tmp_path / "new.csv", tmp_path / "filled.csv"
    new.write_text("x,z\n,1\n5,\n")
    fill_x, fill_z = json.loads((Path(run_dir) / "preprocessing.json").read_text())["fill"]
    filled.write_text(f"x,z\n{fill_x},1\n5,{fill_z}\n")
    result = cli("predict", run_dir, "-i", new, "-o", "-", "--proba")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == cli("predict", run_dir, "-i", filled, "-o", "-", "--proba").stdout
    new.write_text("x,z\nabc,1\n")
    assert cli("predict", run_dir, "-i", new).exit_code == 3


def colours_csv(tmp_path) -> str:
    rng = np.random.default_rng(0)
    colours = rng.choice(["red", "green", "blue"], size=120)
    rows = [f"{c},{rng.normal():.3f},{int(c == 'red')}\n" for c in colours]
    return "colour,noise,y\n" + "".join(rows)


def test_text_columns_are_one_hot_encoded_from_the_training_rows(write_config, tmp_path):
    dataset = dataset_from(write_config, tmp_path, colours_csv(tmp_path))
    prep = dataset.preprocessing
    assert prep.categories == {"colour": ["blue", "green", "red"]} and prep.numeric == ["noise"]
    assert prep.n_inputs == 4 and dataset.x["train"].shape[1] == 4
    one_hot = dataset.x["train"][:, 1:]
    assert set(one_hot.sum(axis=1)) == {1.0}
    unseen = prep.transform(__import__("pandas").DataFrame({"colour": ["purple"], "noise": [0.0]}))
    assert unseen[0, 1:].tolist() == [0.0, 0.0, 0.0]


def test_listed_categorical_columns_may_hold_numbers(write_config, tmp_path):
    csv = "zone,x,y\n" + "".join(f"{i % 3 + 10},{i},{i % 2}\n" for i in range(60))
    dataset = dataset_from(write_config, tmp_path, csv, **{"data.categorical": ["zone"]})
    assert dataset.preprocessing.categories == {"zone": ["10", "11", "12"]}
    from mlpctl.errors import DataError

    with pytest.raises(DataError, match=r"data.categorical: \['y'\] are not feature columns"):
        dataset_from(write_config, tmp_path, csv, **{"data.categorical": ["y"]})


@pytest.mark.slow
def test_a_model_learns_from_a_categorical_column_and_predicts_unseen_ones(cli, write_config, tmp_path):
    import io
    import json

    import pandas as pd

    from conftest import base_config

    data = tmp_path / "colours.csv"
    data.write_text(colours_csv(tmp_path))
    config = base_config(**{"data.path": str(data), "training.epochs": 40})
    document = json.loads(cli("train", write_config(config), "-o", tmp_path / "runs", "--json").stdout)
    assert document["metrics"]["test"]["accuracy"] == 1.0  # the label is `colour == red`
    new = tmp_path / "new.csv"
    new.write_text("colour,noise\nred,0.1\nblue,0.2\npurple,0.0\nmauve,0.1\n")
    result = cli("predict", document["run_dir"], "-i", new, "--proba")
    predicted = pd.read_csv(io.StringIO(result.stdout))
    assert predicted["prediction"].tolist()[:2] == [1, 0] and len(predicted) == 4
    assert ("warning: column 'colour': 2 value(s) the run never saw (first 'purple'), encoded as all zeros"
            in result.stderr)


def test_pca_with_a_variance_fraction_keeps_the_right_number_of_components():
    config = load_config(CONFIGS / "digits.yaml", ["data.decorrelate=pca", "data.components=0.9"])
    dataset = load_dataset(config)
    plain = load_dataset(load_config(CONFIGS / "digits.yaml"))
    x = plain.x["train"].astype(np.float64)
    variance = np.linalg.svd(x - x.mean(axis=0), compute_uv=False) ** 2
    expected = int(np.argmax(np.cumsum(variance) / variance.sum() >= 0.9)) + 1
    assert dataset.x["train"].shape[1] == expected == len(dataset.preprocessing.pca["components"])
    assert 10 < expected < 64 and dataset.preprocessing.pca["explained_variance"] >= 0.9


def test_pca_on_dependent_columns_finds_their_rank(write_config, tmp_path):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=80), rng.normal(size=80)
    csv = "a,b,c,y\n" + "".join(f"{p:.6f},{q:.6f},{p + q:.6f},{int(p > 0)}\n" for p, q in zip(a, b))
    dataset = dataset_from(write_config, tmp_path, csv, **{"data.decorrelate": "pca", "data.components": 0.999999})
    assert dataset.x["train"].shape[1] == 2  # c = a + b adds no direction


def test_whitening_gives_uncorrelated_unit_variance_inputs(write_config, tmp_path):
    for normalize in ("standard", "minmax", "none"):
        config = load_config(CONFIGS / "regression.yaml", ["data.decorrelate=pca_whiten", f"data.normalize={normalize}"])
        x = load_dataset(config).x["train"].astype(np.float64)
        np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(np.cov(x, rowvar=False), np.eye(x.shape[1]), atol=1e-4)


def test_components_need_decorrelate_and_a_sensible_value(cli):
    assert "data.components: needs decorrelate" in cli("validate", CONFIGS / "xor.yaml", "--set", "data.components=2").stderr
    result = cli("validate", CONFIGS / "digits.yaml", "--set", "data.decorrelate=pca", "--set", "data.components=1.5")
    assert result.exit_code == 2 and "a fraction between 0 and 1" in result.stderr


@pytest.mark.slow
def test_a_pca_run_trains_and_predicts_through_the_saved_rotation(cli, tmp_path):
    import json

    result = cli("train", CONFIGS / "digits.yaml", "-o", tmp_path, "--json", "--set", "data.decorrelate=pca_whiten",
                 "--set", "data.components=0.95", "--set", "training.epochs=15", "--set", "report.plots=false")
    document = json.loads(result.stdout)
    assert document["metrics"]["test"]["accuracy"] > 0.9
    predicted = cli("predict", document["run_dir"], "-i", CONFIGS.parent / "data" / "digits.csv", "-o", tmp_path / "p.csv")
    assert predicted.exit_code == 0
    labels = __import__("pandas").read_csv(tmp_path / "p.csv")["prediction"]
    truth = __import__("pandas").read_csv(CONFIGS.parent / "data" / "digits.csv")["digit"]
    assert (labels == truth).mean() > 0.9


def test_every_column_with_empty_cells_is_named_at_once(write_config, tmp_path):
    from mlpctl.errors import DataError

    with pytest.raises(DataError, match=r"column 'x': 6 missing value\(s\).*first at line 5; "
                                        r"column 'z': 9 missing value\(s\).*first at line 2; fill or drop them"):
        holes_dataset(write_config, tmp_path, "error")


def test_text_in_a_regression_target_names_it_as_the_target(write_config, tmp_path):
    from mlpctl.errors import DataError

    with pytest.raises(DataError, match=r"column 'y': 1 non-numeric value\(s\), first 'high' at line 4; "
                                        r"the target of a regression must be numbers"):
        dataset_from(write_config, tmp_path, "x,y\n" + "".join(f"{i},{'high' if i == 2 else i}\n" for i in range(20)),
                     scenario="regression")


def test_classification_labels_that_look_like_numbers_are_warned_of_and_train(write_config, tmp_path):
    rows = "x,y\n" + "".join(f"{i},{i % 30}\n" for i in range(100)) + "100,99\n"
    dataset = dataset_from(write_config, tmp_path, rows, scenario="multiclass")
    many, single = dataset.warnings
    assert many.startswith("column 'y': 31 distinct labels in 101 rows (31%)") and "regression target" in many
    assert single.startswith("column 'y': 1 class(es) with a single row (99)")
    assert len(dataset.preprocessing.classes) == 31  # it trains as asked


def test_labels_with_few_classes_and_enough_rows_are_not_warned_of(write_config, tmp_path):
    rows = "x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30))
    assert dataset_from(write_config, tmp_path, rows, scenario="multiclass").warnings == []


YES_NO = "x,y\n" + "".join(f"{i},{'yes' if i % 3 else 'no'}\n" for i in range(30))


def test_the_positive_class_is_the_second_label_unless_named(write_config, tmp_path):
    assert dataset_from(write_config, tmp_path, YES_NO).preprocessing.classes == ["no", "yes"]
    named = dataset_from(write_config, tmp_path, YES_NO, **{"data.positive_class": "no"})
    assert named.preprocessing.classes == ["yes", "no"]
    assert set(named.y["train"].ravel()) == {0.0, 1.0}
    numbers = dataset_from(write_config, tmp_path, "x,y\n" + "".join(f"{i},{i % 2}.0\n" for i in range(20)),
                           **{"data.positive_class": 0})
    assert numbers.preprocessing.classes == [1.0, 0.0]


def test_a_positive_class_that_is_not_a_label_is_a_data_error(cli, write_config, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text(YES_NO)
    result = cli("train", write_config(base_config(**{"data.path": str(data), "data.positive_class": "Yes"})),
                 "-o", tmp_path / "runs")
    assert result.exit_code == 3
    assert "data.positive_class: 'Yes' is not one of column 'y''s labels ('no', 'yes')" in result.stderr
    multiclass = cli("validate", write_config(base_config(scenario="multiclass", **{"data.positive_class": 1})))
    assert multiclass.exit_code == 2 and "data.positive_class: is for scenario binary" in multiclass.stderr


def test_parquet_gives_the_same_dataset_as_csv(write_config, tmp_path):
    import pandas as pd

    parquet = tmp_path / "digits.parquet"
    pd.read_csv(CONFIGS.parent / "data" / "digits.csv").to_parquet(parquet)
    from_csv = load_dataset(load_config(CONFIGS / "digits.yaml"))
    from_parquet = load_dataset(load_config(CONFIGS / "digits.yaml", [f"data.path={parquet}"]))
    for split in from_csv.x:
        assert np.array_equal(from_csv.x[split], from_parquet.x[split])
        assert np.array_equal(from_csv.y[split], from_parquet.y[split])


def test_errors_name_the_files_own_line_after_rows_are_dropped_and_parquet_rows(cli, write_config, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"x1": ["0.5", None, "0.1", "abc"] + ["0.3"] * 16, "x2": [0.0] * 20, "y": [0, 1] * 10})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name, place in (("t.csv", "line 5"), ("t.parquet", "row 4")):
        config = base_config(**{"data.path": str(tmp_path / name), "data.missing": "drop"})
        result = cli("train", write_config(config), "-o", tmp_path / "runs")
        assert result.exit_code == 3 and f"first 'abc' at {place};" in result.stderr, result.stderr


def headerless_linear(tmp_path):
    data = tmp_path / "lineal.csv"
    data.write_text("".join((CONFIGS.parent / "data" / "linear.csv").read_text().splitlines(keepends=True)[1:]))
    return data


def test_a_file_without_a_header_is_read_with_the_names_given(write_config, tmp_path):
    data = headerless_linear(tmp_path)
    names = {"data.path": str(data), "data.header": False, "data.names": ["x1", "x2", "y"]}
    dataset = load_dataset(load_config(write_config(base_config(**names))))
    assert sum(dataset.rows.values()) == 200 and dataset.warnings == []  # every line is a row
    assert dataset.preprocessing.features == ["x1", "x2"]


def test_a_header_of_numbers_is_warned_of_and_wrong_names_are_errors(cli, write_config, tmp_path):
    data = headerless_linear(tmp_path)
    first = data.read_text().splitlines()[0].split(",")
    as_header = load_dataset(load_config(write_config(base_config(**{"data.path": str(data),
                                                                     "data.target": first[-1]}))))
    assert as_header.warnings[0].startswith("data.path: the header line (") and "data.header: false" in as_header.warnings[0]
    for names, fragment in ((["x1", "y"], "2 names, but the lines of"), (["a", "b", "c", "y"], "4 names, but")):
        config = base_config(**{"data.path": str(data), "data.header": False, "data.names": names})
        result = cli("train", write_config(config), "-o", tmp_path / "runs")
        assert result.exit_code == 3 and f"data.names: {fragment}" in result.stderr, result.stderr
    missing = cli("validate", write_config(base_config(**{"data.header": False})))
    assert missing.exit_code == 2 and "header: false needs names" in missing.stderr


def test_transform_in_blocks_gives_the_numbers_of_whole_array_arithmetic():
    """Preprocessing.transform works TRANSFORM_ROWS rows at a time into float32: bit for bit
    what filling and normalizing the whole array in float64, then rounding, gives."""
    import numpy as np
    import pandas as pd

    from mlpctl.data import Preprocessing
    from mlpctl.data.preprocessing import TRANSFORM_ROWS

    rng = np.random.default_rng(0)
    values = rng.normal(1000, 30, size=(2 * TRANSFORM_ROWS + 7, 3))
    values[rng.random(values.shape) < 0.01] = np.nan
    frame = pd.DataFrame(values, columns=["a", "b", "c"])
    prep = Preprocessing(["a", "b", "c"], ["y"], "standard", [1000.5, 999.0, 1001.25], [29.0, 31.5, 30.1], None,
                         fill=[1000.0, 998.0, 1002.0])
    whole = (np.where(np.isnan(values), np.asarray(prep.fill), values) - np.asarray(prep.center)) / np.asarray(prep.scale)
    ours = prep.transform(frame)
    assert ours.dtype == np.float32 and ours.flags["C_CONTIGUOUS"]
    assert np.array_equal(ours, whole.astype(np.float32))


def test_statistics_a_few_columns_at_a_time_are_the_whole_arrays_numbers():
    """column_statistics reduces STATISTICS_COLUMNS columns at a time (no float64 copy of every
    row): bit for bit what NumPy gives on the whole frame's float64 array, filled, for each
    normalization (a frame's columns lie in memory one after another, so each column's sum is
    the same whatever columns are beside it)."""
    import numpy as np
    import pandas as pd

    from mlpctl.data.preprocessing import STATISTICS_COLUMNS, column_statistics

    rng = np.random.default_rng(1)
    columns = [f"c{i}" for i in range(2 * STATISTICS_COLUMNS + 5)]
    values = rng.normal(50, 20, size=(3001, len(columns)))
    values[rng.random(values.shape) < 0.02] = np.nan
    fill = np.nanmean(values, axis=0)
    frame = pd.DataFrame(values, columns=columns)
    whole = frame.to_numpy(dtype=np.float64)
    whole = np.where(np.isnan(whole), fill, whole)
    center, scale = column_statistics(frame, columns, fill, "standard")
    assert np.array_equal(center, whole.mean(axis=0)) and np.array_equal(scale, whole.std(axis=0))
    low, span = column_statistics(frame, columns, fill, "minmax")
    assert np.array_equal(low, whole.min(axis=0)) and np.array_equal(span, whole.max(axis=0) - whole.min(axis=0))


def test_model_inputs_reach_tensorflow_without_a_copy():
    """transform's result starts on a 64-byte boundary, so engines.batches.tensor hands TF the
    same memory (60,000 MNIST images: 188 MB less, and no 376 MB on the way); an array that is
    not aligned, or not contiguous, is copied, never shared misaligned (TF would abort)."""
    import numpy as np
    import pandas as pd

    from mlpctl.data import Preprocessing
    from mlpctl.training.engines.batches import tensor

    frame = pd.DataFrame({"a": np.arange(1000.0), "b": np.ones(1000), "t": ["x", "y"] * 500})
    prep = Preprocessing(["a", "b", "t"], ["y"], "none", [0.0, 0.0], [1.0, 1.0], None, categories={"t": ["x", "y"]})
    numeric = Preprocessing(["a", "b"], ["y"], "standard", [0.0, 0.0], [1.0, 1.0], None)
    for x in (prep.transform(frame), numeric.transform(frame)):
        assert x.ctypes.data % 64 == 0
        shared = tensor(x)
        x[0, 0] = -7.0
        assert float(shared[0, 0]) == -7.0 and float(tf_sum(shared)) == float(x.sum())
    misaligned = numeric.transform(frame)[3:]
    misaligned[:] = 1.0
    strided = np.ones((1000, 8), np.float32)[:, ::2]
    for x in (misaligned, strided):
        copied = tensor(x)
        x[0, 0] = -7.0
        assert float(copied[0, 0]) == 1.0 and float(tf_sum(copied[:10])) == 10 * x.shape[1]
    read_only = numeric.transform(frame)  # aligned, but as pandas' copy-on-write hands out arrays
    read_only.flags.writeable = False
    assert float(tf_sum(tensor(read_only))) == float(read_only.sum())  # TF's DLPack refused it: exit 1 in CI


def tf_sum(tensor):
    import tensorflow as tf

    return tf.reduce_sum(tensor)


@pytest.mark.parametrize("labels", [("1", "01"), ("1", "1.0"), ("2", "2.00")])
def test_labels_that_read_as_one_number_are_an_error_not_one_class(write_config, tmp_path, labels):
    """`1` and `01` were merged into one class without a word."""
    csv = "x,y\n" + "".join(f"{i},{[labels[0], labels[1], '3'][i % 3]}\n" for i in range(60))
    with pytest.raises(DataError, match=f"labels '{labels[0]}' and '{labels[1]}' are one number written two ways"):
        dataset_from(write_config, tmp_path, csv, scenario="multiclass")

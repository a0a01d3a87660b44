"""The data stage: label encodings per scenario, stratified splits, training-only statistics."""

import numpy as np
import pytest

from mlpctl.config import load_config
from mlpctl.data import load_dataset

from conftest import CONFIGS, base_config


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


def test_splits_differ_with_the_seed_and_repeat_with_it(write_config):
    def test_rows(seed):
        return load_dataset(load_config(write_config(base_config(seed=seed)))).x["test"]

    assert np.array_equal(test_rows(1), test_rows(1))
    assert not np.array_equal(test_rows(1), test_rows(2))


@pytest.mark.parametrize(
    "labels, classes",
    [(["no", "yes"], ["no", "yes"]), (["False", "True"], [False, True]), (["0", "1"], [0, 1])],
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

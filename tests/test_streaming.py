"""data.streaming: the rows stay in the file; pass one's statistics, every row checked, a second
pass that spills the transformed rows to float32 files, training and evaluation that read those."""

import json

import numpy as np
import pandas as pd
import pytest

from mlpctl.config import load_config
from mlpctl.data import load_dataset, streaming
from mlpctl.data.preprocessing import fit_preprocessing, fit_target_scale

from conftest import CONFIGS, DATA, base_config


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 37 rows, so that every statistic is merged across many chunks."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 37)
    original = streaming.chunks
    monkeypatch.setattr(streaming, "chunks", lambda path, rows=37, **options: original(path, rows, **options))


def messy_regression(tmp_path, suffix: str = ".csv"):
    rng = np.random.default_rng(4)
    frame = pd.read_csv(DATA / "regression.csv")
    frame["y"] = 500 + 40 * frame["y"]
    frame["colour"] = rng.choice(["red", "green", "blue"], len(frame))
    frame.loc[rng.choice(len(frame), 30, replace=False), "x2"] = np.nan
    path = tmp_path / f"messy{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_pass_one_gives_the_in_memory_statistics_of_the_same_rows(write_config, tmp_path, small_chunks, suffix):
    path, frame = messy_regression(tmp_path, suffix)
    config = load_config(write_config(base_config(**{
        "scenario": "regression", "data.path": str(path), "data.missing": "mean", "data.streaming": True})))
    streamed = load_dataset(config)
    codes = streaming.split_codes(np.arange(len(frame)), config.data.split_seed, 0.15, 0.15)
    train = frame[codes == 0]
    features = ["x1", "x2", "x3", "x4", "colour"]
    expected = fit_preprocessing(train, features, ["y"], "standard", None, "mean", ["colour"])
    fit_target_scale(expected, train[["y"]].to_numpy())
    got = streamed.preprocessing
    for name in ("center", "scale", "fill", "target_center", "target_scale"):
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-9, err_msg=name)
    assert got.categories == expected.categories and got.features == expected.features
    assert streamed.rows == {split: int((codes == code).sum()) for split, code in streaming.SPLIT_CODES.items()}
    batches = list(streamed.batches("train", batch=1000))  # one per chunk of 37 rows, in file order
    x, y = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    np.testing.assert_allclose(x, expected.transform(train), rtol=1e-6, atol=1e-6)  # the same transform
    np.testing.assert_array_equal(y.ravel(), train["y"].to_numpy(dtype=np.float32))


def spilled_rows(spill, split: str) -> np.ndarray:
    return np.concatenate([np.fromfile(path, np.float32).reshape(-1, spill.width) for path, _ in spill.files[split]])


def test_the_spill_holds_each_splits_rows_transformed_as_in_memory(write_config, tmp_path, small_chunks):
    """Inputs, class codes and row weights (class_weight), in the file's order; files of whole
    batches, so that only a file's last batch is short."""
    config = load_config(write_config(base_config(**{
        "scenario": "multiclass", "data.path": str(DATA / "digits.csv"), "data.target": "digit", "data.streaming": True,
        "training.class_weight": "balanced", "training.batch_size": 16})))
    dataset = load_dataset(config)
    spill = dataset.spill(tmp_path / "rows", 16)
    frame = pd.read_csv(DATA / "digits.csv")
    codes = streaming.split_codes(np.arange(len(frame)), config.data.split_seed, 0.15, 0.15)
    assert spill.width == 64 + 1 + 1 and set(spill.files) == {"train", "validation", "test"}
    for split, code in streaming.SPLIT_CODES.items():
        rows, part = spilled_rows(spill, split), frame[codes == code]
        labels = part["digit"].to_numpy()
        np.testing.assert_allclose(rows[:, :64], dataset.preprocessing.transform(part), rtol=1e-6, atol=1e-6)
        assert np.array_equal(rows[:, 64], labels) and np.array_equal(rows[:, 65], dataset.class_weight[labels])
        sizes = [count for _, count in spill.files[split]]
        assert sum(sizes) == dataset.rows[split] and set(sizes[:-1]) == {32}  # 2 batches near CHUNK_ROWS (37)
    assert spill.steps("train", 16) == sum(-(-count // 16) for _, count in spill.files["train"])


def test_an_epoch_of_streamed_batches_is_a_shuffle_of_the_training_rows_drawn_from_seed_and_epoch(
        write_config, tmp_path, small_chunks):
    """Each row once per epoch; the same order for the same (seed, epoch), so a resumed run
    draws what it would have drawn; another order the next epoch."""

    from mlpctl.training.engines import stream

    config = load_config(write_config(base_config(**{"data.streaming": True, "training.batch_size": 16})))
    dataset = load_dataset(config)
    spill = dataset.spill(tmp_path / "rows", 16)
    steps = spill.steps("train", 16)

    def epochs(first: int, count: int) -> list[np.ndarray]:
        batches = list(stream.pipeline(config, dataset, "train", 16, first).take(steps * count).as_numpy_iterator())
        assert all(len(x) == len(y) <= 16 for x, y in batches)
        return [np.concatenate([x for x, _ in batches[k * steps:(k + 1) * steps]]) for k in range(count)]

    file_order = spilled_rows(spill, "train")[:, :2]
    zeroth, first = epochs(0, 2)
    for epoch in (zeroth, first):
        assert len(epoch) == dataset.rows["train"]
        assert np.array_equal(np.sort(epoch, axis=0), np.sort(file_order, axis=0))
    assert not np.array_equal(zeroth, file_order) and not np.array_equal(zeroth, first)
    assert np.array_equal(epochs(1, 1)[0], first)


def test_splits_are_stable_and_near_their_fractions():
    codes = streaming.split_codes(np.arange(100_000), 7, 0.15, 0.15)
    shares = np.bincount(codes, minlength=3) / len(codes)
    np.testing.assert_allclose(shares, [0.7, 0.15, 0.15], atol=0.01)
    assert np.array_equal(codes[:1000], streaming.split_codes(np.arange(1000), 7, 0.15, 0.15))
    assert not np.array_equal(codes[:1000], streaming.split_codes(np.arange(1000), 8, 0.15, 0.15))


def test_every_row_is_checked_with_the_files_own_line(cli, write_config, tmp_path, small_chunks):
    lines = (DATA / "xor_cloud.csv").read_text().splitlines()
    lines[350] = "abc," + lines[350].split(",", 1)[1]
    data = tmp_path / "bad.csv"
    data.write_text("\n".join(lines) + "\n")
    for extra in (["--smoke"], []):
        result = cli("train", write_config(base_config(**{"data.path": str(data), "data.streaming": True})),
                     "-o", tmp_path / "runs", *extra)
        assert result.exit_code == 3 and "first 'abc' at line 351" in result.stderr, result.stderr


def test_what_needs_every_row_at_once_is_refused(cli, write_config, tmp_path, monkeypatch):
    config = write_config(base_config(**{"data.streaming": True, "data.decorrelate": "pca",
                                         "training.batch_size": "full"}))
    result = cli("validate", config)
    assert result.exit_code == 2
    assert "data.streaming: data.decorrelate: pca needs every row at once" in result.stderr
    assert "training.batch_size: full" in result.stderr
    import mlpctl.data

    monkeypatch.setattr(mlpctl.data, "STREAM_BYTES", 1000)  # xor_cloud.csv is bigger: auto streams it
    auto = cli("train", write_config(base_config(**{"data.decorrelate": "pca"})), "-o", tmp_path / "runs")
    assert auto.exit_code == 3 and "so it would be streamed, but data.decorrelate: pca" in auto.stderr


@pytest.mark.slow
def test_a_streamed_run_learns_and_its_model_predicts(cli, write_config, tmp_path, small_chunks):
    config = load_config(CONFIGS / "digits.yaml", ["data.streaming=true"]).model_dump()
    trained = cli("train", write_config(config), "-o", tmp_path / "runs", "--json", "-q")
    assert trained.exit_code == 0, trained.stderr
    document = json.loads(trained.stdout)
    assert document["metrics"]["test"]["accuracy"] > 0.9 and document["epochs_run"] > 1
    assert any("spilled, transformed, to float32 files" in note for note in document["notes"])
    run_dir_files = {path.name for path in (tmp_path / "runs").glob("*/*")}
    assert ".rows" not in run_dir_files and "model.keras" in run_dir_files
    assert sum(document["rows"].values()) == 1797
    run_dir = tmp_path / "runs" / document["run_dir"].rsplit("/", 1)[1]
    assert (run_dir / "confusion_matrix.png").exists()
    predicted = cli("predict", run_dir, "-i", DATA / "digits.csv")
    assert predicted.exit_code == 0 and len(predicted.stdout.splitlines()) == 1798


def test_sample_weights_are_checked_in_pass_one(cli, write_config, tmp_path):
    frame = pd.read_csv(DATA / "xor_cloud.csv").assign(w=1.0)
    frame.loc[300, "w"] = 0.0
    frame.to_csv(tmp_path / "weighted.csv", index=False)
    config = base_config(**{"data.path": str(tmp_path / "weighted.csv"), "data.sample_weight": "w",
                            "data.streaming": True})
    result = cli("train", write_config(config), "-o", tmp_path / "runs")
    assert result.exit_code == 3 and "data.sample_weight: column 'w' has 1 weight(s) <= 0" in result.stderr


def test_a_file_changed_between_the_passes_is_a_data_error_not_an_internal_one(cli, write_config, tmp_path,
                                                                               monkeypatch):
    """#28 item 7: a CSV rewritten after pass one met the later pass as a ValueError, exit 1."""
    data = tmp_path / "xor.csv"
    data.write_text((DATA / "xor_cloud.csv").read_text())
    config = write_config(base_config(**{"data.path": str(data), "data.streaming": True, "training.engine": "fit",
                                         "training.epochs": 2, "report.plots": False}))
    scan = streaming.scan

    def scan_then_rewrite(config):
        found = scan(config)
        with open(data, "a") as handle:
            handle.write("0.5,oops,1\n")  # text in a numeric column, after every row was checked
        return found

    monkeypatch.setattr(streaming, "scan", scan_then_rewrite)
    result = cli("train", config, "-o", tmp_path / "runs")
    assert result.exit_code == 3, result.output
    assert f"data.path: {data} changed while the run was reading it" in result.stderr

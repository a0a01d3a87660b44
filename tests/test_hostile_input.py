"""Configs and files from someone else: bounded, refused in one line with exit 2 or 3, never a
crash of ours (exit 1) and never silently accepted."""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import CONFIGS, DATA, base_config, run_dir_of


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# --- config files ------------------------------------------------------------------------------

LAUGHS = "".join(f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join([f'*{chr(96 + i)}'] * 9) if i else '1, 2, 3'}]\n"
                 for i in range(9)) + "name: [*i]\n"


@pytest.mark.parametrize("content, fragment", [
    (LAUGHS, "expands to more than 100000 values"),  # 9^9 values: validating it would take all memory
    ("a: &a [*a]\n", "alias refers to itself"),
    ("name: a\nname: b\n", "duplicate key 'name'"),
    (b"name: caf\xe9\n", "not UTF-8 text"),
    ("# " + "x" * 1_100_000 + "\n", "too big for a config file"),
], ids=["billion-laughs", "recursive-alias", "duplicate-key", "latin-1", "50-mb"])
def test_hostile_config_files_are_refused_before_validation(cli, tmp_path, content, fragment):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = cli("validate", path)
    assert result.exit_code == 2 and fragment in one_error_line(result)


@pytest.mark.parametrize("changes, fragment", [
    ({"seed": 2**32}, "seed: must be at most 4294967295"),
    ({"seed": -1}, "seed: input should be greater than or equal to 0"),
    ({"training.early_stopping": {"monitor": "loss", "patience": 1.0e24}}, "patience: must be at most 4294967295"),
    ({"model.layers": [{"units": True}]}, "model.layers.0.units: must be a number, not true"),
    ({"training.epochs": True}, "training.epochs: must be a number, not true"),
    ({"training.class_weight": {0: float("nan"), 1: 1.0}}, "weights must be positive finite numbers"),
    ({"optimizer.learning_rate": float("inf")}, "optimizer.learning_rate: must be a finite number"),
    ({"model.layers": [{"units": 4, "activation": {"name": "leaky_relu", "negative_slope": True}}]},
     "negative_slope must be a float"),
    ({"name": "n" * 300}, "name: string should have at most 100 characters"),
])
def test_values_of_the_wrong_kind_or_size_are_refused_by_name(cli, write_config, changes, fragment):
    result = cli("validate", write_config(base_config(**changes)))
    assert result.exit_code == 2 and fragment in one_error_line(result)


def test_a_huge_rejected_value_is_shown_short(cli, write_config):
    result = cli("validate", write_config(base_config(**{"training.epochs": list(range(50_000))})))
    line = one_error_line(result)
    assert result.exit_code == 2 and "training.epochs" in line and len(line) < 400


def test_a_model_too_big_for_memory_is_refused_before_a_run_directory(cli, write_config, tmp_path):
    config = write_config(base_config(**{"model.layers": [{"units": 4_000_000_000}]}))
    result = cli("train", config, "-o", tmp_path / "runs")
    assert result.exit_code == 2 and "model.layers: " in one_error_line(result) and "GiB" in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("units, advice", [(2_000_000, "fewer or smaller layers would"),
                                           (100_000, "a batch_size of at most")])
def test_a_step_too_big_for_memory_is_refused_by_validate_and_train(cli, write_config, tmp_path, units, advice):
    """Its weights fit (2,000,000 units on two inputs: 8M weights), but a full batch of its
    activations does not: it passed validate and died in training with an internal error. With
    100,000 units a smaller batch would fit (an evaluation batch of 4,096 rows does)."""
    rows = pd.concat([pd.read_csv(DATA / "xor_cloud.csv")] * 100)  # 40,000 rows
    rows.to_csv(tmp_path / "many.csv", index=False)
    config = write_config(base_config(**{"data.path": str(tmp_path / "many.csv"), "training.batch_size": "full",
                                         "model.layers": [{"units": units}]}))
    for args in (("validate", config, "--data"), ("train", config, "-o", tmp_path / "runs")):
        result = cli(*args)
        line = one_error_line(result)
        assert result.exit_code == 2 and "activation values a step" in line and advice in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# --- data --------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario, target", [("binary", "y"), ("regression", "y")])
def test_values_beyond_float32_are_a_data_error(cli, write_config, tmp_path, scenario, target):
    frame = pd.read_csv(DATA / "xor_cloud.csv").astype(float)
    frame.loc[3, "x1" if scenario == "binary" else "y"] = 1e307
    frame.to_csv(tmp_path / "big.csv", index=False)
    config = write_config(base_config(**{"data.path": str(tmp_path / "big.csv"), "scenario": scenario}))
    result = cli("train", config, "-o", tmp_path / "runs")
    assert result.exit_code == 3 and "beyond float32's range" in one_error_line(result)


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    from typer.testing import CliRunner

    from mlpctl.cli import app

    output = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, ["train", str(CONFIGS / "xor_cloud.yaml"), "-o", str(output), "--json",
                                      "--set", "training.epochs=2", "--set", "report.plots=false"])
    assert result.exit_code == 0, result.stderr
    return Path(json.loads(result.stdout)["run_dir"])


def a_copy(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


@pytest.mark.parametrize("file, damage", [
    ("preprocessing.json", "{not json"),
    ("preprocessing.json", '{"features": 3}'),
    ("model.keras", "truncated"),
])
def test_a_damaged_run_directory_is_a_data_error_naming_the_file(cli, xor_run, tmp_path, file, damage):
    run_dir = a_copy(xor_run, tmp_path)
    path = run_dir / file
    path.write_bytes(path.read_bytes()[:100] if damage == "truncated" else damage.encode())
    result = cli("predict", run_dir, "-i", DATA / "xor_cloud.csv")
    assert result.exit_code == 3 and str(path) in one_error_line(result)


@pytest.mark.parametrize("file, damage", [("metrics.json", "[1, 2"), ("history.csv", "epoch,loss\n1,abc\n2,0.5\n")])
def test_compare_names_a_damaged_file(cli, xor_run, tmp_path, file, damage):
    run_dir = a_copy(xor_run, tmp_path)
    (run_dir / file).write_text(damage)
    result = cli("compare", run_dir, "-o", tmp_path / "c.png")
    assert result.exit_code == 3 and str(run_dir / file) in one_error_line(result)


def test_a_damaged_sweep_json_is_a_data_error(cli, tmp_path):
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    for damage in ("{oops", '{"plan": 1, "trials": 5}'):
        (sweep_dir / "sweep.json").write_text(damage)
        for args in (("sweep", "--resume", sweep_dir), ("compare", sweep_dir)):
            result = cli(*args)
            assert result.exit_code == 3 and "sweep.json" in one_error_line(result)


def test_predict_refuses_what_it_would_misread_and_copes_with_no_rows(cli, xor_run, tmp_path):
    frame = pd.read_csv(DATA / "xor_cloud.csv").drop(columns="y")
    stamps = frame.assign(x1=pd.Timestamp("2026-01-01"))
    stamps.to_parquet(tmp_path / "stamps.parquet")
    result = cli("predict", xor_run, "-i", tmp_path / "stamps.parquet")
    assert result.exit_code == 3 and "'x1'" in one_error_line(result) and "timestamps, not numbers" in result.stderr
    frame.assign(prediction=1).to_csv(tmp_path / "kept.csv", index=False)
    result = cli("predict", xor_run, "-i", tmp_path / "kept.csv", "--keep", "prediction")
    assert result.exit_code == 2 and "--keep prediction" in one_error_line(result)
    frame.head(0).to_csv(tmp_path / "none.csv", index=False)
    result = cli("predict", xor_run, "-i", tmp_path / "none.csv", "--proba")
    assert result.exit_code == 0 and result.stdout.strip() == "prediction,proba_0,proba_1"


IDS = "id,x1,x2\n00042,0,1\n12345678901234567,1,1\nNA,0,0\n,1,0\n\"a,b\",1,1\n"


@pytest.mark.parametrize("through", ["file", "stdin"])
def test_predict_keeps_a_kept_column_as_the_text_it_was(xor_run, tmp_path, through):
    """00042 stayed 42, a 17-digit id went through a float (two ids could collide), NA became empty."""
    from typer.testing import CliRunner

    from mlpctl.cli import app

    source = tmp_path / "ids.csv"
    source.write_text(IDS)
    args = ["predict", str(xor_run), "-i", str(source) if through == "file" else "-", "--keep", "id"]
    result = CliRunner().invoke(app, args, input=IDS if through == "stdin" else None)
    assert result.exit_code == 0, result.stderr
    kept = [line.rpartition(",")[0] for line in result.stdout.splitlines()]
    assert kept == ["id", "00042", "12345678901234567", "NA", "", '"a,b"']


@pytest.mark.parametrize("args", [
    ("-i", "-", "--format", "parquet", "-o", "{tmp}/preds.csv"),
    ("-i", "{data}", "--format", "parquet", "-o", "{tmp}/preds.parquet"),
    ("-i", "{data}", "--format", "csv", "-o", "{tmp}/preds.pq"),
], ids=["stdin-parquet-to-csv-name", "csv-input-as-parquet", "csv-to-parquet-name"])
def test_a_format_that_contradicts_a_file_name_is_refused(cli, xor_run, tmp_path, args):
    args = [arg.format(tmp=tmp_path, data=DATA / "xor_cloud.csv") for arg in args]
    result = cli("predict", xor_run, *args)
    assert result.exit_code == 2 and "is named as a" in one_error_line(result)
    assert not any(tmp_path.iterdir())


def test_a_format_names_the_format_of_a_file_whose_name_does_not(cli, xor_run, tmp_path):
    result = cli("predict", xor_run, "-i", DATA / "xor_cloud.csv", "-o", tmp_path / "preds.out", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(DATA / "xor_cloud.csv")
    source = tmp_path / "rows.data"
    frame.drop(columns="y").to_parquet(source)
    result = cli("predict", xor_run, "-i", source, "-o", tmp_path / "p.out", "--format", "parquet")
    assert result.exit_code == 0, result.stderr
    assert len(pd.read_parquet(tmp_path / "p.out")) == len(frame)


@pytest.mark.parametrize("streaming", [False, True], ids=["in-memory", "streamed"])
def test_labels_with_leading_zeros_come_back_as_written(cli, write_config, tmp_path, streaming):
    """`007` and `012` came back as 7 and proba_7."""
    rows = pd.read_csv(DATA / "xor_cloud.csv")
    text = rows.assign(y=rows["y"].map({0: "007", 1: "012"})).to_csv(index=False)
    (tmp_path / "codes.csv").write_text(text)
    config = write_config(base_config(**{"data.path": str(tmp_path / "codes.csv"), "report.plots": False,
                                         "data.streaming": streaming, "training.batch_size": 32}))
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path / "runs", "--json"))
    assert json.loads((run_dir / "preprocessing.json").read_text())["classes"] == ["007", "012"]
    predicted = cli("predict", run_dir, "-i", tmp_path / "codes.csv", "--proba")
    assert predicted.exit_code == 0, predicted.stderr
    header, *lines = predicted.stdout.splitlines()
    assert header == "prediction,proba_007,proba_012" and {line.split(",")[0] for line in lines} == {"007", "012"}
    evaluated = cli("evaluate", run_dir, "--data", tmp_path / "codes.csv", "--json")
    assert evaluated.exit_code == 0 and json.loads(evaluated.stdout)["metrics"]["accuracy"] > 0.7, evaluated.stderr  # chance: 0.5


def test_a_boolean_column_is_a_0_1_feature_for_every_reader(cli, write_config, tmp_path):
    """It passed validate --data and trained as a number, then predict and evaluate refused the
    very file it trained on."""
    rows = pd.read_csv(DATA / "xor_cloud.csv")
    rows.insert(2, "flag", rows["x1"] > 0)
    rows.to_csv(tmp_path / "flags.csv", index=False)
    config = write_config(base_config(**{"data.path": str(tmp_path / "flags.csv"), "report.plots": False}))
    assert cli("validate", config, "--data").exit_code == 0
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path / "runs", "--json"))
    assert cli("evaluate", run_dir, "--data", tmp_path / "flags.csv").exit_code == 0
    rows.drop(columns="y").to_parquet(tmp_path / "flags.parquet")
    as_numbers = rows.drop(columns="y").assign(flag=rows["flag"].astype(int))
    as_numbers.to_csv(tmp_path / "numbers.csv", index=False)
    outputs = [cli("predict", run_dir, "-i", tmp_path / name, "--proba") for name in ("flags.parquet", "numbers.csv")]
    assert all(out.exit_code == 0 for out in outputs) and outputs[0].stdout == outputs[1].stdout


def test_a_timestamp_column_is_refused_by_every_reader_before_training(cli, write_config, tmp_path):
    rows = pd.read_csv(DATA / "xor_cloud.csv").assign(when=pd.Timestamp("2026-01-01"))
    rows.to_parquet(tmp_path / "stamps.parquet")
    config = write_config(base_config(**{"data.path": str(tmp_path / "stamps.parquet")}))
    for args in (("validate", config, "--data"), ("train", config, "-o", tmp_path / "runs")):
        result = cli(*args)
        assert result.exit_code == 3 and "'when'" in one_error_line(result) and "timestamps" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_compare_refuses_a_metric_no_run_has(cli, xor_run, tmp_path):
    result = cli("compare", xor_run, "--metric", "validation.r2", "-o", tmp_path / "c.png")
    assert result.exit_code == 2 and "no run has it" in one_error_line(result)


@pytest.mark.slow
def test_evaluate_refuses_an_empty_or_text_regression_target(cli, tmp_path):
    result = cli("train", CONFIGS / "regression.yaml", "-o", tmp_path, "--json", "--set", "training.epochs=2",
                 "--set", "report.plots=false")
    run_dir = run_dir_of(result)
    frame = pd.read_csv(DATA / "regression.csv").head(20)
    target = yaml.safe_load((CONFIGS / "regression.yaml").read_text())["data"]["target"]
    for value in (None, "high"):
        frame.astype({target: object}).assign(**{target: [value] * 20}).to_csv(tmp_path / "bad.csv", index=False)
        outcome = cli("evaluate", run_dir, "--data", tmp_path / "bad.csv")
        assert outcome.exit_code == 3 and repr(target) in one_error_line(outcome)


@pytest.mark.slow
def test_predict_and_evaluate_never_import_the_runs_custom_loss(cli, tmp_path, monkeypatch, write_config):
    marker = tmp_path / "imported"
    (tmp_path / "someones_loss.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).touch()\n"
        "import keras\ndef loss(y_true, y_pred):\n    return keras.ops.mean(keras.ops.square(y_true - y_pred))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = write_config(base_config(**{"loss": {"custom": "someones_loss:loss"}, "report.plots": False,
                                         "training.epochs": 30}))
    run_dir = run_dir_of(cli("train", config, "-o", tmp_path / "runs", "--json"))
    marker.unlink()
    sys.modules.pop("someones_loss")
    assert cli("predict", run_dir, "-i", DATA / "xor_cloud.csv", "-o", tmp_path / "p.csv").exit_code == 0
    evaluated = cli("evaluate", run_dir, "--data", DATA / "xor_cloud.csv", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    document = json.loads(evaluated.stdout)
    assert document["metrics"]["loss"] is None and document["metrics"]["accuracy"] > 0.8, document["metrics"]  # chance: 0.5
    assert "loss not computed" in document["notes"][0]
    assert not marker.exists() and "someones_loss" not in sys.modules


# --- model files from someone else --------------------------------------------------------------

def rewrite_member(archive: Path, member: str, change) -> None:
    """`change(bytes) -> bytes` applied to one member of a zip archive, in place."""
    import zipfile

    copy = archive.with_suffix(".new")
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, change(data) if item.filename == member else data)
    copy.replace(archive)


def edit_saved_config(run_dir: Path, edit) -> None:
    def change(data: bytes) -> bytes:
        document = json.loads(data)
        edit(document["config"]["layers"])
        return json.dumps(document).encode()

    rewrite_member(run_dir / "model.keras", "config.json", change)


PLANTED_LOSS = {"module": "mlpctl.model.custom", "class_name": "FunctionLoss", "config": {"target": "planted:go"},
                "registered_name": "mlpctl>FunctionLoss"}


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A module `planted` on the path that leaves a marker file when imported: what a crafted
    model file would make run (a helpers.py lying in the run directory does the same)."""
    marker = tmp_path / "planted-ran"
    (tmp_path / "planted.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef go(a, b):\n    return a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("planted", None)


def plant_in_regularizer(layers: list) -> None:
    layers[1]["config"]["kernel_regularizer"] = PLANTED_LOSS


def test_a_model_file_that_names_code_runs_none_of_it(cli, xor_run, tmp_path, planted):
    run_dir = a_copy(xor_run, tmp_path)
    edit_saved_config(run_dir, plant_in_regularizer)
    for args in (("predict", run_dir, "-i", DATA / "xor_cloud.csv", "-o", tmp_path / "p.csv"),
                 ("evaluate", run_dir, "--data", DATA / "xor_cloud.csv")):
        result = cli(*args)
        assert result.exit_code == 3 and "mlpctl>FunctionLoss" in one_error_line(result)
        assert str(run_dir / "model.keras") in result.stderr
    assert not planted.exists() and "planted" not in sys.modules and not (tmp_path / "p.csv").exists()


def test_keras_own_loader_imports_no_loss_the_file_names(xor_run, tmp_path, planted):
    """`import mlpctl.model`, then keras.saving.load_model, as the README shows: our registered
    objects rebuild nothing a file names that no config run here named."""
    import keras

    import mlpctl.model  # noqa: F401 - registers our objects, FunctionLoss among them

    run_dir = a_copy(xor_run, tmp_path)
    edit_saved_config(run_dir, plant_in_regularizer)
    with pytest.raises(Exception, match="planted:go"):
        keras.saving.load_model(run_dir / "model.keras")
    assert not planted.exists() and "planted" not in sys.modules


@pytest.mark.parametrize("spec", [
    PLANTED_LOSS,
    {"module": "builtins", "class_name": "eval", "config": {}, "registered_name": None},
    {"module": "keras.layers", "class_name": "Lambda", "config": {}, "registered_name": None},
    {"module": "keras.losses", "class_name": "MeanSquaredError", "config": None, "registered_name": None},
], ids=["untrusted-custom-loss", "a-builtin", "a-keras-layer", "no-config"])
def test_a_loss_nested_in_ours_rebuilds_only_as_a_loss_mlpctl_builds(spec, planted):
    from mlpctl.model.losses import DataLoss
    from mlpctl.model.target import OnStandardScale

    for wrapper in (lambda: OnStandardScale(spec, [0.0], [1.0]), lambda: DataLoss(spec)):
        with pytest.raises(ValueError):
            wrapper()
    assert not planted.exists() and "planted" not in sys.modules


def test_a_saved_huber_loss_rebuilds_with_its_delta():
    import keras

    from mlpctl.model.registries import LOSSES
    from mlpctl.model.target import OnStandardScale

    wrapped = OnStandardScale(keras.losses.serialize(LOSSES["huber"](delta=2.5)), [0.0], [1.0])
    assert wrapped.loss.get_config()["delta"] == 2.5


def test_an_architecture_edited_in_the_model_file_is_refused_before_it_is_built(cli, xor_run, tmp_path):
    """10^8 units in model.keras would be gigabytes once built: the file's config is compared
    with config.yaml's network, which alone is built."""
    run_dir = a_copy(xor_run, tmp_path)

    def widen(layers: list) -> None:
        layers[1]["config"]["units"] = 10**8

    edit_saved_config(run_dir, widen)
    result = cli("predict", run_dir, "-i", DATA / "xor_cloud.csv")
    assert result.exit_code == 3 and "layers differ from config.yaml" in one_error_line(result)
    assert "100000000" in result.stderr


def test_weights_not_stored_in_the_file_are_refused_before_they_are_read(cli, xor_run, tmp_path):
    """A dataset declared huge but never written reads back as gigabytes of fill values."""
    import io

    import h5py

    run_dir = a_copy(xor_run, tmp_path)

    def hollow(data: bytes) -> bytes:
        buffer = io.BytesIO(data)
        with h5py.File(buffer, "r+") as store:
            name = next(f"layers/{layer}/vars/0" for layer in store["layers"] if "vars" in store["layers"][layer]
                        and "0" in store["layers"][layer]["vars"])
            del store[name]
            store.create_dataset(name, shape=(10**6, 10**4), dtype="float32")
        return buffer.getvalue()

    rewrite_member(run_dir / "model.keras", "model.weights.h5", hollow)
    result = cli("predict", run_dir, "-i", DATA / "xor_cloud.csv")
    assert result.exit_code == 3 and "not stored in full" in one_error_line(result)


def test_predict_gives_the_numbers_of_the_model_keras_saved(xor_run):
    """Rebuilt from config.yaml with the file's weights: the same outputs as Keras' own loader."""
    import keras
    import numpy as np

    from mlpctl.workflows.predict import open_run

    run = open_run(xor_run)
    frame = pd.read_csv(DATA / "xor_cloud.csv")
    x = run.preprocessing.transform(frame)
    saved = keras.saving.load_model(xor_run / "model.keras", compile=False)
    assert np.array_equal(run.model.predict(x, verbose=0), saved.predict(x, verbose=0))


# --- run files edited, damaged or not files at all -----------------------------------------------

@pytest.mark.parametrize("edit, field", [
    (lambda p: p.update(center=p["center"][:1]), "center: 1 value(s) for 2 numeric feature(s)"),
    (lambda p: p.update(scale=["1.0", 1.0]), "scale.0: input should be a valid number"),
    (lambda p: p.pop("center"), "center: field required"),
    (lambda p: p.update(extra=1), "extra: unexpected keyword argument"),
    (lambda p: p.update(classes=[0]), "classes: a binary run has two"),
    (lambda p: p.update(features=["x1", "x1"]), "each named once"),
    (lambda p: p.update(fill=[0.0]), "fill: 1 value(s) for 2"),
], ids=["short-center", "text-number", "missing-key", "added-key", "one-class", "feature-twice", "short-fill"])
def test_a_hand_edited_preprocessing_json_is_a_data_error_naming_the_field(cli, xor_run, tmp_path, edit, field):
    run_dir = a_copy(xor_run, tmp_path)
    path = run_dir / "preprocessing.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    result = cli("predict", run_dir, "-i", DATA / "xor_cloud.csv")
    line = one_error_line(result)
    assert result.exit_code == 3 and str(path) in line and field in line.lower(), line


def with_metrics(run_dir: Path, **changes) -> Path:
    path = run_dir / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return run_dir


@pytest.mark.parametrize("changes, field", [
    ({"status": 5}, "status"),
    ({"epochs_run": "abc"}, "epochs_run"),
    ({"status": "running", "host": __import__("socket").gethostname(), "pid": 2**70}, "pid"),
    ({"rows": [1, 2]}, "rows"),
    ({"metrics": {"train": {"loss": "low"}}}, "metrics.train.loss"),
], ids=["status", "epochs", "huge-pid", "rows", "metric-text"])
def test_compare_lists_a_run_with_a_mistyped_metrics_json_and_compares_the_others(cli, xor_run, tmp_path,
                                                                                    changes, field):
    good, bad = a_copy(xor_run, tmp_path / "good"), with_metrics(a_copy(xor_run, tmp_path / "bad"), **changes)
    result = cli("compare", good, bad, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [run["run_dir"] for run in document["runs"]] == [str(good)]
    assert len(document["unreadable"]) == 1 and str(bad / "metrics.json") in document["unreadable"][0]
    assert f"{field}:" in document["unreadable"][0] and "warning: left out, unreadable" in result.stderr
    alone = cli("compare", bad, "--json")
    assert alone.exit_code == 3 and str(bad / "metrics.json") in one_error_line(alone)


def test_show_resume_and_predict_refuse_a_pid_too_big_for_c(cli, xor_run, tmp_path):
    run_dir = with_metrics(a_copy(xor_run, tmp_path), status="running", host=__import__("socket").gethostname(),
                           pid=2**70)
    for args in (("show", run_dir), ("train", "--resume", run_dir)):
        result = cli(*args)
        assert result.exit_code == 3 and "pid" in one_error_line(result), result.stderr


def test_compare_reads_a_runs_config_yaml_with_the_bounded_loader(cli, xor_run, tmp_path):
    good, bad = a_copy(xor_run, tmp_path / "good"), a_copy(xor_run, tmp_path / "bad")
    (bad / "config.yaml").write_text(LAUGHS)
    result = cli("compare", good, bad, "--json")
    assert result.exit_code == 0 and "expands to more than" in json.loads(result.stdout)["unreadable"][0]
    alone = cli("compare", bad, "--json")
    assert alone.exit_code == 3 and "expands to more than" in one_error_line(alone)


@pytest.fixture(params=["dev-zero", "link-to-dev-zero", "fifo"])
def not_a_file(request, tmp_path):
    """What a path may name that is no regular file: read whole, each would never end."""
    import os

    def make(path: Path) -> Path:
        path.unlink(missing_ok=True)
        if request.param == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
        return path

    return make if request.param != "dev-zero" else (lambda path: Path("/dev/zero"))


def test_a_config_that_is_not_a_regular_file_is_refused(cli, tmp_path, not_a_file):
    path = not_a_file(tmp_path / "run.yaml")
    result = cli("validate", path)
    assert result.exit_code == 2 and "not a regular file" in one_error_line(result)


@pytest.mark.parametrize("file, command, fragment", [
    ("metrics.json", "compare", "not a run directory"), ("config.yaml", "compare", "not a run directory"),
    ("history.csv", "compare", "not a regular file"), ("preprocessing.json", "predict", "no preprocessing.json"),
    ("metrics.json", "show", "not a regular file"), ("config.yaml", "show", "not a regular file")])
def test_a_run_file_that_is_not_a_regular_file_is_refused(cli, xor_run, tmp_path, file, command, fragment):
    import os

    run_dir = a_copy(xor_run, tmp_path)
    (run_dir / file).unlink()
    os.mkfifo(run_dir / file)
    args = {"compare": ("compare", run_dir, "--json"), "predict": ("predict", run_dir, "-i", DATA / "xor_cloud.csv"),
            "show": ("show", run_dir)}[command]
    result = cli(*args)
    assert result.exit_code in (2, 3) and fragment in one_error_line(result), result.stderr


# --- init --------------------------------------------------------------------------------------

def test_init_with_a_non_ascii_file_name_and_a_missing_output_folder(cli, tmp_path):
    data = tmp_path / "données.csv"
    shutil.copy(DATA / "xor_cloud.csv", data)
    result = cli("init", "--data", data, "--target", "y", "--output", tmp_path / "d.yaml")
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load((tmp_path / "d.yaml").read_text())["name"] == "donn-es"
    assert cli("validate", tmp_path / "d.yaml").exit_code == 0
    result = cli("init", "--data", data, "--target", "y", "--output", tmp_path / "no" / "such" / "d.yaml")
    assert result.exit_code == 2 and "does not exist" in one_error_line(result)


# --- generated configs and data ----------------------------------------------------------------

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DOCUMENTED = {"completed", "diverged", "interrupted", "invalid", "data_error", "output_error"}


def mostly(valid, broken):
    """Valid values far more often than broken ones, so that many examples train."""
    return st.one_of(*[valid] * 8, broken)


ROWS = st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.sampled_from(["0", "1"])), min_size=4, max_size=30)
BROKEN_CELL = st.one_of(st.none(), st.none(), st.tuples(  # (row, column, text) or nothing
    st.integers(0, 29), st.integers(0, 2), st.sampled_from(["", "abc", "1e307", "nan", "inf", "2", "0.5", "a"])))
CONFIG_CHANGES = st.fixed_dictionaries({}, optional={
    "scenario": mostly(st.sampled_from(["binary", "multiclass", "regression"]), st.just("bianry")),
    "seed": mostly(st.integers(0, 2**32 - 1), st.sampled_from([-1, 2**33, True])),
    "model.layers": mostly(st.lists(st.fixed_dictionaries(
        {"units": st.integers(1, 6)},
        optional={"activation": st.sampled_from(["relu", "tanh", "maxout", "sin"]),
                  "dropout": st.floats(0, 0.9)}), min_size=1, max_size=2),
        st.sampled_from([[], [{"units": 0}], [{"units": True}], [{"units": 2, "activation": "step"}]])),
    "optimizer": mostly(st.fixed_dictionaries({"name": st.sampled_from(["adam", "sgd", "rmsprop"])},
                                              optional={"learning_rate": st.floats(1e-4, 1e4)}),
                        st.sampled_from([{"name": "adamm"}, {"learning_rate": -1.0}, {"name": "rprop"}])),
    "training.epochs": mostly(st.integers(1, 3), st.sampled_from([0, True, 2.5])),
    "training.batch_size": mostly(st.one_of(st.integers(1, 40), st.just("full")), st.just(0)),
    "data.validation_split": mostly(st.sampled_from([0.0, 0.2, 0.3]), st.floats(0.5, 1.2)),
    "data.test_split": mostly(st.sampled_from([0.0, 0.2]), st.floats(0.3, 1.0)),
    "data.missing": mostly(st.sampled_from(["error", "mean", "drop"]), st.just("guess")),
})


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CONFIG_CHANGES,
       rows=ROWS, broken=BROKEN_CELL)
def test_any_config_and_csv_exit_0_2_3_or_4_without_a_traceback(cli, tmp_path_factory, changes, rows, broken):
    folder = tmp_path_factory.mktemp("generated")
    cells = [list(row) for row in rows]
    if broken and broken[0] < len(cells):
        cells[broken[0]][broken[1]] = broken[2]
    data = folder / "data.csv"
    data.write_text("x1,x2,y\n" + "".join(",".join(map(str, row)) + "\n" for row in cells))
    config = base_config(**{"data.path": str(data), "report.plots": False, **changes})
    (folder / "run.yaml").write_text(yaml.safe_dump(config))
    result = cli("train", folder / "run.yaml", "-o", folder / "runs", "--quiet")
    event(f"exit code {result.exit_code}")
    assert result.exit_code in (0, 2, 3, 4), result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code:
        assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) >= 1
    for run_dir in (folder / "runs").glob("*") if (folder / "runs").exists() else []:
        document = json.loads((run_dir / "metrics.json").read_text())
        assert document["status"] in DOCUMENTED

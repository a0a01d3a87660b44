"""What a run shows and what a trained run can do: plots, report.html, evaluate, predict, compare."""

import io
import json
import struct
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mlpctl import scoring
from mlpctl.config import load_config
from mlpctl.progress import Progress
from mlpctl.data import Preprocessing, read_table, split_indices
from mlpctl.workflows.run import execute

from conftest import CONFIGS, DATA, base_config, run_dir_of

CLASSIFICATION = {"learning_curves", "confusion_matrix"}
PLOTS = {
    "xor_cloud": CLASSIFICATION | {"roc_curve", "pr_curve", "decision_boundary", "hidden_units"},
    "digits": CLASSIFICATION | {"first_layer_weights"},
    "regression": {"learning_curves", "predicted_vs_actual", "residuals"},
}


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def drawn_colours(path) -> int:
    """Distinct colours in a PNG: a blank or single-colour picture has one or two; a plot has
    its background, axes, text and lines (antialiasing adds many more)."""
    from PIL import Image

    with Image.open(path) as image:
        return len(image.convert("RGB").getcolors(maxcolors=1 << 24))


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tables, self.text, self.links = [], 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        self.links += [attrs[name] for name in ("src", "href") if attrs.get(name)]
        self.tables += tag == "table"

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short run per scenario, shared by the tests below."""
    out = tmp_path_factory.mktemp("runs")
    runs = {}
    for name in PLOTS:
        config = load_config(CONFIGS / f"{name}.yaml", ["training.epochs=8", "training.early_stopping=null"])
        runs[name] = execute(config, out, Progress())
    return runs


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Short runs without plots, for the tests of predict and evaluate (the fast subset)."""
    out = tmp_path_factory.mktemp("quick")
    overrides = ["training.epochs=8", "training.early_stopping=null", "report.plots=false"]
    return {name: execute(load_config(CONFIGS / f"{name}.yaml", overrides), out, Progress())
            for name in ("xor_cloud", "regression")}


@pytest.mark.parametrize("name", sorted(PLOTS))
@pytest.mark.slow
def test_each_scenario_gets_its_plots_as_sensible_pngs(trained, name):
    run_dir = trained[name].run_dir
    written = {path.stem for path in run_dir.glob("*.png")}
    assert written == PLOTS[name]
    for path in run_dir.glob("*.png"):
        width, height = png_size(path)
        assert 300 <= width <= 3000 and 250 <= height <= 2000, (path.name, width, height)
        assert drawn_colours(path) >= 8, f"{path.name} is (nearly) blank"


@pytest.mark.parametrize("name", sorted(PLOTS))
@pytest.mark.slow
def test_report_html_is_self_contained_with_every_plot(trained, name):
    run_dir = trained[name].run_dir
    page = Page()
    page.feed((run_dir / "report.html").read_text())
    assert len(page.images) == len(PLOTS[name])
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    text = " ".join(page.text)
    assert "Final metrics" in text and "Config" in text and "hidden_1" in text
    if name != "regression":
        assert "precision" in text and "F1" in text and page.tables == 3  # run facts, metrics, per class
    assert all(link.startswith(("data:", "#")) for link in page.links), page.links  # nothing fetched
    outside = (run_dir / "report.html").read_text().replace("http://www.w3.org", "")
    assert "http://" not in outside and "https://" not in outside and "@import" not in outside


@pytest.mark.slow
def test_report_html_says_where_when_on_how_many_rows_and_how_many_weights(trained):
    run = trained["xor_cloud"]
    page = Page()
    page.feed((run.run_dir / "report.html").read_text())
    text = " ".join(page.text)
    rows = run.document["rows"]
    trainable = (2 * 8 + 8) + (8 + 1)  # xor_cloud.yaml: 2-8-1
    assert str(run.run_dir) in text and run.document["started"] in text and run.document["finished"] in text
    assert f"train {rows['train']}, validation {rows['validation']}, test {rows['test']}" in text
    assert f"trainable parameters {trainable}" in " ".join(text.split())
    assert "positive class 1" in " ".join(text.split())


def test_plots_can_be_turned_off(cli, tmp_path):
    result = cli("train", CONFIGS / "xor.yaml", "-o", tmp_path, "--json", "--set", "report.plots=false",
                 "--set", "training.epochs=2")
    assert not list(run_dir_of(result).glob("*.png")) and not (run_dir_of(result) / "report.html").exists()


def test_per_class_scores_and_curves_against_known_answers():
    from mlpctl.scoring import per_class_scores, pr_points, roc_points

    y_true, y_pred = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0])
    scores = per_class_scores(y_true, y_pred, ["no", "yes"])
    assert scores[1] == {"class": "yes", "precision": 2 / 3, "recall": 2 / 3, "f1": pytest.approx(2 / 3), "support": 3}
    _, _, area = roc_points(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    assert area == pytest.approx(0.75)  # the classic example: sklearn's roc_auc_score gives 0.75
    _, _, average = pr_points(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    assert average == pytest.approx(0.8333333)  # sklearn's average_precision_score gives 0.8333


def test_predict_on_the_training_csv_reproduces_training_time_predictions(cli, quick, tmp_path):
    run = quick["xor_cloud"]
    frame = read_table(DATA / "xor_cloud.csv")
    prep = Preprocessing(**json.loads((run.run_dir / "preprocessing.json").read_text()))
    expected = scoring.scores(run.result.model, prep.transform(frame))[:, 0]
    output = tmp_path / "predictions.csv"
    result = cli("predict", run.run_dir, "--input", DATA / "xor_cloud.csv", "--output", output, "--proba")
    assert result.exit_code == 0, result.stderr
    predicted = pd.read_csv(output)
    assert list(predicted.columns) == ["prediction", "proba_0", "proba_1"]
    assert np.array_equal(predicted["proba_1"].to_numpy(dtype=np.float32), expected)
    assert np.array_equal(predicted["prediction"].to_numpy(), (expected > 0.5).astype(int))


@pytest.mark.slow
def test_string_labels_come_back_as_strings_through_a_pipe(cli, tmp_path, write_config):
    frame = read_table(DATA / "xor_cloud.csv")
    frame["y"] = frame["y"].map({0: "cat", 1: "dog"})
    frame.insert(0, "id", [f"row{i}" for i in range(len(frame))])
    data = tmp_path / "pets.csv"
    frame.to_csv(data, index=False)
    config = base_config(**{"data.path": str(data), "data.features": ["x1", "x2"], "training.epochs": 20})
    trained = cli("train", write_config(config), "-o", tmp_path / "runs", "--json")
    run_dir = run_dir_of(trained)
    result = cli("predict", run_dir, "-i", data, "-o", "-", "--keep", "id", "--proba")
    assert result.exit_code == 0, result.stderr
    predicted = pd.read_csv(io.StringIO(result.stdout))
    assert list(predicted.columns) == ["id", "prediction", "proba_cat", "proba_dog"]
    assert set(predicted["prediction"]) == {"cat", "dog"}
    assert (predicted["prediction"] == frame["y"]).mean() > 0.9
    assert predicted["id"].tolist() == frame["id"].tolist()


@pytest.mark.parametrize("csv, fragment", [
    ("x1\n0.5\n", "missing column(s): x2"),
    ("x1,x2,colour\n0.5,0.5,red\n", "unexpected column(s): colour"),
    ("x1,x2,id,colour\n0.5,0.5,7,red\n", "unexpected column(s): id, colour; keep them in the output with "
                                        "--keep id --keep colour, or drop them"),
    ("x1,x2\n0.5,abc\n", "column 'x2': 1 missing or non-numeric value(s), first 'abc'"),
])
def test_bad_prediction_input_exits_3_and_writes_nothing(cli, quick, tmp_path, csv, fragment):
    source = tmp_path / "in.csv"
    source.write_text(csv)
    output = tmp_path / "out.csv"
    result = cli("predict", quick["xor_cloud"].run_dir, "-i", source, "-o", output)
    assert result.exit_code == 3 and fragment in result.stderr
    assert not output.exists() and result.stdout == ""


def test_predict_reads_and_writes_parquet(cli, quick, tmp_path):
    source = tmp_path / "in.parquet"
    read_table(DATA / "regression.csv").to_parquet(source)
    output = tmp_path / "out.parquet"
    assert cli("predict", quick["regression"].run_dir, "-i", source, "-o", output).exit_code == 0
    assert pd.read_parquet(output).shape == (500, 1)


@pytest.mark.slow
def test_evaluate_on_the_test_rows_gives_the_runs_test_metrics(cli, trained, tmp_path):
    run = trained["digits"]
    config = load_config(run.run_dir / "config.yaml")
    frame = read_table(DATA / "digits.csv")
    labels = frame["digit"].to_numpy()
    test_rows = split_indices(len(frame), config, labels)["test"]
    data = tmp_path / "test_rows.csv"
    frame.iloc[test_rows].to_csv(data, index=False)
    result = cli("evaluate", run.run_dir, "--data", data, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["metrics"] == run.document["metrics"]["test"]
    evaluation = document["evaluation_dir"]
    assert {"confusion_matrix.png"} <= {p.name for p in __import__("pathlib").Path(evaluation).iterdir()}


def test_evaluate_names_unseen_labels(cli, quick, tmp_path):
    data = tmp_path / "odd.csv"
    frame = read_table(DATA / "xor_cloud.csv")
    frame.loc[0, "y"] = 7
    frame.to_csv(data, index=False)
    result = cli("evaluate", quick["xor_cloud"].run_dir, "--data", data)
    assert result.exit_code == 3 and "label(s) the run never saw: 7" in result.stderr


@pytest.mark.slow
def test_compare_lists_only_the_keys_that_differ(cli, tmp_path):
    out = tmp_path / "runs"
    for overrides in ([], ["--set", "optimizer.learning_rate=0.005", "--set", "model.layers.0.units=3"]):
        cli("train", CONFIGS / "xor_cloud.yaml", "-o", out, "-q", "--set", "training.epochs=5", *overrides)
    plot = tmp_path / "cmp.png"
    result = cli("compare", *sorted(out.iterdir()), "--output", plot, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["differing_keys"] == ["model.layers.0.units", "optimizer.learning_rate"]
    assert [run["config"] for run in document["runs"]] == [
        {"model.layers.0.units": 8, "optimizer.learning_rate": 0.02},
        {"model.layers.0.units": 3, "optimizer.learning_rate": 0.005}]
    assert document["metric"] == "validation.loss" and png_size(plot)[0] >= 300
    table = cli("compare", *sorted(out.iterdir()), "--output", plot).stderr  # not a terminal: not wrapped
    header = next(line for line in table.splitlines() if "optimizer.learning_rate" in line)
    assert "model.layers.0.units" in header and "validation.loss" in header and len(header) > 80


@pytest.mark.slow
def test_compare_reads_sweep_directories(cli, tmp_path):
    cli("sweep", CONFIGS / "xor.yaml", "--grid", "model.layers.0.units=2,4", "--set", "training.epochs=3", "-o", tmp_path)
    (sweep_dir,) = list(tmp_path.iterdir())
    result = cli("compare", sweep_dir, "--json", "-o", tmp_path / "cmp.png")
    document = json.loads(result.stdout)
    assert len(document["runs"]) == 2 and document["differing_keys"] == ["model.layers.0.units"]
    assert cli("compare", tmp_path / "nothing").exit_code == 2


def test_tensorboard_logs_when_asked(cli, tmp_path):
    result = cli("train", CONFIGS / "xor_cloud.yaml", "-o", tmp_path, "--json", "--set", "report.tensorboard=true",
                 "--set", "training.epochs=3", "--set", "report.plots=false")
    run_dir = run_dir_of(result)
    logs = run_dir / "tensorboard"
    assert len(list((logs / "train").glob("events.out.tfevents.*"))) == 1
    assert len(list((logs / "validation").glob("events.out.tfevents.*"))) == 1
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    history = pd.read_csv(run_dir / "history.csv")
    for split, prefix in (("train", ""), ("validation", "val_")):
        events = EventAccumulator(str(logs / split), size_guidance={"tensors": 0}).Reload()
        logged = events.Tensors("epoch_loss")
        assert [event.step for event in logged] == history["epoch"].tolist()
        assert [tf_value(event) for event in logged] == pytest.approx(history[f"{prefix}loss"].tolist(), rel=1e-6)


def tf_value(event) -> float:
    """A scalar summary's value, as tf.summary.scalar writes it (a tensor event)."""
    from tensorboard.util import tensor_util

    return tensor_util.make_ndarray(event.tensor_proto).item()


def curve_rows(epochs: int, rate=lambda epoch: 0.01, loss=lambda epoch: 1 / epoch) -> list[dict]:
    return [{"epoch": e, "loss": loss(e), "accuracy": 0.5, "val_loss": loss(e), "val_accuracy": 0.5,
             "learning_rate": rate(e)} for e in range(1, epochs + 1)]


def test_the_learning_rate_gets_a_panel_only_when_it_changed():
    from mlpctl.figures import plots

    constant = plots.learning_curves_figure(curve_rows(50))
    assert [axis.get_title() for axis in constant.axes] == ["loss", "accuracy"]
    assert constant._suptitle.get_text() == "learning rate 0.01 throughout"
    cut = plots.learning_curves_figure(curve_rows(50, rate=lambda e: 0.01 if e < 20 else 0.001))
    assert [axis.get_title() for axis in cut.axes] == ["loss", "accuracy", "learning rate"]
    lbfgs = plots.learning_curves_figure(curve_rows(50, rate=lambda e: float("nan")))
    assert len(lbfgs.axes) == 2 and "L-BFGS" in lbfgs._suptitle.get_text()


def test_a_loss_spanning_more_than_two_decades_is_drawn_on_a_log_scale():
    from mlpctl.figures import plots

    falling = plots.learning_curves_figure(curve_rows(1000))  # 1 to 0.001: three decades
    assert falling.axes[0].get_yscale() == "log" and falling.axes[0].get_title() == "loss (log scale)"
    assert falling.axes[1].get_yscale() == "linear"  # accuracy never
    gentle = plots.learning_curves_figure(curve_rows(50))  # 1 to 0.02
    assert gentle.axes[0].get_yscale() == "linear"


def test_decision_regions_name_every_class_in_a_legend():
    from mlpctl.figures import plots

    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    grid = plots.plane(points)
    regions = (grid[0].ravel() > 0.5).astype(int) + (grid[1].ravel() > 0.5)
    figure = plots.decision_regions_figure(grid, regions, None, points, np.array([0, 2, 1]), ["a", "b"], "t",
                                           ["setosa", "versicolor", "virginica"])
    legend = figure.axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["setosa", "versicolor", "virginica"]
    binary = plots.decision_regions_figure(grid, regions.clip(0, 1), regions.clip(0, 1) * 0.9, points,
                                           np.array([0, 1, 1]), ["a", "b"], "t", ["no", "yes"])
    assert [t.get_text() for t in binary.axes[0].get_legend().get_texts()] == ["no", "yes", "P = 0.5"]


def fake_run(folder, name: str, loss: float, **changes):
    """A finished run directory as compare reads it: config.yaml, metrics.json, history.csv."""
    import yaml

    run_dir = folder / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(base_config(**changes)))
    (run_dir / "metrics.json").write_text(json.dumps(
        {"status": "completed", "epochs_run": 2, "metrics": {"validation": {"loss": loss}}}))
    (run_dir / "history.csv").write_text(f"epoch,loss,val_loss\n1,1.0,1.0\n2,{loss},{loss}\n")
    return run_dir


def test_compare_legends_tell_every_run_apart(tmp_path):
    from mlpctl.workflows import compare

    few = [fake_run(tmp_path / "a", f"trial-{i}", 0.1 * (i + 1), **{"optimizer.learning_rate": rate})
           for i, rate in enumerate((0.01, 0.001))]
    assert compare.curve_labels(compare.collect(few, None)) == ["optimizer.learning_rate=0.01",
                                                                 "optimizer.learning_rate=0.001"]
    many = [fake_run(tmp_path / "b", f"trial-{i}", 0.1, seed=i, **{"optimizer.learning_rate": 0.01 * (i + 1),
                                                                      "training.epochs": i + 1, "data.test_split": i / 10})
            for i in range(3)]
    assert compare.curve_labels(compare.collect(many, None)) == ["trial-0", "trial-1", "trial-2"]
    same = [fake_run(tmp_path / "c", f"again-{i}", 0.1) for i in range(2)]
    assert compare.curve_labels(compare.collect(same, None)) == ["again-0", "again-1"]


def test_compare_json_writes_no_image_unless_asked(cli, tmp_path, monkeypatch):
    runs = [fake_run(tmp_path, f"run-{i}", 0.1 * (i + 1), seed=i) for i in range(2)]
    monkeypatch.chdir(tmp_path)
    assert cli("compare", *runs, "--json").exit_code == 0
    assert not (tmp_path / "comparison.png").exists()
    assert cli("compare", *runs, "--json", "--output", tmp_path / "asked.png").exit_code == 0
    assert png_size(tmp_path / "asked.png")[0] >= 300
    assert cli("compare", *runs).exit_code == 0 and (tmp_path / "comparison.png").exists()


def test_compare_puts_runs_on_weight_updates_or_seconds_for_a_fair_race(cli, tmp_path):
    """The notes' claim that mini-batches win per unit of compute needs another x-axis than epochs."""
    from pathlib import Path

    from mlpctl.workflows.compare import RunFacts, x_values

    history = [{"epoch": 1.0, "loss": 0.5}, {"epoch": 2.0, "loss": 0.4}]
    metrics = {"rows": {"train": 100}, "duration_s": 3.0, "epochs_run": 2}
    online = RunFacts(Path("online"), {"training.batch_size": 1}, metrics, history)
    mini = RunFacts(Path("mini"), {"training.batch_size": 32}, metrics, history)
    full = RunFacts(Path("full"), {"training.batch_size": "full"}, metrics, history)
    assert [x_values(run, "step") for run in (online, mini, full)] == [[100, 200], [4, 8], [1, 2]]
    assert x_values(mini, "time") == [1.5, 3.0] and x_values(mini, "epoch") == [1.0, 2.0]
    runs = [fake_run(tmp_path, f"run-{i}", 0.1 * (i + 1), seed=i) for i in range(2)]
    for run in runs:
        document = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**document, "rows": {"train": 50}, "duration_s": 1.0}))
    result = cli("compare", *runs, "--x", "step", "--output", tmp_path / "steps.png")
    assert result.exit_code == 0, result.stderr
    assert png_size(tmp_path / "steps.png")[0] >= 300


def test_predict_reads_a_big_file_a_chunk_at_a_time_with_the_numbers_of_one_read(cli, quick, tmp_path, monkeypatch):
    """Chunks of 7 rows here (100,000 in use): the same predictions as predicting every row at
    once, the rows of a later chunk named by their row in the file, and nothing written when one
    is bad."""
    import mlpctl.data.streaming as streaming
    from mlpctl.workflows.predict import open_run, predict_frame

    monkeypatch.setattr(streaming, "CHUNK_ROWS", 7)
    run_dir = quick["xor_cloud"].run_dir
    rows = pd.read_csv(DATA / "xor_cloud.csv").drop(columns="y")
    for name in ("out.csv", "out.parquet"):
        assert cli("predict", run_dir, "-i", DATA / "xor_cloud.csv", "-o", tmp_path / name, "--proba").exit_code == 0
    whole = predict_frame(open_run(run_dir), rows, [], True)
    for chunked in (pd.read_csv(tmp_path / "out.csv"), pd.read_parquet(tmp_path / "out.parquet")):
        assert len(chunked) == len(rows) == 400
        assert np.allclose(chunked["proba_1"], whole["proba_1"], atol=1e-6)
        assert (chunked["prediction"].to_numpy() == whole["prediction"].to_numpy()).all()
    rows["x2"] = rows["x2"].astype(object)
    rows.loc[123, "x2"] = "abc"
    rows.to_csv(tmp_path / "bad.csv", index=False)
    result = cli("predict", run_dir, "-i", tmp_path / "bad.csv", "-o", tmp_path / "bad_out.csv")
    assert result.exit_code == 3 and "first 'abc' at row 124" in result.stderr
    assert not (tmp_path / "bad_out.csv").exists() and not list(tmp_path.glob("*.tmp*"))
    (tmp_path / "empty.csv").write_text("x1,x2\n")
    assert cli("predict", run_dir, "-i", tmp_path / "empty.csv", "-o", tmp_path / "none.csv").exit_code == 0
    assert (tmp_path / "none.csv").read_text() == "prediction\n"


# --- pictures stay readable and bounded whatever the network ---------------------------------------

def test_a_confusion_matrix_of_many_classes_is_a_heat_map_with_the_top_confusions(tmp_path):
    """200 classes took 2.5 minutes, 6.5 GB and 5.7 MB of PNG for one second of training."""
    from mlpctl.figures import plots

    rng = np.random.default_rng(0)
    matrix = rng.poisson(1, size=(200, 200)) + np.diag(np.full(200, 30))
    matrix[7, 42] = 500  # the one confusion that matters
    matrix[3, 9] = 400
    names = [f"c{i}" for i in range(200)]
    assert plots.top_confusions(matrix, names)[:2] == [("c7", "c42", 500), ("c3", "c9", 400)]
    plots.confusion_matrix(matrix, names, tmp_path / "many.png", "test")
    width, height = png_size(tmp_path / "many.png")
    assert width <= 1400 and height <= 800  # 13 x 7 inches at 100 dpi, however many classes
    assert (tmp_path / "many.png").stat().st_size < 500_000
    plots.confusion_matrix(matrix[:12, :12], names[:12], tmp_path / "few.png", "test")  # counts in each cell
    assert png_size(tmp_path / "few.png")[0] > 0


def test_gradient_norms_add_no_panel_to_the_learning_curves_and_name_many_layers_by_colour(tmp_path):
    """160 layers' norms gave learning_curves.png a panel each: 68,880 px wide."""
    from mlpctl.figures import learning_plots, plots

    rows = [{**row, **{f"grad_norm_hidden_{i}": 1.0 / (i * row["epoch"]) for i in range(1, 161)}}
            for row in curve_rows(20)]
    assert [axis.get_title() for axis in plots.learning_curves_figure(rows).axes] == ["loss", "accuracy"]
    learning_plots.gradient_norms(rows, tmp_path / "norms.png")
    assert png_size(tmp_path / "norms.png")[0] <= 1000 and png_size(tmp_path / "norms.png")[1] <= 600


def test_hidden_units_lines_and_weight_histograms_are_bounded(tmp_path):
    from mlpctl.figures import learning_plots, plots

    figure, axis = plots.pyplot().subplots()
    learning_plots.unit_lines(axis, np.random.default_rng(0).normal(size=(1000, 3)), ((-1, 1), (-1, 1)))
    assert len(axis.lines) == learning_plots.MAX_UNIT_LINES == 32
    kernels = {epoch: {f"hidden_{i}": np.full((4, 4), float(i)) for i in range(1, 161)} for epoch in (1, 5)}
    learning_plots.weight_histograms(kernels, tmp_path / "hist.png")
    assert png_size(tmp_path / "hist.png")[1] <= 100 * 2.0 * learning_plots.MAX_HISTOGRAM_ROWS + 100

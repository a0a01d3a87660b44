"""The graph engine against Keras' fit: the same numbers, epoch for epoch."""

import numpy as np
import pytest

from mlpctl import train as trainer
from mlpctl.config import load_config
from mlpctl.data import load_dataset

from conftest import CONFIGS


def both_engines(config_name: str, *overrides: str):
    results = {}
    for engine in ("fit", "graph"):
        config = load_config(CONFIGS / f"{config_name}.yaml", [*overrides, f"training.engine={engine}"])
        results[engine] = trainer.train(config, load_dataset(config))
    return results["fit"], results["graph"]


def assert_same_run(fit, graph):
    assert graph.engine == "graph" and fit.engine == "fit"
    assert graph.status == fit.status and graph.epochs_run == fit.epochs_run
    assert graph.stopped_early_at == fit.stopped_early_at
    for ours, theirs in zip(graph.model.get_weights(), fit.model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert [list(row) for row in graph.history] == [list(row) for row in fit.history]
    for ours, theirs in zip(graph.history, fit.history):
        np.testing.assert_allclose(list(ours.values()), list(theirs.values()), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "config_name, overrides",
    [
        ("xor", ()),
        ("xor_cloud", ("training.batch_size=full", "training.epochs=30")),
        ("digits", ("training.batch_size=full", "training.epochs=15", "training.early_stopping=null")),
        ("regression", ("training.batch_size=full", "training.epochs=30")),
    ],
    ids=["binary-truth-table", "binary", "multiclass", "regression"],
)
@pytest.mark.slow
def test_full_batch_runs_end_with_the_same_weights_and_history(config_name, overrides):
    assert_same_run(*both_engines(config_name, *overrides))


@pytest.mark.slow
def test_shuffled_mini_batches_with_dropout_match_too():
    """Both engines visit rows in the same seeded order, so even mini-batches agree."""
    fit, graph = both_engines("digits", "training.epochs=6", "training.early_stopping=null")
    assert_same_run(fit, graph)
    assert graph.metrics["test"]["accuracy"] > 0.9


@pytest.mark.parametrize("restore", [True, False])
@pytest.mark.slow
def test_early_stopping_stops_at_the_same_epoch_and_restores_the_same_weights(restore):
    fit, graph = both_engines(
        "digits", "training.epochs=200", "training.early_stopping.patience=2",
        "training.early_stopping.min_delta=0.01", f"training.early_stopping.restore_best={restore}",
    )
    assert fit.stopped_early_at is not None and fit.stopped_early_at < 200
    assert_same_run(fit, graph)


@pytest.mark.slow
def test_early_stopping_on_a_maximised_metric_matches():
    fit, graph = both_engines(
        "xor_cloud", "training.epochs=100",
        "training.early_stopping={monitor: val_accuracy, patience: 3}",
    )
    assert fit.stopped_early_at is not None
    assert_same_run(fit, graph)


@pytest.mark.slow
def test_reduce_on_plateau_reduces_at_the_same_epochs_with_cooldown_and_floor():
    plateau = "{name: reduce_on_plateau, patience: 1, factor: 0.5, min_delta: 0.02, cooldown: 2, min_lr: 0.0002}"
    fit, graph = both_engines("digits", f"optimizer.schedule={plateau}", "training.epochs=25",
                              "training.early_stopping=null")
    rates = [row["learning_rate"] for row in fit.history]
    # reduced more than once, never below the floor, and it got there
    assert len(set(rates)) >= 3 and min(rates) == pytest.approx(0.0002)
    assert_same_run(fit, graph)


@pytest.mark.slow
def test_reduce_on_plateau_with_early_stopping_matches():
    fit, graph = both_engines(
        "digits", "optimizer.schedule={name: reduce_on_plateau, monitor: val_accuracy, patience: 1, factor: 0.3}",
        "training.epochs=200", "training.early_stopping={monitor: val_loss, patience: 4, min_delta: 0.001}",
    )
    assert fit.stopped_early_at is not None and len({row["learning_rate"] for row in fit.history}) >= 2
    assert_same_run(fit, graph)


@pytest.mark.slow
def test_divergence_stops_both_engines_at_the_same_epoch():
    overrides = ("optimizer={name: sgd, learning_rate: 1.0e+6}", "training.epochs=50")
    fit, graph = both_engines("regression", *overrides)
    assert fit.status == graph.status == "diverged"
    assert fit.epochs_run == graph.epochs_run < 50


def test_balanced_batches_hold_every_class_equally_and_are_drawn_again_each_epoch():
    from mlpctl.engines.batches import class_rows, epoch_order

    codes = np.r_[np.zeros(90, int), np.ones(8, int), np.full(2, 2)]  # 90 / 8 / 2 rows
    classes = class_rows(codes)
    orders = [epoch_order(3, epoch, len(codes), True, classes).numpy() for epoch in (0, 1)]
    for order in orders:
        assert len(order) == 100
        for batch in order[:99].reshape(-1, 33):  # 3 classes: 11 rows each per batch of 33
            assert np.bincount(codes[batch], minlength=3).tolist() == [11, 11, 11]
        assert set(order[codes[order] == 2]) == {98, 99} and set(order[codes[order] == 1]) == set(range(90, 98))
    assert not np.array_equal(*orders)
    assert np.array_equal(orders[0], epoch_order(3, 0, len(codes), True, classes).numpy())  # seeded
    one_hot = np.eye(3)[codes]
    assert [list(rows) for rows in class_rows(one_hot)] == [list(rows) for rows in classes]


@pytest.mark.slow
def test_balanced_batches_give_the_same_run_in_both_engines():
    assert_same_run(*both_engines("digits", "training.balanced_batches=true", "training.epochs=4",
                                  "training.early_stopping=null", "training.batch_size=50"))

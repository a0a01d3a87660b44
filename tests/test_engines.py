"""The graph engine against Keras' fit: the same numbers, epoch for epoch."""

import numpy as np
import pytest

from mlpctl.training import train as trainer
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
    from mlpctl.training.engines.batches import class_rows, epoch_order

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


@pytest.mark.slow
def test_xla_compiled_chunks_train_the_same_run_as_the_plain_graph():
    """training.jit: on compiles whole chunks of epochs with XLA; its fused arithmetic may round
    differently, and nothing else changes: the same batches, the same early stop, the same
    metrics to float32 rounding (xor_cloud: shuffled mini-batches, AUC, a validation split)."""
    runs = {}
    for jit in ("off", "on"):
        config = load_config(CONFIGS / "xor_cloud.yaml", ["training.epochs=30", f"training.jit={jit}",
                                                         "training.early_stopping={monitor: val_loss, patience: 3}"])
        runs[jit] = trainer.train(config, load_dataset(config))
    plain, compiled = runs["off"], runs["on"]
    assert compiled.jit == {"on": True, "reason": "training.jit: on"} and plain.jit["on"] is False
    assert compiled.epochs_run == plain.epochs_run and compiled.stopped_early_at == plain.stopped_early_at
    for ours, theirs in zip(compiled.history, plain.history):
        assert list(ours) == list(theirs)
        np.testing.assert_allclose(list(ours.values()), list(theirs.values()), rtol=2e-4, atol=1e-5)
    for ours, theirs in zip(compiled.model.get_weights(), plain.model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_a_chunk_xla_cannot_compile_runs_without_it_and_says_so(monkeypatch):
    """An op without an XLA kernel (here the old shuffle, StatelessShuffle) fails the compile
    before anything runs: the run goes on uncompiled, with a note, and metrics.json says so."""
    import tensorflow as tf

    import mlpctl.training.engines.graph as graph

    def uncompilable(seed, epoch, rows, shuffle, classes=None):
        pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
        return tf.random.experimental.stateless_shuffle(tf.range(rows, dtype=tf.int64), seed=pair)

    monkeypatch.setattr(graph, "epoch_order", uncompilable)
    config = load_config(CONFIGS / "digits.yaml", ["training.epochs=3", "training.jit=on"])
    result = trainer.train(config, load_dataset(config))
    assert result.status == "completed" and result.epochs_run == 3 and result.jit["on"] is False
    assert any("XLA could not compile this run" in note and "StatelessShuffle" in note and "ran without XLA" in note
               for note in result.notes), result.notes
    assert result.metrics["test"]["accuracy"] > 0.5


def test_auto_compiles_with_xla_where_the_steps_pay_for_the_compile():
    """The choice from the configured steps and the step's size, and its reason: XOR's 20,000
    full-batch epochs (the issue's case), not digits' 100 epochs of 40 steps; an MNIST-shaped
    step (235k weights x 128 rows) from 2,000 steps; L-BFGS and fit never; `jit: on` as YAML
    writes it (a boolean)."""
    from mlpctl.training import engines

    def choice(name, *overrides, rows=None, weights=None):
        config = load_config(CONFIGS / f"{name}.yaml", list(overrides))
        return engines.choose_jit(config, rows, weights)

    assert choice("xor", "training.epochs=20000", rows=4, weights=17)[0]
    assert not choice("xor", "training.epochs=2000", rows=4, weights=17)[0]
    on, reason = choice("digits", "training.epochs=100", rows=1257, weights=6570)
    assert not on and reason == ("training.jit auto: 4,000 steps of 210,240 weights x rows, fewer than the 20,000 "
                                 "that pay for XLA's compile")
    assert not choice("digits", "training.epochs=4", "training.batch_size=128", rows=60_000, weights=235_146)[0]
    assert choice("digits", "training.epochs=5", "training.batch_size=128", rows=60_000, weights=235_146)[0]
    assert choice("xor", "training.epochs=20000", "optimizer={name: lbfgs}", rows=4, weights=17) == (
        False, "XLA is for the graph engine only")
    assert choice("xor", "training.engine=fit", "training.epochs=20000", rows=4, weights=17)[0] is False
    assert choice("xor", "training.jit=true", "training.epochs=2", rows=4, weights=17) == (True, "training.jit: on")
    assert choice("xor", "training.jit=false", "training.epochs=20000", rows=4, weights=17) == (False, "training.jit: off")


def test_the_xla_cache_is_pruned_oldest_first_to_three_quarters_of_its_cap(tmp_path, monkeypatch):
    """#28 item 12: the cache grew without bound (a file per shape, on every machine kind)."""
    import os

    from mlpctl import runtime

    for age in range(8):  # 8 programs of 100 KB, program-0 the oldest
        program = tmp_path / f"program-{age}.pb"
        program.write_bytes(b"x" * 100_000)
        os.utime(program, (1_000_000 + age, 1_000_000 + age))
    assert runtime.prune_cache(tmp_path, 1_000_000) == 0  # 800 KB under a 1 MB cap: nothing to do
    assert runtime.prune_cache(tmp_path, 500_000) == 5  # down to 3 x 100 KB <= 375 KB
    assert sorted(path.name for path in tmp_path.iterdir()) == ["program-5.pb", "program-6.pb", "program-7.pb"]
    monkeypatch.setenv("MLPCTL_XLA_CACHE_MB", "2")
    assert runtime.cache_cap() == 2 * 2**20
    monkeypatch.setenv("MLPCTL_XLA_CACHE_MB", "lots")
    assert runtime.cache_cap() == runtime.CACHE_MB * 2**20

"""What a person or a CI log sees while a run trains."""

import io

from rich.console import Console

from mlpctl.console import PlainProgress, format_short


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plain_lines(rows: list[dict], epochs: int, seconds_per_epoch: float) -> list[str]:
    out, clock = io.StringIO(), Clock()
    progress = PlainProgress(Console(file=out, width=10_000), clock)
    progress.start(epochs)
    for row in rows:
        clock.now += seconds_per_epoch
        progress.epoch(row["epoch"], row)
    progress.finish()
    return out.getvalue().splitlines()


def rows(count: int, rate=lambda epoch: 0.01) -> list[dict]:
    return [{"epoch": e, "loss": 1 / e, "val_loss": 2 / e, "learning_rate": rate(e)} for e in range(1, count + 1)]


def test_a_long_run_off_a_terminal_prints_a_bounded_number_of_lines():
    lines = plain_lines(rows(100_000), 100_000, seconds_per_epoch=0.0001)  # 10 s of training
    assert len(lines) <= 8  # the first, one per 2 s, the last
    assert lines[0].startswith("epoch 1/100000  loss=1  val_loss=2  learning_rate=0.01")
    assert lines[-1].startswith("epoch 100000/100000")


def test_a_constant_rate_is_printed_once_and_a_changed_one_at_once():
    plateau = lambda epoch: 0.01 if epoch < 5000 else 0.001  # noqa: E731 - reduce_on_plateau's cut
    lines = plain_lines(rows(10_000, plateau), 10_000, seconds_per_epoch=0.0001)
    with_rate = [line for line in lines if "learning_rate" in line]
    assert with_rate == [lines[0], next(line for line in lines if line.startswith("epoch 5000/"))]
    assert with_rate[1].endswith("learning_rate=0.001")


def test_the_epoch_where_training_stopped_early_is_the_last_line():
    lines = plain_lines(rows(1234), 100_000, seconds_per_epoch=0.0001)
    assert lines[-1].startswith("epoch 1234/100000  loss=")


def test_the_line_beside_the_bar_has_every_value_with_validation_beside_training():
    logs = {"epoch": 3, "loss": 0.5, "mae": 0.25, "r2": 0.75, "val_loss": 0.6, "val_mae": 0.3, "val_r2": 0.7,
            "learning_rate": 0.001}
    assert format_short(logs) == "loss 0.5 val 0.6  mae 0.25 val 0.3  r2 0.75 val 0.7  lr 0.001"
    assert format_short({"epoch": 1, "loss": 0.1, "accuracy": 0.9}) == "loss 0.1  acc 0.9"

"""What a training run reports while it runs, and the quiet default that shows nothing.

The engines call these three methods; `console.py` draws them with Rich for a person, and a
sweep trial or `--quiet` uses this base class as it is.
"""


class Progress:
    """Epoch-by-epoch reports of a run. This base class shows nothing."""

    def start(self, epochs: int) -> None:
        """Training is about to run at most `epochs` epochs."""

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """Epoch `epoch` (1-based) finished with these logged values."""

    def finish(self) -> None:
        """Training stopped, however it stopped."""

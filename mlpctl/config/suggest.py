"""'Did you mean ...?' hints for misspelt keys and names."""

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The nearest choice; a choice the word abbreviates wins (`val_acc` -> `val_accuracy`)."""
    choices, word = list(choices), str(word)
    extensions = [choice for choice in choices if choice.startswith(word)]
    if len(extensions) == 1:
        return extensions[0]
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = closest(word, choices)
    return f"; did you mean {match!r}?" if match else ""


def unknown_name(kind: str, value: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    hint = did_you_mean(value, choices)
    return f"unknown {kind} {value!r}{hint} (choose from {', '.join(choices)})"

"""'Did you mean ...?' hints for misspelt keys and names."""

import difflib
from collections.abc import Iterable


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    neighbouring letters each count 1, so the commonest typos (`adma`, `tahn`) are 1 away."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The nearest choice. A choice the word abbreviates wins (`val_acc` -> `val_accuracy`);
    then the fewest edits, a swap of neighbours counting one (`adma` -> `adam`, not `adamax`),
    within a third of the word's length; then difflib's similarity."""
    choices, word = list(choices), str(word)
    extensions = [choice for choice in choices if choice.startswith(word)]
    if len(extensions) == 1:
        return extensions[0]
    if choices:
        distance, best = min((edit_distance(word, choice), choice) for choice in choices)
        if distance <= max(1, len(word) // 3):
            return best
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest of `choices` to a misspelt `word`, or nothing."""
    match = closest(word, choices)
    return f"; did you mean {match!r}?" if match else ""


def unknown_name(kind: str, value: str, choices: Iterable[str]) -> str:
    """One line for a name that is not one of `choices`: what it is, the closest choice, and the choices."""
    choices = list(choices)
    hint = did_you_mean(value, choices)
    return f"unknown {kind} {value!r}{hint} (choose from {', '.join(choices)})"

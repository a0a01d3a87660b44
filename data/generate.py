"""Regenerates the bundled data sets in this folder (see README.md for provenance).

The synthetic sets come from NumPy with fixed seeds. digits.csv is copied from scikit-learn's
bundled copy of the UCI 8x8 digits; scikit-learn is needed only to run this script, never by mlpctl.

    python data/generate.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def xor_truth_table() -> pd.DataFrame:
    return pd.DataFrame({"x1": [0, 0, 1, 1], "x2": [0, 1, 0, 1], "y": [0, 1, 1, 0]})


def xor_cloud(n: int = 400, noise: float = 0.15, seed: int = 1) -> pd.DataFrame:
    """Four Gaussian blobs at the XOR corners: (0,0) and (1,1) are class 0, the others class 1."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    points = corners + rng.normal(0.0, noise, size=(n, 2))
    label = corners[:, 0] ^ corners[:, 1]
    return pd.DataFrame({"x1": points[:, 0].round(4), "x2": points[:, 1].round(4), "y": label})


def linear(n: int = 200, margin: float = 0.1, seed: int = 2) -> pd.DataFrame:
    """Points in the unit square, labelled by the line x2 = 0.8 x1 + 0.1, with an empty margin."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n:
        x1, x2 = rng.uniform(0.0, 1.0, size=2)
        distance = (x2 - 0.8 * x1 - 0.1) / np.hypot(0.8, 1.0)
        if abs(distance) >= margin / 2:
            rows.append((round(x1, 4), round(x2, 4), int(distance > 0)))
    return pd.DataFrame(rows, columns=["x1", "x2", "y"])


def regression(n: int = 500, noise: float = 0.05, seed: int = 3) -> pd.DataFrame:
    """A smooth non-linear function of four inputs (after Friedman #1, rescaled to about [0, 3])."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, 4))
    y = (np.sin(np.pi * x[:, 0] * x[:, 1]) + 2.0 * (x[:, 2] - 0.5) ** 2 + x[:, 3]
         + rng.normal(0.0, noise, size=n))
    frame = pd.DataFrame(x.round(4), columns=["x1", "x2", "x3", "x4"])
    frame["y"] = y.round(4)
    return frame


def offset(n: int = 300, noise: float = 0.01, seed: int = 4) -> pd.DataFrame:
    """A linear target of two inputs that sit far from zero (uniform on [1000, 1001]): the
    notes' case for normalising the inputs."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(1000.0, 1001.0, size=(n, 2))
    y = 3.0 * (x[:, 0] - 1000.0) - 2.0 * (x[:, 1] - 1000.0) + rng.normal(0.0, noise, size=n)
    return pd.DataFrame({"x1": x[:, 0].round(5), "x2": x[:, 1].round(5), "y": y.round(5)})


def correlated(n: int = 300, spread: float = 0.05, seed: int = 5) -> pd.DataFrame:
    """Two inputs that are almost the same (x2 = x1 + a little noise) and a target that depends
    on their small difference: the notes' case for PCA whitening."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0.0, 1.0, size=n)
    x2 = x1 + rng.normal(0.0, spread, size=n)
    y = 10.0 * (x1 - x2) + 0.5 * (x1 + x2)
    return pd.DataFrame({"x1": x1.round(5), "x2": x2.round(5), "y": y.round(5)})


def sine(n: int = 80, noise: float = 0.1, seed: int = 6) -> pd.DataFrame:
    """One input, one target: a period and a half of a sine with noise, for the notes' curve
    fitting (one hidden layer approximates a smooth function)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, size=n))
    y = np.sin(1.5 * x) + rng.normal(0.0, noise, size=n)
    return pd.DataFrame({"x": x.round(4), "y": y.round(4)})


def digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    frame = pd.DataFrame(bunch.data.astype(int), columns=[f"p{i}" for i in range(64)])
    frame["digit"] = bunch.target
    return frame


def main() -> None:
    sets = {
        "xor.csv": xor_truth_table(),
        "xor_cloud.csv": xor_cloud(),
        "linear.csv": linear(),
        "regression.csv": regression(),
        "offset.csv": offset(),
        "correlated.csv": correlated(),
        "sine.csv": sine(),
        "digits.csv": digits(),
    }
    for name, frame in sets.items():
        frame.to_csv(HERE / name, index=False)
        print(f"{name}: {len(frame)} rows, {frame.shape[1]} columns")
    sets["linear.csv"].to_csv(HERE / "lineal.csv", index=False, header=False)  # as the notes have it: no header
    print("lineal.csv: linear.csv without its header line")


if __name__ == "__main__":
    main()

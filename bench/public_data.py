"""`mlpctl init` starters on public data, beside scikit-learn's MLP on the same rows.

scikit-learn's iris, breast cancer and diabetes sets are exported to CSV (iris with its species
names, as a user would have it), `mlpctl init` writes a starter, and `mlpctl train` trains it as
written. scikit-learn's MLPClassifier / MLPRegressor (its defaults: 100 relu units, Adam,
200 iterations) then fit the same training rows after the same input normalization, read from
mlpctl's data stage, and are scored on the same test rows. For regression scikit-learn is run
twice: on the target as it is (its default) and standardized (TransformedTargetRegressor), as
mlpctl does by default.

    python bench/public_data.py [--write bench/PUBLIC.md]     # needs: pip install -e '.[bench]'
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import warnings
from datetime import date
from pathlib import Path

import numpy as np

from results import publish  # bench/ is this script's folder, first on sys.path

SETS = {"iris": "accuracy", "breast_cancer": "accuracy", "diabetes": "r2"}


def export(name: str, folder: Path) -> Path:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame
    if name == "iris":
        frame["target"] = np.asarray(bunch.target_names)[bunch.target]
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def mlpctl(csv: Path, folder: Path) -> tuple[dict, Path]:
    config = folder / f"{csv.stem}.yaml"
    subprocess.run([sys.executable, "-m", "mlpctl", "init", "--data", str(csv), "--target", "target",
                    "--output", str(config), "--force"], check=True, capture_output=True)
    trained = subprocess.run([sys.executable, "-m", "mlpctl", "train", str(config), "-o", str(folder / "runs"),
                              "--json", "--quiet"], check=True, capture_output=True, text=True)
    return json.loads(trained.stdout), config


def sklearn_scores(config_path: Path, metric: str) -> dict:
    """The same rows as mlpctl's run: its data stage gives the split and the normalized inputs."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from mlpctl.config import load_config
    from mlpctl.data import load_dataset

    dataset = load_dataset(load_config(config_path))
    x, y = dataset.x, {split: np.asarray(v).reshape(len(v), -1) for split, v in dataset.y.items()}
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at 200 iterations
        if metric == "accuracy":
            model = MLPClassifier(random_state=0).fit(x["train"], y["train"].ravel())
            scores["sklearn MLP"] = accuracy_score(y["test"].ravel(), model.predict(x["test"]))
        else:
            plain = MLPRegressor(random_state=0).fit(x["train"], y["train"].ravel())
            scaled = TransformedTargetRegressor(MLPRegressor(random_state=0), transformer=StandardScaler())
            scaled.fit(x["train"], y["train"].ravel())
            scores["sklearn MLP"] = r2_score(y["test"].ravel(), plain.predict(x["test"]))
            scores["sklearn MLP, target standardized"] = r2_score(y["test"].ravel(), scaled.predict(x["test"]))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="Also write the table to this Markdown file.")
    args = parser.parse_args()
    lines = [f"# `mlpctl init` starters on public data ({date.today()}, {platform.machine()}, "
             f"Python {platform.python_version()})", "",
             "| data | rows | metric (test split) | mlpctl starter | epochs run | scikit-learn |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for name, metric in SETS.items():
            csv = export(name, folder)
            document, config = mlpctl(csv, folder)
            theirs = sklearn_scores(config, metric)
            shown = "; ".join(f"{tool} {value:.3f}" for tool, value in theirs.items())
            rows = sum(document["rows"].values())
            lines.append(f"| {name} | {rows} | {metric} | {document['metrics']['test'][metric]:.3f} | "
                         f"{document['epochs_run']} | {shown} |")
    text = "\n".join(lines) + "\n"
    publish(text, args.write)


if __name__ == "__main__":
    main()

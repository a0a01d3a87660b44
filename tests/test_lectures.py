"""configs/lectures/: the course notes' experiments, each trained and held to the notes' claim."""

import json

import pytest

from conftest import CONFIGS

LECTURES = CONFIGS / "lectures"

# config -> (what the notes claim, a check on metrics.json's metrics)
CLAIMS = {
    "perceptron_xor": ("a perceptron cannot learn XOR: the loss stays at ln 2",
                       lambda m: m["train"]["accuracy"] <= 0.75 and m["train"]["loss"] > 0.69),
    "xor_2_2_1": ("two hidden units are enough for XOR", lambda m: m["train"]["accuracy"] == 1.0),
    "lineal_perceptron": ("a perceptron learns a linearly separable set", lambda m: m["test"]["accuracy"] >= 0.95),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_each_lecture_config_shows_the_notes_claim(cli, tmp_path, name):
    claim, holds = CLAIMS[name]
    result = cli("train", LECTURES / f"{name}.yaml", "-o", tmp_path, "--json", "-q", "--set", "report.plots=false")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert holds(metrics), (claim, metrics)


def test_every_lecture_config_has_a_claim_and_validates(cli):
    assert sorted(path.stem for path in LECTURES.glob("*.yaml")) == sorted(CLAIMS)
    result = cli("validate", *sorted(LECTURES.glob("*.yaml")))
    assert result.exit_code == 0, result.stderr

"""Rebuilds the pictures the README shows (docs/*.png): trains the lecture configs that draw
them with `mlpctl train`, then copies each picture here, scaled to at most 900 pixels wide.

    python docs/make_pictures.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 900

# picture here -> (lecture config, overrides, picture in the run directory)
PICTURES = {
    "xor_decision_evolution.png": ("xor_2_4_1", [], "decision_evolution.png"),
    "xor_hidden_units.png": ("xor_2_4_1", [], "hidden_units.png"),
    "lineal_decision_evolution.png": ("lineal_perceptron", [], "decision_evolution.png"),
    "sine_fit_evolution.png": ("sine_fit", [], "fit_evolution.png"),
    "vanishing_sigmoid_gradients.png": ("vanishing_sigmoid", [], "gradient_norms.png"),
    "vanishing_relu_gradients.png": ("vanishing_sigmoid", [f"model.layers.{i}.activation=relu" for i in range(6)],
                                     "gradient_norms.png"),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        for target, (config, overrides, picture) in PICTURES.items():
            out = Path(scratch) / target
            sets = [part for override in overrides for part in ("--set", override)]
            subprocess.run([sys.executable, "-m", "mlpctl", "train", str(ROOT / "configs" / "lectures" / f"{config}.yaml"),
                            "-o", str(out), "-q", *sets], check=True)
            source = next(out.glob(f"*/{picture}"))
            with Image.open(source) as image:
                if image.width > WIDTH:
                    image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
                image = image.convert("RGB").quantize(colors=96)  # a palette: a third of the bytes
                image.save(ROOT / "docs" / target, optimize=True)
            print(target)


if __name__ == "__main__":
    main()

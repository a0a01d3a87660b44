"""mlpctl: train multilayer perceptrons from a YAML file, from the command line or from Python:

    import mlpctl
    run = mlpctl.train("configs/xor.yaml", overrides={"training.epochs": 500})
    run.metrics["train"]["accuracy"], run.history["loss"], run.predict(frame)

Importing the package, or any module below `runtime`, changes nothing in the process: no
environment variable, no umask, and no TensorFlow: `train`, `load_run` and `Run` are loaded
from `mlpctl.api` when first named, and TensorFlow's settings are made by
`runtime.import_tensorflow` once a run starts.
"""

__version__ = "0.1.0"
__all__ = ["Run", "__version__", "load_run", "resume", "train"]

_API = ("Run", "load_run", "resume", "train")


def __getattr__(name: str):
    """PEP 562's lazy attributes. By name through importlib: the package's own modules import
    `mlpctl` (for `__version__`), and the facade sits above every stage, not under them."""
    if name in _API:
        import importlib

        return getattr(importlib.import_module("mlpctl.api"), name)
    raise AttributeError(f"module 'mlpctl' has no attribute {name!r}")

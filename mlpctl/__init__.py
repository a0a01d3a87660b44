"""mlpctl: train multilayer perceptrons from a YAML file."""

import os

__version__ = "0.1.0"

# TensorFlow's oneDNN kernels cost more than they give on MLP-sized matrices on CPU: with them
# off, the first call into a training graph is ~0.1 s shorter and small epochs are faster, and
# the MNIST-shaped net is no slower (bench/README.md). TF reads this once, at import, so it is set
# here, before any mlpctl module imports TensorFlow. TF_ENABLE_ONEDNN_OPTS=1 brings them back.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

"""mlpctl: train multilayer perceptrons from a YAML file.

Importing the package, or any module below `runtime`, changes nothing in the process: no
environment variable, no umask. TensorFlow's settings are made by `runtime.import_tensorflow`.
"""

__version__ = "0.1.0"

"""Training stage: a dataset and a config in, a trained model and its history out (`train`).

The first package of the layout by stage (`../shared/design/layout.md`): the engines join it
when the rest of the layout lands. `mlpctl.train`, the Python API's function, is `mlpctl.api`'s.
"""

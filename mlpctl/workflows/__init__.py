"""What a command (or the Python API) does, start to finish: `run` (train one config), `sweep`
(many), `predict` and `evaluate` (a trained run on new rows), `compare` (runs side by side),
`starter` (a config from a CSV, for `init`). Each reads and writes run directories through
`mlpctl.rundir`, never by naming their files.
"""

"""The run directory: the one owner of its file names (`layout.FILES`), its states
(`states`), and the readers and writers of its files.

Every file but history.csv is written to a temporary name and renamed into place, so a reader
never sees half a file. The states (README, Outputs): `metrics.json` exists from the moment the
run directory does, with status `running` and the pid and host of the process; it is rewritten
at each change of state, and a run that ends (`completed`, `diverged`, `interrupted`, `failed`,
`invalid`, `data_error`, `output_error`) says so there. `config.yaml` is written before training;
history.csv grows by whole rows while the run trains and is rewritten whole at the end. A
`running` run whose process is gone was killed (`states.status_of`). Plots and report.html come
last and are optional (`mlpctl.figures`): one that fails is a note, never a lost run.
"""

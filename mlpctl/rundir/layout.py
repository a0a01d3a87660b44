"""The run directory's names: every file and folder mlpctl writes in one, and the states a run
ends in. Everything that reads or writes a run directory names its files from here."""

FILES = {
    "report": "report.html",
    "config": "config.yaml",
    "metrics": "metrics.json",
    "history": "history.csv",
    "curves": "learning_curves.png",
    "model": "model.keras",
    "preprocessing": "preprocessing.json",
    "snapshots": "snapshots.npz",
    "checkpoint": "checkpoint.npz",
    "split": "split.csv",
    "lock": ".lock",  # held while a process runs in the directory; its age is the last sign of life
}
FOLDERS = {"tensorboard": "tensorboard", "evaluations": "evaluations"}
# a sweep's folder, beside its trials' run directories; plan.json: the plan that claimed a --sweep-dir
SWEEP_FILES = {"record": "sweep.json", "table": "sweep.csv", "plan": "plan.json"}
FINAL_STATES = ("completed", "diverged", "interrupted", "failed", "invalid", "data_error", "output_error")

"""One run, start to finish: data -> run directory -> train -> report. Used by `mlpctl train`
and by every sweep trial, so a trial is exactly an ordinary run. Loads TensorFlow lazily."""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlpctl import runtime, signals
from mlpctl.config import RunConfig, flatten, format_value
from mlpctl.data import Dataset, load_dataset, spilled
from mlpctl.errors import ConfigError, DataError, MlpctlError, status_of_error
from mlpctl.figures import learning
from mlpctl.figures.report import write_report
from mlpctl.files import create_run_dir
from mlpctl.progress import Progress
from mlpctl.rundir import checkpoint, layout, lock
from mlpctl.rundir.checkpoint import Saved
from mlpctl.rundir.history import HistoryLog
from mlpctl.rundir.record import RunRecord, source_of, write_config, write_run, write_split
from mlpctl.rundir.states import describe, epochs_done, read_record, status_of
from mlpctl.rundir.tensorboard import write_tensorboard
from mlpctl.training import engines
from mlpctl.training.engines import history_columns

if TYPE_CHECKING:  # training.train imports TensorFlow; a run loads it only once the data is read
    from mlpctl.training.train import TrainResult

SMOKE_ROWS = 300
SMOKE_EPOCHS = 2


@dataclass
class Run:
    """A run that ended: what training returned, metrics.json's content, its directory, warnings."""
    result: "TrainResult"
    document: dict  # metrics.json's content
    run_dir: Path
    warnings: list[str] = field(default_factory=list)  # plots that could not be drawn


def dense_weights(config: RunConfig, dataset: Dataset) -> int:
    """The weights of the run's Dense layers (what its steps cost)."""
    return engines.dense_weights(config, dataset.preprocessing)


def step_work(config: RunConfig, dataset: Dataset) -> int:
    """Weights x rows of one training step: what decides TensorFlow's threads (runtime.tf_threads)."""
    return dense_weights(config, dataset) * config.training.batch_rows(dataset.rows["train"])


def load_trainer(config: RunConfig, dataset: Dataset, verbose: bool = False, cores: int | None = None):
    """TensorFlow started with the threads and kernels (oneDNN or not) this run's steps want,
    and the train stage. Both are fixed once TF has started: a later run in the same process (a
    sweep's worker) keeps them, and metrics.json says what they were."""
    rows, weights = dataset.rows["train"], dense_weights(config, dataset)
    jit, _ = engines.choose_jit(config, rows, weights)
    onednn = engines.wants_onednn(jit, weights, config.training.batch_rows(rows))
    mirrored = config.training.distribute == "mirrored"
    with signals.polled():  # a stop inside TensorFlow's import broke it: ImportError, exit 1, run failed
        runtime.start_tensorflow(verbose, runtime.tf_threads(step_work(config, dataset), cores), onednn,
                                 cpu_devices=(config.training.replicas or 2) if mirrored else None)
        from mlpctl.training import train as trainer
    signals.check()
    return trainer


def check_environment(config: RunConfig) -> None:
    """Before any work, and before a run directory exists: what the config names must be
    importable (the tensorboard package, a custom loss function)."""
    import importlib.util

    from mlpctl.errors import ConfigError

    if config.report.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("report.tensorboard: needs the tensorboard package: pip install 'mlpctl[tensorboard]'")
    if config.loss_name is None:
        runtime.import_tensorflow()  # the user's loss module may import it: the door sets its defaults
        from mlpctl.model import import_custom

        import_custom(str(config.custom_loss))


def make_smoke(config: RunConfig) -> RunConfig:
    """At most SMOKE_EPOCHS epochs (the rows are capped when the data is read)."""
    config.training.epochs = min(config.training.epochs, SMOKE_EPOCHS)
    return config


RESUMABLE_STATES = ("interrupted", "killed", "output_error")  # output_error: a full disk, once space is freed


def resumable(run_dir: Path, force: bool = False) -> tuple[Saved | None, dict]:
    """The checkpoint an interrupted, killed or output_error run goes on from, and its
    metrics.json as it was; the checkpoint is None for a run stopped before its
    first epoch, which starts again in its own directory (nothing is lost); anything else is
    refused. A graceful stop leaves a checkpoint where it stopped, so only a kill (-9, the OOM
    killer) before the first periodic checkpoint, or `training.checkpoint: null`, leaves none.
    `force`: a run recorded as running is taken as gone (its process died on another host, where
    this one cannot look); the caller holds the run's lock, so a live run is never taken."""
    try:
        document = read_record(run_dir / layout.FILES["metrics"])
    except FileNotFoundError:
        raise ConfigError(f"--resume: {run_dir} is not a run directory (no metrics.json)") from None
    state = status_of(document)
    if state == "running" and force:
        state = "killed"
    if state not in RESUMABLE_STATES:
        reason = (f"it is still running ({describe(document, run_dir)}); --force takes it as gone"
                  if state == "running" else f"it ended {state}")
        raise ConfigError(f"--resume: {run_dir} cannot be resumed: {reason}")
    path = run_dir / checkpoint.FILE
    if path.is_file():
        return checkpoint.load(path), document
    done = epochs_done(document, run_dir)
    if done == 0:
        return None, document
    raise ConfigError(f"--resume: {run_dir} has no checkpoint of its {done} epoch(s): it was {state} before its "
                      f"first one (training.checkpoint); train its config.yaml again")


def check_same_config(saved: Saved, config: RunConfig) -> None:
    """The run's config.yaml is the one its checkpoint was trained with: an edited one (units 16
    -> 8) met the checkpoint's arrays inside TensorFlow, exit 1, and the run was marked failed for
    good. Refused before anything is touched, naming the keys, so that undoing the edit makes it
    resumable again."""
    if saved.config is None:
        return  # a checkpoint written before the config was kept in it
    before, now = flatten(saved.config), flatten(config.model_dump(mode="json"))
    # a key the checkpoint's config lacks came with a later mlpctl, read as the run had it (data.split_seed)
    changed = [key for key in dict.fromkeys([*before, *now]) if key in before and before.get(key) != now.get(key)]
    if changed:
        shown = ", ".join(f"{key} ({format_value(before.get(key))} -> {format_value(now.get(key))})"
                          for key in changed[:5])
        raise ConfigError(f"--resume: config.yaml changed since the checkpoint: {shown}"
                          f"{' ...' if len(changed) > 5 else ''}; undo the edit to go on, or train the edited "
                          f"config as a new run")


def execute(config: RunConfig, output_dir: Path, progress: Progress, *, smoke: bool = False,
            verbose: bool = False, run_name: str | None = None, on_start=None, cores: int | None = None,
            resume: Path | None = None, on_warning=None, force: bool = False, source: Path | None = None) -> Run:
    """Data is read and checked before a run directory exists. From the moment it exists, it is
    in one of the documented states (mlpctl.rundir): config.yaml, then metrics.json `running`, the
    history as it grows, and whatever ends the run (a stop signal, an error of ours or of the
    output) recorded before it goes on up. A smoke run writes metrics.json alone.
    `on_start(run_dir)` is called once the directory exists, `on_warning(line)` for each
    warning about the data before training (they are in metrics.json's notes too). `cores`: the cores this run may
    use (a sweep worker's share), if not all. `resume`: an interrupted or killed run directory
    (whose config this is) to go on with, from its last checkpoint (`force`: see `resumable`).
    `source`: the config file, recorded with its git commit (`record.source_of`); a resumed run
    keeps the source its record had.
    The run directory's lock is held throughout (`rundir.lock`): a resumed run's before anything
    is read, a new run's from the moment its directory exists (not a smoke run's)."""
    with contextlib.ExitStack() as locks:
        if resume:
            locks.enter_context(lock.held(resume))
        return _execute(config, output_dir, progress, locks, smoke=smoke, verbose=verbose, run_name=run_name,
                        on_start=on_start, cores=cores, resume=resume, on_warning=on_warning, force=force,
                        source=source)


def _execute(config: RunConfig, output_dir: Path, progress: Progress, locks: contextlib.ExitStack, *, smoke: bool,
             verbose: bool, run_name: str | None, on_start, cores: int | None, resume: Path | None, on_warning,
             force: bool, source: Path | None) -> Run:
    saved, previous = resumable(resume, force) if resume else (None, {})  # no checkpoint: stopped before epoch 1
    origin = previous.get("source") or (source_of(source) if source and not smoke else None)
    if saved:
        check_same_config(saved, config)
    check_environment(config)
    dataset = load_dataset(config, max_rows=SMOKE_ROWS if smoke else None)
    engines.check_model_fits(config, dataset)
    for warning in dataset.warnings if on_warning else ():
        on_warning(warning)
    data_digest = checkpoint.digest(config.data.file)
    if saved and saved.data_digest != data_digest:
        raise DataError(f"--resume: {config.data.path} changed since the run started; it cannot go on with other rows")
    columns, record = history_columns(config), None
    try:
        with signals.deferred():  # a directory, config.yaml and metrics.json `running`: all or none
            run_dir = resume or _new_run_dir(config, output_dir, run_name, smoke)
            if not (resume or smoke):  # a smoke run is never resumed: it keeps metrics.json alone
                locks.enter_context(lock.held(run_dir))
            record = RunRecord(run_dir, config, smoke, resumed_after=saved.epoch if saved else None,
                               data_sha256=data_digest, source=origin)
        if dataset.source_rows and not smoke:
            write_split(run_dir, dataset.source_rows)
        if on_start:
            on_start(run_dir)
        trainer = load_trainer(config, dataset, verbose, cores)
        logged = progress if smoke else HistoryLog(run_dir / layout.FILES["history"], columns, progress,
                                                          saved.history if saved else ())
        with spilled(dataset, run_dir):
            result = trainer.train(config, dataset, logged, _checkpoints(config, run_dir, smoke, saved, data_digest))
        if config.report.tensorboard and not smoke and result.history:
            write_tensorboard(result.history, run_dir / layout.FOLDERS["tensorboard"],
                                     learning.kernels_at(result.model, config, result.snapshots))
        document = write_run(record, config, dataset, result, runtime.versions(), columns, smoke=smoke)
    except BaseException as error:
        if record is not None:
            _record_end(record, error)
        raise
    warnings = [] if smoke else write_report(record, config, dataset, result)
    return Run(result, document, run_dir, warnings)


def _new_run_dir(config: RunConfig, output_dir: Path, run_name: str | None, smoke: bool) -> Path:
    """A new directory (`run_name`, or the config's name and the time) with config.yaml in it."""
    run_dir = (create_run_dir(output_dir, run_name, timestamped=False) if run_name
               else create_run_dir(output_dir, config.name))
    if not smoke:
        write_config(run_dir, config)
    return run_dir


def _checkpoints(config: RunConfig, run_dir: Path, smoke: bool, saved: Saved | None,
                 data_digest: str) -> checkpoint.Checkpoints:
    """When this run writes checkpoints (never for a smoke run), and the one it resumes from."""
    every = config.training.checkpoint
    path = None if smoke or every is None else run_dir / checkpoint.FILE
    return checkpoint.Checkpoints(path, every.every_epochs if every else None,
                                  every.every_seconds if every else None, saved,
                                  data_digest, config=config.model_dump(mode="json"))


def _record_end(record: RunRecord, error: BaseException) -> None:
    """What stopped the run, in metrics.json, unless it already says how the run ended (or the
    output itself is what failed)."""
    if record.document["status"] in layout.FINAL_STATES:
        return
    if isinstance(error, KeyboardInterrupt):
        status, extra = "interrupted", {}
    elif isinstance(error, MlpctlError):
        status, extra = status_of_error(error), {"error": str(error)}
    else:
        status, extra = "failed", {"error": f"{type(error).__name__}: {error}"}
    try:
        record.ended(status, **extra)
    except (MlpctlError, OSError):
        pass  # metrics.json cannot be written either: the error itself says why

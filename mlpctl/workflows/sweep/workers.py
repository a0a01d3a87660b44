"""Trials in worker processes that cannot hang the sweep or outlive it.

Each worker is a long-lived process (it imports TensorFlow once) with a pipe of its own: the
sweep hands it one trial at a time and waits on every busy worker's pipe and process sentinel
at once. A worker that dies (the OOM killer, kill -9) is noticed at once: its trial is recorded
`killed` (SIGKILL: the OOM killer, kill -9; `failed` for any other death), "worker died (signal
N)", and a new worker takes the trials left. Workers die with the
sweep: on Linux the kernel kills them when it goes (PR_SET_PDEATHSIG), elsewhere a watchdog
thread sees the parent gone; and the sweep ends them itself when it stops.
"""

import json
import os
import signal
import threading
import time
from multiprocessing import connection, get_context
from pathlib import Path

from mlpctl.rundir.layout import FILES

GRACE_SECONDS = 5  # for a worker to end after SIGTERM before it is killed


class Worker:
    """A worker process that runs trials one at a time, with a pipe of its own."""
    def __init__(self, context, run_trial):
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end, os.getpid(), run_trial), daemon=True)
        self.process.start()
        child_end.close()
        self.task, self.since = None, 0.0

    def give(self, task) -> None:
        self.task, self.since = task, time.perf_counter()
        self.conn.send(task)

    def end(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(GRACE_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def run_in_workers(tasks: list, workers: int, run_trial, sweep_dir: Path):
    """(key, result) for each task as it finishes, in `workers` processes running
    `run_trial(task)`; `task[-3]` is the trial's index and `task[-2]` its key."""
    context, waiting = get_context("spawn"), list(tasks)
    pool: list[Worker] = []
    try:
        while waiting or any(worker.task for worker in pool):
            pool = [worker for worker in pool if worker.process.is_alive() or worker.task]
            while waiting and (idle := _idle(pool, workers, context, run_trial)):
                idle.give(waiting.pop(0))
            busy = [worker for worker in pool if worker.task]
            ready = connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    yield _outcome(worker, sweep_dir)
    finally:
        for worker in pool:
            worker.end()


def _idle(pool: list, workers: int, context, run_trial) -> Worker | None:
    for worker in pool:
        if worker.task is None and worker.process.is_alive():
            return worker
    if sum(worker.process.is_alive() for worker in pool) < workers:
        pool.append(Worker(context, run_trial))
        return pool[-1]
    return None


def _outcome(worker: Worker, sweep_dir: Path) -> tuple[str, dict]:
    """The worker's result, or, when it died holding the trial, one saying so."""
    task, worker.task = worker.task, None
    try:
        if worker.conn.poll():
            return worker.conn.recv()
    except (EOFError, OSError):
        pass
    worker.process.join()
    code = worker.process.exitcode or 0
    cause = f"signal {-code}: {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    killed = code == -signal.SIGKILL  # the OOM killer, kill -9: not a bug of the trial's
    result = {"status": "killed" if killed else "failed", "error": f"worker died ({cause})",
              "duration_s": round(time.perf_counter() - worker.since, 3)}
    run_dir = _run_dir_of(sweep_dir, task[-3], worker.process.pid)
    if run_dir:
        result["run_dir"] = run_dir
    return task[-2], result


def _run_dir_of(sweep_dir: Path, index: int, pid: int) -> str | None:
    """The trial's run directory, if its worker (`pid`) had made one."""
    for candidate in sorted(sweep_dir.glob(f"trial-{index:03d}*")):
        try:
            if json.loads((candidate / FILES["metrics"]).read_text()).get("pid") == pid:
                return candidate.name
        except (OSError, ValueError):
            continue
    return None


def _serve(conn, parent: int, run_trial) -> None:
    """A worker's life: die with the parent, import TensorFlow, then trial after trial."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends the workers
    from mlpctl.runtime import import_tensorflow

    import_tensorflow()  # started by the first trial, with that trial's thread choice
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(run_trial(task))


def _die_with(parent: int) -> None:
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError
    except (OSError, AttributeError):
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the kernel was told
        os._exit(1)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)

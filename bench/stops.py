"""A loop of stops: train, send SIGTERM (or SIGINT, SIGHUP) at a random moment, and count how
each process ended. Every stop must end `interrupted` with the signal's exit code, the run
directory complete; a crash (exit 134, glibc's `free(): invalid pointer`) or a run left
`running` is the fault this loop looks for.

    python bench/stops.py [--tries 200] [--jobs 2] [--jit on] [--signal TERM] [--write bench/STOPS.md]
"""

import argparse
import collections
import json
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {"TERM": 143, "INT": 130, "HUP": 129}


def one_stop(index: int, folder: Path, jit: str, name: str, latest: float) -> tuple[int, str, str]:
    """(exit code, the run's status, the last line of stderr) of one stopped run."""
    out = folder / f"try-{index}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mlpctl", "train", str(ROOT / "configs" / "xor.yaml"), "-o", str(out), "-q",
         "--set", f"training.jit={jit}", "--set", "training.epochs=10000000", "--set", "report.plots=false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/metrics.json")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    time.sleep(random.Random(index).uniform(0, latest))  # anywhere from TensorFlow's start to chunks in
    process.send_signal(getattr(signal, f"SIG{name}"))
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    runs = [path for path in out.glob("*/metrics.json") if not path.parent.is_symlink()]
    status = json.loads(runs[0].read_text()).get("status", "?") if runs else "no run directory"
    last = (stderr.strip().splitlines() or [""])[-1][:160]
    return process.returncode, status, last


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.results import publish

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--jit", default="on", choices=["on", "off", "auto"])
    parser.add_argument("--signal", default="TERM", choices=list(EXPECTED))
    parser.add_argument("--latest", type=float, default=4.0, help="the latest a stop is sent, in seconds after "
                        "the run directory appears")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    outcomes: collections.Counter = collections.Counter()
    odd = []
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(args.jobs) as pool:
        for code, status, last in pool.map(lambda i: one_stop(i, Path(folder), args.jit, args.signal, args.latest),
                                           range(args.tries)):
            outcomes[(code, status)] += 1
            if code != EXPECTED[args.signal] or status != "interrupted":
                odd.append(f"exit {code}, {status}: {last}")
                print(odd[-1], file=sys.stderr)
    lines = [f"# {args.tries} stops by SIG{args.signal}, training.jit: {args.jit} ({date.today()}, "
             f"{platform.processor() or platform.machine()})", "", "| exit code | status | runs |", "|---|---|---|"]
    lines += [f"| {code} | {status} | {count} |" for (code, status), count in sorted(outcomes.items())]
    lines += ["", *(f"- {line}" for line in odd[:20])]
    publish("\n".join(lines) + "\n", args.write)
    raise SystemExit(1 if odd else 0)


if __name__ == "__main__":
    main()

"""The thread and process policy under load: each command quiet and beside one CPU-bound
process, and a CPU-bound neighbour's slowdown beside the two-process predict.

Commands: `turing-rcnn train-algo` (a short training), `turing-rcnn learn` (RCNN(gauss),
d = 32, 1 000 predictions: small work, one process) and `learn --d 64 --test 4000`
(large enough for the policy to share the test points with a second process when a
core is idle), with --threads 0 (the policy: threads.choose / threads.processes) and
with --threads 2 (torch's default on a 2-core machine, what the package did before;
for `learn --d 64`, --threads 1: one core, no worker), first alone, then while another
process spins on one core. Reports wall seconds (best of `--repeats`) and the loaded /
quiet ratio.

Neighbour: a fixed amount of pure-Python work (calibrated to about `--neighbour`
seconds alone) timed alone, then started while `learn --d 64 --test 4000` (policy)
runs its two-process phase (the worker must give way to it), and started before the
same command (the policy must see it and use one process). The promise: the
neighbour's time stays within 1.05x of its time alone. Writes threads.json.

    python bench/bench_threads.py [--repeats 2] [--only neighbour]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import Progress, bench_parser, write_json

COMMANDS = {
    "train-algo": [
        "train-algo",
        "--max-steps",
        "30",
        "--eval-every",
        "30",
        "--test-size",
        "64",
        "--test-count",
        "10",
        "--compare-count",
        "2",
    ],
    "learn": ["learn", "--d", "32", "--m", "42", "--learner", "gauss", "--test", "1000"],
    "learn d=64": ["learn", "--d", "64", "--m", "74", "--learner", "gauss", "--test", "4000"],
}
OTHER_THREADS = {"learn d=64": 1}  # the row beside the policy's (default: 2)
SPIN = "while True: pass"
WORK = "import sys, time\nt = time.perf_counter()\nx = 0\nfor i in range(int(sys.argv[1])):\n    x += i\nprint(time.perf_counter() - t)"  # noqa: E501


def cli(command: list[str], threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "turing_rcnn.app.cli",
        *command,
        "--json",
        "--no-progress",
        "--threads",
        str(threads),
    ]


def timed(argv: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def wait_for_child(pid: int, timeout: float) -> bool:
    """Wait until process pid has a child (learn's forked worker); whether it did."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rpartition(")")[2].split()[1]) == pid:
                            return True
                except (OSError, ValueError, IndexError):
                    continue
        time.sleep(0.05)
    return False


def neighbour(iterations: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORK, str(iterations)], stdout=subprocess.PIPE, text=True
    )


def neighbour_seconds(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    return float(out.strip())


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--only", choices=["commands", "neighbour"], default=None, help="run one part only"
    )
    parser.add_argument(
        "--neighbour", type=float, default=6.0, help="seconds of the neighbour's work alone"
    )
    parser.add_argument(
        "--after-fork",
        type=float,
        default=1.0,
        help="seconds after learn forks its worker that the neighbour starts",
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    parts = 0 if args.only == "neighbour" else 2 * len(COMMANDS)
    parts += 0 if args.only == "commands" else 3
    with Progress("bench_threads", parts, not args.no_progress) as bar:
        rows = [] if args.only == "neighbour" else commands(args, bar)
        near = [] if args.only == "commands" else neighbours(args, bar)
    write_json(
        "threads.json",
        {
            "rows": rows,
            "neighbour": near,
            "competitor": f"python -c '{SPIN}'",
            "argv": sys.argv[1:],
        },
    )


def commands(args, bar) -> list[dict]:
    rows = []
    for name, command in COMMANDS.items():
        for threads in (0, OTHER_THREADS.get(name, 2)):
            bar.stage(f"{name} --threads {threads}: quiet")
            argv = cli(command, threads)
            quiet = timed(argv, args.repeats)
            bar.stage(f"{name} --threads {threads}: beside a spinning process")
            spinner = subprocess.Popen([sys.executable, "-c", SPIN])
            try:
                time.sleep(2)  # let the load be seen
                loaded = timed(argv, args.repeats)
            finally:
                spinner.kill()
                spinner.wait()
            rows.append(
                {
                    "command": name,
                    "threads": threads or "policy",
                    "quiet_seconds": quiet,
                    "loaded_seconds": loaded,
                    "loaded_over_quiet": loaded / quiet,
                }
            )
            print(rows[-1], flush=True)
            bar.advance()
    return rows


def neighbours(args, bar) -> list[dict]:
    """The neighbour alone, started into learn's two-process phase, started before."""
    bar.stage("neighbour: calibrating")
    probe = 10**7
    iterations = int(probe * args.neighbour / neighbour_seconds(neighbour(probe)))
    learn = cli(COMMANDS["learn d=64"], 0)
    rows = []
    for case in ("alone", "started into learn (policy)", "started before learn (policy)"):
        bar.stage(f"neighbour: {case}")
        best, learn_seconds = float("inf"), None
        for _ in range(args.repeats):
            job = None
            if case == "alone":
                seconds = neighbour_seconds(neighbour(iterations))
            elif case.startswith("started into"):
                start = time.perf_counter()
                job = subprocess.Popen(learn, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                forked = wait_for_child(job.pid, timeout=120)  # the two-process phase began
                time.sleep(args.after_fork)
                seconds = neighbour_seconds(neighbour(iterations))
            else:
                proc = neighbour(iterations)
                time.sleep(1.0)
                start = time.perf_counter()
                job = subprocess.Popen(learn, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                seconds = neighbour_seconds(proc)
            if job is not None:
                _, err = job.communicate()
                if job.returncode:
                    raise SystemExit(f"bench_threads: learn failed:\n{err.decode()[-2000:]}")
                learn_seconds = time.perf_counter() - start
            best = min(best, seconds)
        rows.append({"case": case, "neighbour_seconds": best, "learn_seconds": learn_seconds})
        if case.startswith("started into"):
            rows[-1]["worker_seen"] = forked
        rows[-1]["over_alone"] = best / rows[0]["neighbour_seconds"]
        print(rows[-1], flush=True)
        bar.advance()
    return rows


if __name__ == "__main__":
    main()

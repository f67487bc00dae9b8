"""The thread policy under load: each command quiet and beside one CPU-bound process.

Runs `turing-rcnn train-algo` (a short training) and `turing-rcnn learn` (RCNN(gauss),
d = 32, 1000 predictions) with --threads 0 (the policy: threads.choose) and with
--threads 2 (torch's default on a 2-core machine, what the package did before), first
alone, then while another process spins on one core. Reports wall seconds (best of
`--repeats`) and the loaded / quiet ratio. Writes threads.json.

    python bench/bench_threads.py [--repeats 2]
"""

from __future__ import annotations

import argparse
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
}
SPIN = "while True: pass"


def timed(argv: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([*argv, "--no-progress"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    with Progress("bench_threads", 2 * len(COMMANDS), not args.no_progress) as bar:
        run(args, bar)


def run(args, bar) -> None:
    rows = []
    for name, command in COMMANDS.items():
        for threads in (0, 2):
            bar.stage(f"{name} --threads {threads}: quiet")
            argv = [
                sys.executable,
                "-m",
                "turing_rcnn.app.cli",
                *command,
                "--json",
                "--no-progress",
                "--threads",
                str(threads),
            ]
            quiet = timed(argv, args.repeats)
            bar.stage(f"{name} --threads {threads}: beside a spinning process")
            spinner = subprocess.Popen([sys.executable, "-c", SPIN])
            try:
                time.sleep(2)  # let the load average see it
                loaded = timed(argv, args.repeats)
            finally:
                spinner.kill()
            rows.append(
                {
                    "command": name,
                    "threads": threads or "policy (1)",
                    "quiet_seconds": quiet,
                    "loaded_seconds": loaded,
                    "loaded_over_quiet": loaded / quiet,
                }
            )
            print(rows[-1])
            bar.advance()
    write_json("threads.json", {"rows": rows, "competitor": f"python -c '{SPIN}'"})


if __name__ == "__main__":
    main()

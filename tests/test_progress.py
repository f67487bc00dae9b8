"""No silent minutes: progress.py writes to stderr at once and at least every 5 s while
a stage runs (here with a short interval), nothing when off; a real command shows its
first progress within 2 s, and with --no-progress its stderr is empty."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from helpers import Clock

from turing_rcnn import progress


def _gaps(start: float, times: list[float], end: float) -> list[float]:
    points = [start, *times, end]
    return [b - a for a, b in zip(points, points[1:], strict=False)]


def test_heartbeat_writes_at_once_and_on_every_interval(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sys, "stderr", clock)
    start = time.perf_counter()
    with progress.heartbeat("one long call", interval=0.1):
        time.sleep(0.65)  # a single call with no count
    end = time.perf_counter()
    assert clock.times and clock.times[0] - start < 2
    assert len(clock.times) >= 5  # at once, then every 0.1 s
    assert max(_gaps(start, clock.times, end)) < 0.5
    assert "one long call: 0 s" in clock.getvalue()


def test_bar_counts_and_redraws_while_one_step_is_long(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sys, "stderr", clock)
    start = time.perf_counter()
    with progress.bar("stage", 3, interval=0.1, unit="batch") as line:
        line.update(1)
        time.sleep(0.6)  # one slow step: the thread still redraws
        line.update(2)
    end = time.perf_counter()
    text = clock.getvalue()
    assert "stage" in text and "1/3" in text and "3/3" in text and "batch" in text
    assert clock.times[0] - start < 2
    assert max(_gaps(start, clock.times, end)) < 0.5


def test_start_line_gives_way_to_the_first_bar(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sys, "stderr", clock)
    with progress.start("turing-rcnn x: starting", delay=0.1) as first:
        time.sleep(0.5)
        with progress.bar("stage", 2) as line:
            assert first.disable  # closed (its line cleared): one bar at a time
            line.update(2)
        progress.say("a line")
    text = clock.getvalue()
    assert "turing-rcnn x: starting" in text and "2/2" in text and "a line\n" in text


def test_nothing_and_no_thread_when_off(capsys):
    before = threading.active_count()
    with progress.start("quiet", enabled=False, delay=0.05):
        with progress.heartbeat("quiet", enabled=False, interval=0.05):
            assert threading.active_count() == before
            time.sleep(0.15)
        for _ in progress.bar("quiet", iterable=range(3), enabled=False, interval=0.05):
            time.sleep(0.05)
        progress.say("quiet", enabled=False)
    assert capsys.readouterr() == ("", "")
    assert threading.active_count() == before


def _run(*args: str) -> tuple[float | None, str, str, float]:
    """(seconds to the first stderr byte, stdout, stderr, total seconds) of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "turing_rcnn.app.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
    reader.start()
    first = proc.stderr.read(1)
    seen = time.perf_counter() - start if first else None
    err = first + proc.stderr.read()
    proc.wait(timeout=120)
    reader.join()
    assert proc.returncode == 0, err.decode()
    return seen, out[0].decode(), err.decode(), time.perf_counter() - start


def test_a_command_shows_progress_at_once_and_none_with_no_progress():
    seen, out, err, _ = _run("verify", "flood-fill", "--quick", "--json")
    assert seen is not None and seen < 2, f"first progress after {seen} s"
    for stage in ("verify (a)", "verify (b)", "verify (d)"):
        assert stage in err
    assert json.loads(out)["exact"] is True  # stdout is the report alone
    seen, out, err, _ = _run("verify", "flood-fill", "--quick", "--json", "--no-progress")
    assert err == "" and json.loads(out)["exact"] is True


def test_a_refusal_with_progress_on_prints_only_its_line(capsys):
    """The start line waits 1 s, so a refusal made before it is the only line."""
    from turing_rcnn.app.cli import main

    assert main(["learn", "--d", "0", "--m", "5"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == ["turing-rcnn: error: --d must be >= 1, got 0"]


def test_the_training_bar_counts_the_step_budget_once(monkeypatch):
    """The training bar's total is the step budget (max_steps), and it ends at the steps
    run: the work, neither more nor twice."""
    from turing_rcnn import AlgoConfig, AlgorithmLearner

    clock = Clock()
    monkeypatch.setattr(sys, "stderr", clock)
    config = AlgoConfig(train_size=4, max_steps=7, eval_every=100, seed=0)
    AlgorithmLearner(config, progress=True).fit()
    text = clock.getvalue().replace("\r", "\n")
    counts = {line.split("|")[2].split()[0] for line in text.splitlines() if "train " in line}
    assert "7/7" in counts and not any(c.endswith("/14") for c in counts), counts
    assert all(c.split("/")[1] == "7" for c in counts if "/" in c), counts

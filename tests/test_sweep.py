"""Training sweeps (sweep/): the same table on every backend, a killed sweep resumes to
the same table, bad input refused before any run, rates with Wilson intervals,
progress on stderr. Tiny budgets: the runs are real training, just short."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from helpers import kill_when_lines

from turing_rcnn.app.cli import main
from turing_rcnn.search import wilson_interval
from turing_rcnn.sweep import SweepConfig, summarise, sweep

TIMES = ("minutes", "train_seconds", "verify_seconds")


def _without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMES} for r in rows]


def _tiny(out, **kw) -> SweepConfig:
    base = dict(settings=("addition-k3",), seeds=2, max_steps=4, verify=False, out=str(out))
    return SweepConfig(**(base | kw))


@pytest.mark.slow  # two spawned workers load torch (~30 s): .ci/run runs it after make test
def test_process_backend_gives_the_in_process_rows(tmp_path):
    one = sweep(_tiny(tmp_path / "a"), progress=False)
    two = sweep(_tiny(tmp_path / "b", backend="process", workers=2), progress=False)
    assert _without_times(one) == _without_times(two)
    assert [(r["setting"], r["seed"]) for r in one] == [("addition-k3", 0), ("addition-k3", 1)]
    for r in one:  # every run's files under its own folder
        assert os.path.getsize(tmp_path / "a" / "addition-k3" / f"seed-{r['seed']}" / "model.pt")


@pytest.mark.slow  # in .ci/run (make test stays under 5 min)
def test_a_finished_sweep_is_read_back_and_can_grow(tmp_path):
    first = sweep(_tiny(tmp_path), progress=False)
    lines = (tmp_path / "sweep.jsonl").read_text().splitlines()
    again = sweep(_tiny(tmp_path), progress=False)  # nothing redone
    assert again == first and (tmp_path / "sweep.jsonl").read_text().splitlines() == lines
    more = sweep(_tiny(tmp_path, seeds=3), progress=False)  # one more seed: one more run
    assert more[:2] == first and len((tmp_path / "sweep.jsonl").read_text().splitlines()) == 4


def test_verified_runs_carry_exact_and_proved(tmp_path):
    """A finite-state run with verification: its rule is written and verified (a
    4-step filter is not exact; the point is the fields and the file)."""
    rows = sweep(_tiny(tmp_path, seeds=1, verify=True), progress=False)
    assert rows[0]["exact"] is False and rows[0]["proved"] in (False, None)
    assert (tmp_path / "addition-k3" / "seed-0" / "rule.json").exists()
    table = summarise(rows)
    assert table[0]["exact"]["hits"] == 0 and table[0]["exact"]["runs"] == 1


def test_the_table_counts_rates_with_wilson_intervals():
    rows = [
        {"setting": "s", "seed": i, "validated": i < 7, "exact": i < 5, "proved": i < 2,
         "minutes": float(i), "accuracy": {"16": 1.0 if i < 5 else 0.5}}
        for i in range(10)
    ]  # fmt: skip
    (line,) = summarise(rows)
    assert (line["validated"]["hits"], line["validated"]["runs"]) == (7, 10)
    low, high = wilson_interval(7, 10)
    assert (line["validated"]["low"], line["validated"]["high"]) == (round(low, 4), round(high, 4))
    assert line["exact"]["rate"] == 0.5 and line["proved"]["hits"] == 2
    assert line["median_minutes"] == 4.5 and line["max_minutes"] == 9.0
    assert line["mean_accuracy"] == {"16": 0.75}


def _cli(*args, out) -> list[str]:
    return [sys.executable, "-m", "turing_rcnn.app.cli", "sweep", *args, "--out", str(out)]


@pytest.mark.slow  # three CLI runs (~30 s): .ci/run runs it after make test
def test_a_killed_sweep_resumes_to_the_same_table(tmp_path):
    args = ("--settings", "prefix-parity-k3", "--seeds", "4", "--max-steps", "30", "--no-verify")
    journal = tmp_path / "killed" / "sweep.jsonl"
    proc = subprocess.Popen(_cli(*args, "--no-progress", out=tmp_path / "killed"))
    lines = kill_when_lines(proc, journal, 3)  # 2 runs done
    assert 3 <= len(lines) < 5, "the sweep should be interrupted part-way"
    with open(journal, "a") as f:
        f.write('{"setting": "prefix-parity-k3", "se')  # a line cut short by the kill
    resumed = subprocess.run(
        _cli(*args, "--json", out=tmp_path / "killed"), capture_output=True, text=True, check=True
    )
    fresh = subprocess.run(
        _cli(*args, "--json", "--no-progress", out=tmp_path / "fresh"),
        capture_output=True,
        text=True,
        check=True,
    )
    a, b = json.loads(resumed.stdout), json.loads(fresh.stdout)
    for report in (a, b):
        for line in report["table"]:
            del line["median_minutes"], line["max_minutes"]
    assert a["table"] == b["table"] and a["runs"] == 4
    assert "sweep (inprocess, 2 of 4 runs to go)" in resumed.stderr and "4/4" in resumed.stderr
    rows = [json.loads(x) for x in journal.read_text().splitlines()[1:]]
    assert sorted(r["seed"] for r in rows) == [0, 1, 2, 3]  # none redone, none lost


@pytest.mark.parametrize(
    "args, message",
    [
        (["--settings", "parity"], "invalid choice: 'parity'"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--seeds", "100000"], "--seeds must be <= 10000"),
        (["--first-seed=-1"], "--first-seed must be >= 0"),
        (["--max-steps", "0"], "--max-steps must be >= 1"),
        (["--address", "127.0.0.1:1"], "--address joins a Ray cluster"),
        (["--backend", "ray", "--address", "127.0.0.1:1"], "no Ray cluster answers"),
    ],
)
def test_bad_input_is_refused_before_any_run(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["sweep", *args, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_an_out_that_is_a_file_or_empty_is_refused(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("mine")
    assert main(["sweep", "--out", str(path), "--no-progress"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err and path.read_text() == "mine"
    assert main(["sweep", "--out", "", "--no-progress"]) == 2
    assert "--out is empty" in capsys.readouterr().err


def test_a_checkpoint_of_another_sweep_is_refused(tmp_path, capsys):
    sweep(_tiny(tmp_path, seeds=1), progress=False)
    before = (tmp_path / "sweep.jsonl").read_bytes()
    argv = ["sweep", "--settings", "addition-k3", "--seeds", "1", "--no-verify"]
    assert main([*argv, "--max-steps", "5", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "belongs to a different sweep" in err and "only the seeds may change" in err
    assert (tmp_path / "sweep.jsonl").read_bytes() == before
    (tmp_path / "sweep.jsonl").write_text(before.decode() + '{"setting": "nope"}\n')
    assert main([*argv, "--max-steps", "4", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "line 3: a row is a JSON object" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a Ray head takes ~20 s to start: .ci/run runs this after make test
def test_a_sweep_on_a_ray_head_gives_the_in_process_table(tmp_path):
    ray = shutil.which("ray", path=os.path.dirname(sys.executable))
    assert ray, "the test extra installs Ray"
    port = _free_port()
    env = dict(os.environ)  # conftest.py: loopback only, token auth
    head = [ray, "start", "--head", f"--port={port}"]
    head += ["--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"]
    subprocess.run(head, check=True, capture_output=True, env=env, timeout=120)
    try:
        on_ray = sweep(
            _tiny(tmp_path / "ray", backend="ray", address=f"127.0.0.1:{port}"), progress=False
        )
    finally:
        import ray as ray_module

        ray_module.shutdown()
        subprocess.run([ray, "stop", "--force"], capture_output=True, env=env, timeout=120)
    here = sweep(_tiny(tmp_path / "here"), progress=False)
    assert _without_times(on_ray) == _without_times(here)


def test_damaged_rows_and_foreign_folders_are_refused_before_any_run(tmp_path, capsys):
    """A row without minutes or with exact where the sweep does not verify (a damaged or
    hand-edited checkpoint), a folder that is not a sweep's, a file where a run's folder
    goes, a journal another sweep holds: one line each, nothing written."""
    from turing_rcnn import journal

    sweep(_tiny(tmp_path / "s", seeds=1), progress=False)
    path = tmp_path / "s" / "sweep.jsonl"
    header, row = path.read_text().splitlines()
    argv = ["sweep", "--settings", "addition-k3", "--seeds", "2", "--max-steps", "4"]
    argv += ["--no-verify", "--no-progress", "--out"]
    for bad, said in [
        ({k: v for k, v in json.loads(row).items() if k != "minutes"}, "'minutes'"),
        (json.loads(row) | {"exact": True}, "exact must be null (not verified)"),
    ]:
        path.write_text(header + "\n" + json.dumps(bad) + "\n")
        before = path.read_bytes()
        assert main([*argv, str(tmp_path / "s")]) == 2
        assert said in capsys.readouterr().err and path.read_bytes() == before
    path.write_text(header + "\n" + row + "\n")
    (tmp_path / "s" / "addition-k3" / "seed-1").write_text("mine")  # where seed 1 goes
    assert main([*argv, str(tmp_path / "s")]) == 2
    assert "seed-1 is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "s" / "addition-k3" / "seed-1").unlink()
    with journal.locked(str(path), "sweep"):
        assert main([*argv, str(tmp_path / "s")]) == 2
        assert "another sweep is writing" in capsys.readouterr().err
    other = tmp_path / "results"
    other.mkdir()
    (other / "table.json").write_text("mine")
    assert main([*argv, str(other)]) == 2
    assert "not a sweep's folder" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["table.json"]


def test_a_worker_failure_is_one_error_and_a_stop_cancels_the_queue():
    """A worker's own exception (not the user's) comes back as one ValueError naming the
    job; a consumer that stops after the first result does not wait for the queue."""
    import operator

    from turing_rcnn.search.backends import run_chunks

    with pytest.raises(ValueError, match=r"worker failed on job 2 of 2: ZeroDivisionError"):
        list(run_chunks(operator.truediv, [(1, 1), (1, 0)], "process", 1, None))
    start = time.perf_counter()
    chunks = run_chunks(time.sleep, [(1.0,)] * 8, "process", 2, None)
    next(chunks)
    chunks.close()  # as when the driver is stopped: the 6 queued sleeps are cancelled
    assert time.perf_counter() - start < 3.5

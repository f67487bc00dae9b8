"""The bench scripts' front door: `--help` answers at once (no torch, no work), and the
shared progress helper writes to stderr when on and nothing when off."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(BENCH.glob("bench_*.py"))
LIMIT = 10.0  # seconds for one `--help`, on a loaded 2-core machine


def _common():
    spec = importlib.util.spec_from_file_location("bench_common", BENCH / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_bench_script_answers_help_at_once():
    assert len(SCRIPTS) >= 16
    results, pending = {}, list(SCRIPTS)
    running: dict[Path, tuple[subprocess.Popen, float]] = {}
    while pending or running:
        while pending and len(running) < 2:  # two at a time: the machine has 2 cores
            script = pending.pop()
            proc = subprocess.Popen(
                [sys.executable, str(script), "--help"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=BENCH.parent,
            )
            running[script] = (proc, time.perf_counter())
        for script, (proc, start) in list(running.items()):
            if proc.poll() is None and time.perf_counter() - start < LIMIT:
                continue
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate()
            results[script.name] = (proc.returncode, out, err, time.perf_counter() - start)
            del running[script]
        time.sleep(0.02)
    for name, (code, out, err, seconds) in sorted(results.items()):
        assert code == 0, f"{name} --help: exit {code} after {seconds:.1f} s\n{err}"
        assert "usage" in out, name
        assert "--no-progress" in out, name
        assert seconds < LIMIT, f"{name} --help took {seconds:.1f} s"


@pytest.mark.parametrize(
    "script", ["bench_meta.py", "bench_flood_unseen.py", "bench_majority_search.py"]
)
def test_bad_arguments_exit_2(script):
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--no-such-option"],
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    assert proc.returncode == 2
    assert "usage" in proc.stderr


def test_out_naming_a_fifo_or_folder_exits_2_before_any_work(tmp_path, capsys):
    """A results name whose .json (or .png) is a FIFO would block the final write, a
    folder fail it: both refused when the arguments are parsed; a written result
    replaces a regular file atomically and never a FIFO."""
    import os

    common = _common()
    parser = common.bench_parser("doc")
    parser.add_argument("--out", default="x")
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "dir.png").mkdir()
    for name, kind in (("fifo", "a FIFO"), ("dir", "a folder")):
        with pytest.raises(SystemExit) as err:
            parser.parse_args(["--out", str(tmp_path / name)])
        assert err.value.code == 2
        assert f"is {kind}, not a regular file" in capsys.readouterr().err
    assert parser.parse_args(["--out", str(tmp_path / "fine")]).out.endswith("fine")
    with pytest.raises(ValueError, match="FIFO"):
        common.write_json(str(tmp_path / "fifo.json"), {})
    (tmp_path / "old.json").write_text("old")
    assert "meta" in common.write_json(str(tmp_path / "old.json"), {"a": 1}).read_text()


def test_common_imports_no_torch():
    code = "import sys; sys.path.insert(0, sys.argv[1]); import _common; "
    code += "print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code, str(BENCH)], capture_output=True, text=True, timeout=LIMIT
    )
    assert out.stdout.strip() == "False", out.stderr


def test_progress_writes_to_stderr_and_is_silent_when_off():
    """The scripts' progress is the package's bar with the stage in front: drawn at once,
    redrawn by its thread while one long call runs, and silent when switched off."""
    common = _common()
    stream = io.StringIO()
    start = time.perf_counter()
    with common.Progress("bench_x", total=3, every=0.2, stream=stream) as bar:
        assert stream.getvalue().lstrip("\r").startswith("bench_x: starting")
        assert time.perf_counter() - start < 2
        bar.stage("stage one")
        bar.advance()
        drawn = stream.getvalue().count("\r")
        time.sleep(0.7)  # one long call: the thread keeps redrawing
        assert stream.getvalue().count("\r") >= drawn + 2
        assert "bench_x: stage one" in stream.getvalue() and "1/3" in stream.getvalue()
        for _ in bar.iterate(["a", "b"], label=lambda s: f"item {s}"):
            pass
    last = stream.getvalue().split("\r")[-1]
    assert last.startswith("bench_x: done") and "3/3" in last

    quiet = io.StringIO()
    with common.Progress("bench_x", total=3, enabled=False, every=0.05, stream=quiet) as bar:
        bar.stage("quiet")
        time.sleep(0.2)
        bar.advance()
    assert quiet.getvalue() == ""


def test_majority_search_settle_rule_and_symmetric_mutations():
    """bench_majority_search's reference: the hand-written settle rule answers == the
    majority reference on every label pattern to m = 6 and on random ones at m = 16, at
    every layer it is read; and a group mutation keeps the table sign-symmetric."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_ms", BENCH / "bench_majority_search.py"
        )
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
    finally:
        sys.path.remove(str(BENCH))
    space = bench.Space(6)
    table, readout = bench.settle(space)
    for m in range(1, 7):
        assert space.right(table, readout, *bench.patterns(m)) == 1.0
    rng = np.random.default_rng(1)
    y = np.where(rng.random((50, 16)) < 0.5, 1, -1)
    assert space.right(table, readout, y, bench.reference_answers(y)) == 1.0
    assert space.right(table, -readout, y, bench.reference_answers(y)) == 0.0
    mutated = table.copy()
    chosen = np.flatnonzero(space.parts[1] == 1)  # every entry whose centre holds state 1
    bench.mutate(space, mutated, chosen, 3, keep=False)
    assert not np.array_equal(mutated, table)
    assert np.array_equal(mutated[space.flip], space.flip_state[mutated])

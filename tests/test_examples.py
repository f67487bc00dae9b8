"""The scripts in examples/ run end to end in their small (--quick) mode, and what they
report holds up when checked here independently."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from turing_rcnn.trainable import mazes, peer
from turing_rcnn.trainable.extract import Rule

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@functools.cache
def example(name: str):
    """examples/NAME.py imported as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def keep_threads():
    """The examples set one torch thread (the package's policy); give the rest of the
    session back what it had."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_every_example_is_listed_in_the_readme():
    readme = (EXAMPLES / "README.md").read_text()
    for path in EXAMPLES.glob("*.py"):
        assert f"examples/{path.name}" in readme, path.name


def test_sklearn_parity(capsys):
    out = example("sklearn_parity").main(quick=True)
    # 1 - 2x: the parity is learned exactly; 2x - 1: its complement (odd secret), which
    # the constant term learns and elimination without one cannot represent.
    assert len(out["secret"]) % 2 == 1
    assert out["ge_score"] == out["ge_score_bits"] == out["ge_score_other_encoding"] == 1.0
    assert out["ge_score_other_encoding_linear"] < 0.75
    assert out["cv_scores"] == [1.0, 1.0]
    assert out["grid_scores"]["gauss"] == 1.0
    assert max(s for k, s in out["grid_scores"].items() if k != "gauss") < 0.75
    assert out["best_learner"] == "gauss"
    assert out["rcnn_score"] == 1.0 and out["rcnn_equals_ge"] and out["memorisation_exact"]
    printed = capsys.readouterr().out
    assert "x -> 1 - 2x: test accuracy 1.000" in printed and "best: 'gauss'" in printed


def test_sklearn_parity_encodings():
    """The claim in the example's comment, on its own: 2x - 1 flips every bit, so an
    odd parity's 0/1 labels become 1 + the parity of the encoded bits."""
    ex = example("sklearn_parity")
    X = np.array([[0, 1, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]])
    assert (ex.bits_to_pm1(X) == np.where(X == 1, -1, 1)).all()
    assert (ex.bits_to_pm1_wrong(X) == -ex.bits_to_pm1(X)).all()


REPORT_KEYS = {"rule", "task", "states", "symbols", "table_entries", "guards", "parameters"}
CHECK_KEYS = {"check", "inputs", "count", "right", "fixed_point", "passed", "seconds"}


def test_train_extract_verify(capsys):
    out = example("train_extract_verify").main(quick=True)
    assert isinstance(out["rule"], Rule) and out["rule"].task == "prefix-parity"
    assert out["steps"] == 40
    report = out["report"]
    assert REPORT_KEYS | {"checks", "exact", "fixed_points", "proved_every_length"} <= set(report)
    assert report["task"] == "prefix-parity" and report["states"] == 3
    assert report["guards"] == len(out["rule"].program.guards)
    checks = report["checks"]
    assert all(set(c) == CHECK_KEYS for c in checks)
    exhaustive = [c for c in checks if c["check"] == "a"]
    assert len(exhaustive) == 15 and sum(c["count"] for c in exhaustive) == 2**17 - 4
    assert report["exact"] == all(c["passed"] for c in checks)
    assert report["proved_every_length"] == (report["exact"] and report["fixed_points"]["passed"])
    if not out["trained"]:  # 40 steps: an untrained filter's rule is not exact
        assert not report["exact"]
    # The shipped rule, spot-checked: right at a fixed point on every string.
    shipped = out["shipped_report"]
    assert shipped["right"] == shipped["count"] > 0 and shipped["fixed_point"]
    printed = capsys.readouterr().out
    assert f"exact (a)-(c): {report['exact']}" in printed
    assert "the shipped rule 'prefix-parity'" in printed


def test_peer_mazes(tmp_path, capsys):
    folder = tmp_path / "mazes"
    out = example("peer_mazes").main(quick=True, out=str(folder))
    assert out["count"] == 5 and out["size"] == 9 and out["settled"]
    # The folder is in the peer's layout, and the loader + checkers agree with the example.
    inputs, solutions = np.load(folder / "inputs.npy"), np.load(folder / "solutions.npy")
    assert inputs.dtype == np.float32 and inputs.shape == (5, 3, 24, 24)
    assert solutions.dtype == np.int64 and solutions.shape == (5, 24, 24)
    images, targets = peer.load_peer(str(folder))
    answers = out["answers"]
    exact = (answers == targets[:, 0]).all(axis=(1, 2))
    assert out["accuracy"] == exact.mean() == 1.0
    assert out["pixel_accuracy"] == mazes.valid_shortest_paths(images, answers).mean()
    # Reading the same folder as the peer's data gives the same verdict.
    again = example("peer_mazes").main(data=str(folder))
    assert again["accuracy"] == out["accuracy"] and (again["answers"] == answers).all()
    # An existing non-empty --out is refused, and nothing in it changes.
    with pytest.raises(SystemExit, match="not an empty folder"):
        example("peer_mazes").main(quick=True, out=str(folder))
    assert (np.load(folder / "solutions.npy") == solutions).all()
    assert "S" in capsys.readouterr().out


def test_peer_mazes_command_line(tmp_path):
    """The script as a user runs it, in a fresh interpreter."""
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "peer_mazes.py"), "--quick", "--count", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "3/3 mazes solved exactly (pixel check: 3/3)" in run.stdout


@pytest.mark.parametrize("learner", ["majority", "last-label"])
def test_learned_learner(learner, capsys):
    out = example("learned_learner").main(quick=True, learner=learner)
    assert out["family"] == learner and out["runs"]
    for row in out["runs"]:
        assert row["datasets"] == 2
        assert row["memorisation_exact"]
        assert row["equals_reference"] and row["equals_hand_written"]
    assert "== reference: True" in capsys.readouterr().out

"""Majority invented from the answers alone (issue 29): the column programs a SAT solver
found (bench/bench_majority_invent.py) and their trace as the teacher of meta-train."""

import json
from pathlib import Path

import numpy as np
import pytest

from turing_rcnn.app.cli import main
from turing_rcnn.trainable.config import MetaConfig
from turing_rcnn.trainable.meta import MetaLearner
from turing_rcnn.trainable.meta.families import every_label_pattern, get_family, sample
from turing_rcnn.trainable.meta.layout import INPUTS, layers_for, layout_codes
from turing_rcnn.trainable.meta.teacher import ColumnProgram, teacher_trace

FOUND = sorted((Path(__file__).parents[1] / "bench/results/majority_invented").glob("sat*.json"))
FROZEN = [INPUTS.index(s) for s in ("D0", "D1", "T0", "T1")]


def answers(program, X, y, x) -> np.ndarray:
    m, d = X.shape[1:]
    trace = teacher_trace(
        program, layout_codes(X, y, x), layers_for(get_family("majority"), m, d), FROZEN
    )
    return np.array(program.readout)[trace[-1, :, m, d]]


@pytest.mark.parametrize("path", FOUND, ids=lambda p: p.stem)
def test_found_programs_answer_as_majority(path):
    """Each program found is right (==) on every label pattern to m = 10 and on random
    problems to m = 48, in the laid-out frame grid with the frame's schedule."""
    program, rng, family = (
        ColumnProgram.load(str(path)),
        np.random.default_rng(7),
        get_family("majority"),
    )
    assert len(program.guards) == 5 and "answers alone" in program.found_by
    for m in range(1, 11):
        X, y, x = every_label_pattern(m, 1 + m % 3, rng)
        want = np.where(y.astype(int).sum(1) >= 0, 1, -1)
        assert np.array_equal(answers(program, X, y, x), want)
    for m, d in ((16, 4), (31, 2), (48, 3)):
        X, y, x, want = sample(family, 60, m, d, rng)
        assert np.array_equal(answers(program, X, y, x), want)


def test_the_trace_moves_only_the_label_column_on_the_schedule():
    """Data, test and work cells keep state 0; a label cell holds 0 until the frame's
    schedule lets it change."""
    from turing_rcnn.trainable.meta.layout import active_layers

    program, rng = ColumnProgram.load(str(FOUND[0])), np.random.default_rng(1)
    X, y, x, _ = sample(get_family("majority"), 40, 9, 2, rng)
    trace = teacher_trace(program, layout_codes(X, y, x), 30, FROZEN)
    assert not trace[:, :, :, [0, 1, 3]].any()
    start = active_layers(9, 2)[:, 2]
    for row in range(10):
        assert not trace[: start[row] + 1, :, row, 2].any()
        assert trace[start[row] + 1 :, :, row, 2].any()


def test_teacher_options_and_files(tmp_path, capsys):
    good = str(FOUND[0])
    with pytest.raises(ValueError, match="give one"):
        MetaConfig(learner="majority", teacher=good, hints=True)
    with pytest.raises(ValueError, match="answers majority, not last-label"):
        MetaConfig(learner="last-label", teacher=good)
    with pytest.raises(ValueError, match="--symbols >= 6"):
        MetaConfig(learner="majority", teacher=good, symbols=4)
    tampered = tmp_path / "t.json"
    blob = json.loads(Path(good).read_text())
    blob["readout"][0] = -blob["readout"][0]
    tampered.write_text(json.dumps(blob))
    not_one = tmp_path / "n.json"
    not_one.write_text('{"kind": "rule"}')
    for bad in (tampered, not_one, tmp_path):
        out = tmp_path / f"out-{bad.name}"
        assert main(["meta-train", "--teacher", str(bad), "--out", str(out)]) == 2
        assert not out.exists()
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(bad) in err[0]
    with pytest.raises(ValueError, match="teacher it is taught a trace"):
        MetaConfig(learner="majority", teacher=good, anneal=True)
    with pytest.raises(ValueError, match="keep --neighbourhood square"):
        MetaConfig(learner="majority", teacher=good, neighbourhood="north-west")
    for field, value in (("guards", 5), ("guards", None), ("guards", [[[], [], [], 9]]),
                         ("readout", [True] * 6), ("readout", [1.0] * 6)):  # fmt: skip
        broken = dict(blob, readout=json.loads(Path(good).read_text())["readout"]) | {field: value}
        with pytest.raises(ValueError):
            ColumnProgram.from_json(broken)
    program = ColumnProgram.load(good)
    program.save(str(tmp_path / "saved.json"))
    assert ColumnProgram.load(str(tmp_path / "saved.json")) == program


def test_meta_train_runs_on_the_teachers_trace(monkeypatch):
    """A tiny run: every training step's loss is the teacher's trace (never a
    hand-written hint), and the learner is fitted."""
    from turing_rcnn.trainable.meta import learner

    calls = []
    real = learner.teacher_trace

    def spy(program, codes, layers, frozen=()):
        calls.append(program.found_by)
        return real(program, codes, layers, frozen)

    monkeypatch.setattr(learner, "teacher_trace", spy)
    monkeypatch.setattr(learner, "hint_trace", None)  # never called
    cfg = MetaConfig(
        learner="majority", teacher=str(FOUND[0]), max_m=3, max_d=1, hidden=8, batch_size=8,
        max_steps=6, eval_every=6, val_size=4,
    )  # fmt: skip
    model = MetaLearner(cfg, progress=False).fit()
    assert len(calls) == 6 and all("answers alone" in c for c in calls)
    assert model.steps_ == 6 and np.isfinite(model.history_.loss).all()


@pytest.mark.slow
def test_the_shipped_invented_learner_verifies_on_a_fresh_seed():
    """`majority-invented` (SGD on the trace of a program found from the answers alone,
    read off and verified when it shipped) is exact again on problems of a new seed,
    the compiled frame included."""
    from turing_rcnn import pretrained
    from turing_rcnn.trainable.meta import MetaRule, verify

    rule = MetaRule.load(pretrained.resolve("majority-invented", "learner"))
    report = verify(rule, seed=11, large=((24, 4),), count=20, frame=((3, 2),), datasets=1)
    assert report["exact"] is True
    assert report["label_patterns"]["right"] == report["label_patterns"]["problems"] == 8190

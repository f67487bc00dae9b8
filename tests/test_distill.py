"""Self-distillation (issue 28, item 1's allowed teacher): a finite-state filter trains
on the clustered states of a filter that learned from the answers alone; a teacher or
an option that would bring a hand-written trace in is refused."""

import numpy as np
import pytest
import torch

from turing_rcnn import AlgorithmLearner, pretrained
from turing_rcnn.app.cli import main
from turing_rcnn.trainable import AlgoConfig, Maze
from turing_rcnn.trainable.distill import Teacher, kmeans, load_teacher, nearest


def test_kmeans_finds_separated_clusters_and_nearest_labels_them():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    points = np.concatenate([c + 0.1 * rng.standard_normal((50, 2)) for c in centres])
    found = kmeans(points, 3, rng)
    assert np.abs(np.sort(found, 0) - np.sort(centres, 0)).max() < 0.1
    labels = nearest(found, points)
    assert [len(set(labels[i : i + 50])) for i in (0, 50, 100)] == [1, 1, 1]


def test_the_teachers_trace_starts_in_symbol_0_and_clusters_its_states():
    teacher = load_teacher("maze", "maze")
    assert not teacher.config_.hints
    x, _ = Maze().sample(8, 5, np.random.default_rng(1))
    clustered = Teacher(teacher, 3, x, 10, seed=0)
    trace = clustered.trace(x, 10)
    assert trace.shape == (11, 8, *x.shape[2:]) and (trace[0] == 0).all()
    with torch.no_grad():
        state = teacher.net_.run(x, 10)
    points = state.permute(0, 2, 3, 1).reshape(-1, state.shape[1]).numpy()
    assert np.array_equal(trace[10].reshape(-1), nearest(clustered.centroids, points))
    assert len(np.unique(trace)) == 3


def test_a_student_trains_on_the_teachers_trace():
    cfg = AlgoConfig(
        task="maze", symbols=2, neighbourhood="cross", train_size=5, teacher="maze",
        max_steps=3, eval_every=1, batch_size=8, val_size=10,
    )  # fmt: skip
    model = AlgorithmLearner(cfg, progress=False).fit()
    assert model.history_.step == [1, 2, 3] and np.isfinite(model.history_.loss).all()
    assert model.teacher_.centroids.shape == (2, 16)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--teacher", "maze", "--symbols", "2", "--hints"], "give one of them"),
        (["--teacher", "maze"], "give --symbols k"),
        (["--teacher", "maze-hints", "--symbols", "2"], "trained with --hints"),
        (["--teacher", "prefix-parity", "--symbols", "2"], "learned prefix-parity, not maze"),
    ],
)
def test_the_answer_only_route_refuses_a_hand_written_trace(argv, fragment, tmp_path, capsys):
    """--hints with --teacher, and a teacher trained with --hints, are refused in one
    line (exit 2) before any training; nothing is written."""
    out = tmp_path / "run"
    args = ["train-algo", "--task", "maze", "--train-size", "5", "--max-steps", "2"]
    assert main([*args, *argv, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1
    assert not out.exists()
    assert "maze-hints" in pretrained.names("filter")


def test_the_shipped_answer_only_rule_learned_from_the_answers_alone():
    """maze-answers (issue 28): a finite-state filter trained on the path mask alone
    (annealed discretisation), no hand-written trace nor teacher; its rule ships beside
    it (verified and proved by the slow test in test_rules.py)."""
    model = load_teacher("maze-answers", "maze")  # refused if it had trained with hints
    cfg = model.config_
    assert cfg.anneal and not cfg.hints and cfg.teacher is None and cfg.symbols == 4
    assert "maze-answers" in pretrained.names("rule")

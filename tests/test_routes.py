"""Two answer-only training routes (issues 28 and 29): annealed discretisation (the
finite state passes softmax(logits / T) forward while T falls to 0, then hard symbols)
and a curriculum in size for train-algo; both refuse what would bring a trace in."""

import numpy as np
import pytest
import torch

from turing_rcnn.app.cli import main
from turing_rcnn.trainable import AlgoConfig, AlgorithmLearner
from turing_rcnn.trainable.config import MetaConfig
from turing_rcnn.trainable.filter import DiscreteFilter, anneal_temperature
from turing_rcnn.trainable.learner import _drawer
from turing_rcnn.trainable.tasks import get_algo_task


def test_the_temperature_falls_to_hard_symbols():
    assert anneal_temperature(0.0) == 1.0 and anneal_temperature(0.3) == pytest.approx(0.5)
    assert anneal_temperature(0.6) == anneal_temperature(1.0) == 0.0


def test_a_hot_filter_passes_soft_states_only_with_gradient():
    net = DiscreteFilter(3, 4, 8)
    x = torch.randn(2, 3, 5, 5)
    state, recalled = net.initial_state(x), net.recall(x)
    net.temperature = 0.5
    soft = net.step(state, recalled)
    want = torch.softmax(net.logits(state, recalled) / 0.5, dim=1)
    assert torch.equal(soft, want) and not torch.equal(soft, soft.round())
    with torch.no_grad():  # validation, predict and read-off: always hard
        hard = net.step(state, recalled)
    one_hot = torch.nn.functional.one_hot(want.argmax(1), 4).permute(0, 3, 1, 2).float()
    assert (hard - one_hot).abs().max() < 1e-6  # hard + soft - soft: one-hot up to rounding


def test_annealed_training_ends_hard_and_its_schedule_is_followed(monkeypatch):
    seen = []
    step = DiscreteFilter.step

    def spy(self, state, recalled):
        if torch.is_grad_enabled():
            seen.append(self.temperature)
        return step(self, state, recalled)

    monkeypatch.setattr(DiscreteFilter, "step", spy)
    cfg = AlgoConfig(
        task="prefix-parity", symbols=2, hidden=4, train_size=3, max_steps=6,
        eval_every=6, batch_size=2, val_size=5, anneal=True, max_minutes=100,
    )  # fmt: skip
    model = AlgorithmLearner(cfg, progress=False).fit()
    assert model.net_.temperature == 0.0
    assert seen[0] > 0.99 and seen[-1] == 0.0 and sorted(seen, reverse=True) == seen


def test_the_size_curriculum_grows_from_the_smallest_maze():
    cfg = AlgoConfig(task="maze", train_size=9, max_steps=8, batch_size=1, curriculum=True)
    draw = _drawer(get_algo_task("maze"), cfg, np.random.default_rng(0))
    task = get_algo_task("maze")
    drawn = [draw() for _ in range(8)]
    sides = [x.shape[-1] for x, _, _ in drawn]
    assert sides[0] == 5 and set(sides) > {5} and max(sides) <= 11  # maze sizes 3 .. 9
    side_of = {s + 2: s for s in (3, 5, 7, 9)}  # a maze of size s: s + 2 cells a side
    assert all(b == task.train_iterations(side_of[x.shape[-1]]) for x, _, b in drawn)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--anneal"], "give --symbols k"),
        (["--anneal", "--symbols", "2", "--hints"], "give one of them"),
        (["--anneal", "--symbols", "2", "--teacher", "maze"], "give one of them"),
    ],
)
def test_annealing_refuses_a_trace(argv, fragment, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train-algo", "--task", "maze", "--train-size", "5", "--max-steps", "2"]
    assert main([*args, *argv, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and not out.exists()
    with pytest.raises(ValueError, match="give one of them"):
        MetaConfig(learner="majority", hints=True, anneal=True)


def test_the_curriculum_refuses_given_grids():
    x, y = get_algo_task("maze").sample(4, 5, np.random.default_rng(0))
    model = AlgorithmLearner(AlgoConfig(task="maze", train_size=5, curriculum=True))
    with pytest.raises(ValueError, match="curriculum draws its sizes"):
        model.fit(x, y)


def test_restarts_keep_the_first_that_validates_perfectly(monkeypatch):
    """Restarts of seed 2 (of 3) try seeds 6, 7, 8; validation is rigged to be perfect
    for seed 7 only, so 8 never runs and the kept filter is seed 7's own run."""
    accuracy = AlgorithmLearner._accuracy

    def rigged(self, X, y, iterations=None):
        accuracy(self, X, y, iterations)  # the network still runs
        return 1.0 if self.config_.seed == 7 else 0.25

    monkeypatch.setattr(AlgorithmLearner, "_accuracy", rigged)
    cfg = AlgoConfig(
        task="prefix-parity", symbols=2, hidden=4, train_size=3, max_steps=12, eval_every=2,
        batch_size=2, val_size=5, max_minutes=300, patience=1, seed=2, restarts=3,
    )  # fmt: skip
    model = AlgorithmLearner(cfg, progress=False).fit()
    assert [r["seed"] for r in model.restarts_] == [6, 7]
    assert [r["best_validation"] for r in model.restarts_] == [0.25, 1.0]
    assert model.config_.seed == 7 and model.config_.restarts == 1
    assert model.config_.max_steps == 4 and model.config_.max_minutes == 100
    alone = AlgorithmLearner(model.config_, progress=False).fit()
    for name, weight in alone.net_.state_dict().items():
        assert torch.equal(model.net_.state_dict()[name], weight)
    assert model.summary()["restarts"] == model.restarts_


def test_without_a_perfect_restart_the_best_validated_is_kept(monkeypatch):
    score = {0: 0.5, 1: 0.75, 2: 0.5}

    def rigged(self, X, y, iterations=None):
        return score[self.config_.seed]

    monkeypatch.setattr(AlgorithmLearner, "_accuracy", rigged)
    cfg = AlgoConfig(
        task="prefix-parity", symbols=2, hidden=4, train_size=3, max_steps=6, eval_every=2,
        batch_size=2, val_size=5, max_minutes=300, restarts=3,
    )  # fmt: skip
    model = AlgorithmLearner(cfg, progress=False).fit()
    assert [r["seed"] for r in model.restarts_] == [0, 1, 2]
    assert model.config_.seed == 1

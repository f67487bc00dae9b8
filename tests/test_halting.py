"""Test-time halting for continuous states (issue 28, item 3): an input halts after
`patience` iterations in a row in which no cell's state moved by more than `tol`. Checked
on two one-channel filters whose runs are known in closed form: one that oscillates
(never halts below its amplitude) and one that settles geometrically."""

import numpy as np
import pytest
import torch

from turing_rcnn import AlgorithmLearner
from turing_rcnn.trainable import AlgoConfig, Maze, get_algo_task
from turing_rcnn.trainable.filter import RecurrentFilter


def _learner(centre: float, hidden_bias: float, mix: float, mix_bias: float):
    """A fitted learner whose 1-channel filter maps a cell's state s to
    tanh(mix * relu(centre * s + hidden_bias) + mix_bias), the same at every cell (the
    neighbours' and the input's weights are 0); the answer is s > 0."""
    cfg = AlgoConfig(task="maze", width=1, hidden=1)
    model = AlgorithmLearner(cfg, progress=False)
    model.config_, model.task_ = cfg, get_algo_task("maze")
    net = model.net_ = RecurrentFilter(3, 1, 1)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.state_conv.weight[0, 0, 1, 1] = centre
        net.input_conv.bias[0] = hidden_bias
        net.mix.weight[0, 0, 0, 0] = mix
        net.mix.bias[0] = mix_bias
        net.out.weight[0, 0, 0, 0] = 1.0
    model._done = True
    return model


def _x(count=3):
    return Maze().sample(count, 5, np.random.default_rng(0))[0]


def _moves(model, x, iterations: int) -> list[float]:
    """The reference: the largest |state change| of each of the first iterations, by
    stepping the filter one iteration at a time."""
    state, recalled, out = model.net_.initial_state(x), model.net_.recall(x), []
    with torch.no_grad():
        for _ in range(iterations):
            new = model.net_.step(state, recalled)
            out.append(float((new - state).abs().max()))
            state = new
    return out


def test_an_oscillating_filter_never_halts():
    """s: 0 -> tanh(1) -> tanh(1 - 30 tanh(1)) = -1 -> tanh(1) -> ...: every cell
    swings by 1.76 at every iteration after the first (0.76), so no tolerance below
    those halts it, whatever the patience; the answer flips each iteration."""
    model, x = _learner(centre=10.0, hidden_bias=0.0, mix=-3.0, mix_bias=1.0), _x()
    assert min(_moves(model, x, 40)[1:]) > 1.7
    for tol, patience in [(0.0, 1), (1e-3, 5), (0.7, 1)]:
        _, ran = model.run_until_settled(x, 40, tol=tol, patience=patience)
        assert (ran == 40).all()
    assert not np.array_equal(model.predict(x, iterations=40), model.predict(x, iterations=41))
    _, ran = model.run_until_settled(x, 40, tol=2.0, patience=3)  # every move within 2
    assert (ran == 3).all()


def test_a_settling_filter_halts_where_its_moves_fall_within_tol():
    """s -> tanh(0.5 s + 0.3): a contraction, each move about half the last. It halts
    at the first iteration that ends `patience` moves <= tol in a row (the reference:
    the moves stepped one by one), reads the same answer as the full budget, and a
    longer patience halts exactly that many iterations later (its moves only shrink)."""
    model, x = _learner(centre=0.5, hidden_bias=1.0, mix=1.0, mix_bias=-0.7), _x()
    moves, budget = _moves(model, x, 200), 200
    assert all(b <= a for a, b in zip(moves[1:-1], moves[2:], strict=True))
    for tol in (1e-2, 1e-4):
        first_calm = next(t for t, m in enumerate(moves, 1) if m <= tol)
        for patience in (1, 2, 7):
            pred, ran = model.run_until_settled(x, budget, tol=tol, patience=patience)
            assert (ran == first_calm + patience - 1).all()
            assert np.array_equal(pred, model.predict(x, iterations=budget))
    _, ran = model.run_until_settled(x, budget)  # tol 0: a fixed point, bit for bit
    assert (ran < budget).all() and moves[ran[0] - 1] == 0.0 and moves[ran[0] - 2] > 0.0


def test_halting_refuses_a_negative_tolerance_or_zero_patience():
    model = _learner(centre=0.5, hidden_bias=1.0, mix=1.0, mix_bias=-0.7)
    for kwargs in ({"tol": -1e-3}, {"patience": 0}):
        with pytest.raises(ValueError, match="tol must be >= 0 and patience >= 1"):
            model.run_until_settled(_x(), 10, **kwargs)


def test_evaluate_halts_the_answer_only_maze_filter_where_it_stops_moving(tmp_path, capsys):
    """The shipped answer-only `maze` filter drifts in its last bits forever (tol 0:
    every maze runs its budget); with --tol 1e-4 --patience 10 every maze halts early
    and the answers are the full budget's. --tol with a rule is refused."""
    import json

    from turing_rcnn.app.cli import main
    from turing_rcnn.trainable import peer

    peer.write_mazes(str(tmp_path / "m9"), 9, 12, seed=3)
    reports = []
    for extra in ([], ["--tol", "1e-4", "--patience", "10"]):
        argv = ["evaluate", "maze", "--kind", "filter", "--data", str(tmp_path / "m9")]
        assert main([*argv, *extra, "--no-progress", "--json"]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    full, halted = reports
    assert full["accuracy"] == halted["accuracy"] == 1.0
    assert halted["iterations"]["settled"] == 12
    assert halted["iterations"]["max"] + 10 < full["iterations"]["budget"]
    argv = ["evaluate", "maze-hints", "--data", str(tmp_path / "m9"), "--tol", "1e-3"]
    assert main(argv) == 2
    assert "halt a filter" in capsys.readouterr().err


def test_a_finite_state_filter_halts_on_symbols_whatever_the_tolerance():
    """A DiscreteFilter's held state is its symbols: it halts when no symbol changes,
    and a tolerance (meant for continuous states) does not make a symbol change count
    as calm, however far apart the symbol indices are."""
    from turing_rcnn import pretrained

    model = AlgorithmLearner.load(pretrained.resolve("maze-hints", "filter"), progress=False)
    x, _ = Maze().sample(6, 9, np.random.default_rng(4))
    _, exact = model.run_until_settled(x)
    _, loose = model.run_until_settled(x, tol=5.0)
    assert np.array_equal(exact, loose) and (exact < model.iterations_for(x)).all()

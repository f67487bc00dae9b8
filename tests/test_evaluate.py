"""`turing-rcnn evaluate` and the peer's net (issue 31, items 2 and 3): any trained filter
or verified rule on a folder in the peer's layout, every default from the loaded model;
the DeepThinking-style baseline trained by our trainer."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import refused

from turing_rcnn.app.cli import main
from turing_rcnn.baselines.deepthinking import DeepThinking
from turing_rcnn.trainable import AlgoConfig, AlgorithmLearner, peer
from turing_rcnn.trainable.peer_sums import write_prefix_sums


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("peer")
    peer.write_mazes(str(root / "m9"), 9, 24, seed=0)
    peer.write_mazes(str(root / "c9"), 9, 24, seed=1, cycles=0.3)
    write_prefix_sums(str(root / "p40"), 40, 24, seed=0)
    (root / "taken").mkdir()
    (root / "taken" / "predictions.npy").touch()  # an earlier run's
    return root


def _evaluate(*argv: str, capsys) -> dict:
    assert main(["evaluate", *argv, "--no-progress", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_shipped_rule_solves_a_maze_folder_and_writes_the_peer_s_layout(folders, capsys):
    out = folders / "pred"
    report = _evaluate(
        "maze-hints", "--data", str(folders / "m9"), "--predictions", str(out), capsys=capsys
    )
    assert report["kind"] == "rule" and report["task"] == "maze" and report["size"] == 9
    assert report["accuracy"] == 1.0 and report["shortest_paths"] == 1.0
    it = report["iterations"]
    # the budget is the one predict and train-algo run: the task's for the 11 x 11 grid
    assert it["budget"] == 2 * 6 * 6 and it["settled"] == 24 and 0 < it["max"] < it["budget"]
    solutions = np.load(folders / "m9" / "solutions.npy")
    predictions = np.load(out / "predictions.npy")
    assert predictions.dtype == solutions.dtype and np.array_equal(predictions, solutions)
    used = np.load(out / "iterations.npy")
    assert used.shape == (24,) and used.max() == it["max"]
    assert np.load(out / "seconds.npy").shape == (24,)


def test_any_shortest_path_counts_on_mazes_with_cycles(folders, capsys):
    """Dead-end filling leaves loops in: neither the peer's verdict nor ours accepts it;
    the trained Lee's-wave filter (with hints) finds shortest paths."""
    rule = _evaluate("maze-hints", "--data", str(folders / "c9"), capsys=capsys)
    assert rule["shortest_paths"] < 0.5
    lee = _evaluate("maze-cycles-hints", "--data", str(folders / "c9"), capsys=capsys)
    assert lee["kind"] == "filter" and lee["shortest_paths"] == 1.0
    assert lee["accuracy"] <= lee["shortest_paths"]  # the peer's: only its own path


def test_prefix_sum_folders_run_the_prefix_parity_filter_and_rule(folders, capsys):
    data = str(folders / "p40")
    rule = _evaluate("prefix-parity", "--data", data, capsys=capsys)
    assert rule["kind"] == "rule" and rule["length"] == 40 and rule["accuracy"] == 1.0
    assert rule["iterations"]["budget"] == 80  # the task's budget for 40 bits
    assert 40 <= rule["iterations"]["max"] < 80  # the parity travels 40 cells, one a layer
    net = _evaluate(
        "prefix-parity", "--kind", "filter", "--data", data, "--count", "5", capsys=capsys
    )
    assert net["kind"] == "filter" and net["inputs"] == 5 and net["accuracy"] == 1.0


def test_a_filter_saved_by_train_algo_loads_by_path(folders, tmp_path, capsys):
    cfg = AlgoConfig(task="maze", train_size=5, width=4, hidden=4, max_steps=2, val_size=5)
    learner = AlgorithmLearner(cfg, progress=False).fit()
    learner.save(str(tmp_path / "model.pt"))
    report = _evaluate(
        str(tmp_path / "model.pt"),
        "--data",
        str(folders / "m9"),
        "--iterations",
        "7",
        capsys=capsys,
    )
    assert report["kind"] == "filter" and report["iterations"]["budget"] == 7
    assert report["iterations"]["max"] <= 7


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["maze-hints", "--data", "{tmp}/p40"], "looks like a prefix-sums folder; a maze model"),
        (["flood-fill", "--data", "{tmp}/m9"], "a flood-fill model takes neither"),
        (["prefix-parity", "--data", "{tmp}/none"], "no such folder"),
        (["{tmp}/m9/inputs.npy", "--data", "{tmp}/m9"], "give --kind filter or --kind rule"),
        (
            ["maze-hints", "--data", "{tmp}/m9", "--predictions", "{tmp}/m9/inputs.npy"],
            "give a new or empty folder",
        ),
        (["maze-hints", "--data", "{tmp}/m9", "--predictions", "{tmp}/taken"], "is not empty"),
        (["maze-hints", "--data", "{tmp}/m9", "--count", "0"], "--count"),
    ],
)
def test_bad_requests_are_refused_in_one_line(argv, fragment, folders, capsys):
    refused(
        ["evaluate", *[a.replace("{tmp}", str(folders)) for a in argv]], fragment, folders, capsys
    )


def test_the_peer_s_net_has_the_published_size_and_head():
    """Width 128 on RGB input: about 0.78 M parameters (783 504); the one logit is the
    difference of the two class logits, so its BCE is the peer's 2-class cross-entropy."""
    net = DeepThinking(3, 128)
    assert net.parameter_count == 783_504
    small = DeepThinking(3, 8)
    x = torch.rand(2, 3, 7, 7)
    state = small.run(x, 3)
    logit = small.out(state)
    z = state
    for i, conv in enumerate(small.out.convs):
        z = conv(z) if i == 2 else F.relu(conv(z))
    y = torch.randint(0, 2, (2, 7, 7))
    two_class = F.cross_entropy(z, y)
    assert torch.allclose(F.binary_cross_entropy_with_logits(logit[:, 0], y.float()), two_class)


def test_train_algo_trains_the_peer_s_net_and_reloads_it(tmp_path, capsys):
    argv = [
        "train-algo",
        "--task",
        "maze",
        "--net",
        "deepthinking",
        "--width",
        "4",
        "--train-size",
        "5",
        "--max-steps",
        "2",
        "--val-size",
        "5",
        "--test-size",
        "9",
        "--test-count",
        "3",
        "--compare-count",
        "0",
        "--out",
        str(tmp_path / "dt"),
        "--no-progress",
        "--json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parameters"] == DeepThinking(3, 4).parameter_count
    learner = AlgorithmLearner.load(str(tmp_path / "dt" / "model.pt"), progress=False)
    assert isinstance(learner.net_, DeepThinking)
    x, _ = learner.task_.sample(2, 9, np.random.default_rng(0))
    again = AlgorithmLearner.load(str(tmp_path / "dt" / "model.pt"), progress=False)
    assert np.array_equal(learner.predict(x), again.predict(x))


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--symbols", "3"], "--symbols and --hints are the finite-state filter's"),
        (["--neighbourhood", "cross"], "--neighbourhood is the filter's"),
    ],
)
def test_the_peer_s_net_refuses_the_filter_s_options(extra, fragment, tmp_path, capsys):
    refused(
        ["train-algo", "--task", "maze", "--net", "deepthinking", *extra],
        fragment,
        tmp_path,
        capsys,
    )


def test_train_algo_defaults_follow_the_loaded_filter(folders, capsys):
    """The issue's first failure: `train-algo --load maze-hints --data DIR` took prefix
    parity's test size (512) for a maze; now every size is the loaded task's."""
    argv = ["train-algo", "--load", "maze-hints", "--data", str(folders / "m9")]
    assert (
        main([*argv, "--test-count", "3", "--compare-count", "0", "--no-progress", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy_data"] == 1.0 and "accuracy_19" in report  # maze: 9, tested at 19


def test_train_algo_trains_on_a_peer_folder(tmp_path, capsys):
    """Coming from DeepThinking: train on your folder, test on fresh larger mazes."""
    peer.write_mazes(str(tmp_path / "m5"), 5, 40, seed=0)
    argv = ["train-algo", "--task", "maze", "--train-data", str(tmp_path / "m5"), "--width", "4"]
    argv += ["--hidden", "4", "--max-steps", "3", "--test-count", "3", "--compare-count", "0"]
    assert main([*argv, "--out", str(tmp_path / "run"), "--no-progress", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["train_size"] == 5 and report["steps"] == 3 and "accuracy_19" in report
    learner = AlgorithmLearner.load(str(tmp_path / "run" / "model.pt"), progress=False)
    assert learner.config_.train_size == 5


def test_train_data_refuses_a_loaded_filter_and_the_wrong_kind(folders, capsys):
    refused(
        ["train-algo", "--load", "maze", "--train-data", str(folders / "m9")],
        "--train-data trains a new filter",
        folders,
        capsys,
    )
    refused(
        ["train-algo", "--task", "maze", "--train-data", str(folders / "p40")],
        "looks like a prefix-sums folder",
        folders,
        capsys,
    )


@pytest.mark.parametrize(
    "task_name, size", [("maze", 15), ("maze-cycles", 15), ("prefix-parity", 90)]
)
def test_one_grid_settles_as_the_batch_does(task_name, size):
    """settle(one_grid=True) on ONE grid runs by model.OneGridRun (a memo the patch net
    fills, kept across calls); the same grid twice takes run_layers: the same final grid
    and the same layers to the fixed point."""
    from turing_rcnn.compile import compile_program
    from turing_rcnn.trainable import get_algo_task

    task = get_algo_task(task_name)
    x, _ = task.sample(3, size, np.random.default_rng(size))
    compiled = compile_program(task.program())
    grids = task.to_symbols(x)
    for grid in grids:
        one, moved = compiled.settle(grid[None], task.iterations(size), one_grid=True)
        two, moved_two = compiled.settle(np.stack([grid, grid]), task.iterations(size))
        assert np.array_equal(one[0], two[0]) and np.array_equal(two[0], two[1])
        assert moved == moved_two < task.iterations(size)


def test_train_size_must_agree_with_train_data(folders, capsys):
    refused(
        ["train-algo", "--task", "maze", "--train-size", "13", "--train-data", str(folders / "m9")],
        "--train-size 13, but --train-data holds inputs of size 9",
        folders,
        capsys,
    )


def test_scoring_zeroes_walls_and_accepts_any_shortest_path():
    """The peer's verdict zeroes wall pixels before comparing; a marked wall is then no
    error for either verdict. With cycles, another shortest path than the folder's is
    wrong for the peer's verdict and right for shortest_paths; a longer one for neither."""
    from turing_rcnn.app.evaluate import _score_mazes
    from turing_rcnn.trainable import Maze, mazes

    rng = np.random.default_rng(4)
    for _ in range(200):  # a maze with cycles where a second shortest path exists
        lay, s, e, path = (a[0] for a in mazes.generate(1, 9, rng, cycles=0.5))
        dist_s, dist_e = mazes.distances(lay, tuple(s)), mazes.distances(lay, tuple(e))
        on = (dist_s >= 0) & (dist_s + dist_e == dist_s[tuple(e)]) & (lay == 1)
        if on.sum() > path.sum():
            break
    images, targets = mazes.render(lay[None], s[None], e[None], path[None])
    solutions = targets.copy()
    answers = path[None, None].astype(np.float32)
    walled = answers.copy()
    walled[0, 0, 0, 0] = 1  # a wall entry marked: zeroed, so no error
    masks, peer, shortest = _score_mazes(
        np.concatenate([images, images]),
        np.concatenate([answers, walled]),
        np.concatenate([solutions, solutions]),
    )
    assert peer.all() and shortest.all() and not masks[:, :2, :2].any()
    other = next(  # traced back from the end in another order of neighbours
        p for order in itertools.permutations(mazes._STEPS)
        if not np.array_equal(p := _trace(lay, dist_s, tuple(s), tuple(e), order), path)
    )  # fmt: skip
    assert not np.array_equal(other, path), "no second shortest path found"
    _, peer, shortest = _score_mazes(images, other[None, None].astype(np.float32), solutions)
    assert not peer[0] and shortest[0]
    longer = on.astype(np.float32)  # every entry on some shortest path: too many
    _, peer, shortest = _score_mazes(images, longer[None, None], solutions)
    assert not peer[0] and not shortest[0]
    assert Maze.to_pixels(answers).shape == (1, 1, *images.shape[2:])


def _trace(lay, dist, start, end, order) -> np.ndarray:
    """A shortest path from `start` to `end`: back from the end, each step to the first
    neighbour in `order` one closer to the start."""
    mask, here = np.zeros(lay.shape, dtype=bool), end
    mask[here] = True
    while here != start:
        here = next(
            (here[0] + dr, here[1] + dc)
            for dr, dc in order
            if lay[here[0] + dr, here[1] + dc]
            and dist[here[0] + dr, here[1] + dc] == dist[here] - 1
        )
        mask[here] = True
    return mask

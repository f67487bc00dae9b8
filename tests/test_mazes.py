"""Mazes in DeepThinking's format, the addition task, and their exact rules."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from turing_rcnn.compile import compile_program
from turing_rcnn.trainable import Addition, Maze, get_algo_task, mazes, peer


@pytest.mark.parametrize("size, side", [(3, 12), (9, 24), (59, 124)])
def test_generator_writes_the_peer_format(size, side):
    rng = np.random.default_rng(size)
    layouts, starts, ends, paths = mazes.generate(6, size, rng)
    images, targets = mazes.render(layouts, starts, ends, paths)
    assert images.shape == (6, 3, side, side) and targets.shape == (6, side, side)
    assert mazes.pixels(size) == side
    n = mazes.cells_per_side(size)
    for img, target, lay, s, e, path in zip(
        images, targets, layouts, starts, ends, paths, strict=True
    ):
        assert not img[:, 0].any() and not img[:, -1].any()  # black 1-pixel border
        assert not img[:, :, 0].any() and not img[:, :, -1].any()
        colours = {tuple(c) for c in img.reshape(3, -1).T.tolist()}
        assert colours == {(0, 0, 0), (1, 1, 1), (0, 1, 0), (1, 0, 0)}
        assert img[1, 1 + 2 * s[0], 1 + 2 * s[1]] == 1 and img[0, 1 + 2 * s[0], 1 + 2 * s[1]] == 0
        assert img[0, 1 + 2 * e[0], 1 + 2 * e[1]] == 1 and img[1, 1 + 2 * e[0], 1 + 2 * e[1]] == 0
        # a perfect maze: all n^2 cells open, joined by exactly n^2 - 1 open walls (a tree)
        assert lay[1::2, 1::2].all() and lay.sum() == n * n + n * n - 1
        assert tuple(s) != tuple(e)
        assert np.array_equal(path, mazes.shortest_path(lay, tuple(s), tuple(e)))
        assert np.array_equal(target, mazes.render(lay[None], s[None], e[None], path[None])[1][0])
        dist = mazes.distances(lay, tuple(s))
        assert path.sum() == dist[tuple(e)] + 1 and (dist[path] >= 0).all()


def _a_shortest_path(lay, s, e, rng) -> np.ndarray:
    """A random shortest path: entries v with d_s(v) + d_e(v) = d, walked from s."""
    ds, de = mazes.distances(lay, s), mazes.distances(lay, e)
    total, here, mask = ds[e], s, np.zeros(lay.shape, dtype=bool)
    mask[s] = True
    while here != e:
        steps = [(here[0] + dr, here[1] + dc) for dr, dc in mazes._STEPS]
        steps = [v for v in steps if ds[v] == ds[here] + 1 and ds[v] + de[v] == total]
        here = steps[rng.integers(len(steps))]
        mask[here] = True
    return mask


def test_the_checker_accepts_every_shortest_path_and_nothing_else():
    rng = np.random.default_rng(0)
    layouts, starts, ends, paths = mazes.generate(30, 11, rng, cycles=0.3)
    images, targets = mazes.render(layouts, starts, ends, paths)
    assert mazes.valid_shortest_paths(images, targets).all()
    several = 0
    for i, (lay, s, e) in enumerate(zip(layouts, starts, ends, strict=True)):
        s, e = tuple(s), tuple(e)
        found = {_a_shortest_path(lay, s, e, rng).tobytes() for _ in range(20)}
        several += len(found) > 1
        for path in found:
            path = np.frombuffer(path, dtype=bool).reshape(lay.shape)
            mask = mazes.render(lay[None], np.array([s]), np.array([e]), path[None])[1]
            assert mazes.valid_shortest_paths(images[i : i + 1], mask)[0]
        wrong = paths[i].copy()
        wrong[s] = False  # the start left off
        beside = np.zeros_like(paths[i])  # an open entry off the path, next to it
        for dr, dc in mazes._STEPS:
            beside |= np.roll(paths[i], (dr, dc), axis=(0, 1))
        extra = np.argwhere(beside & (lay == 1) & ~paths[i])
        detour = paths[i].copy()
        detour[tuple(extra[0])] = True  # connected, but one entry too many
        half = mazes.render(lay[None], np.array([s]), np.array([e]), paths[i][None])[1].copy()
        half[0, 1 + 2 * s[0], 1 + 2 * s[1]] = 0  # one pixel of a block
        for bad in (wrong, detour):
            mask = mazes.render(lay[None], np.array([s]), np.array([e]), bad[None])[1]
            assert not mazes.valid_shortest_paths(images[i : i + 1], mask)[0]
        assert not mazes.valid_shortest_paths(images[i : i + 1], half)[0]
    assert several >= 5  # the cycles give several shortest paths, all accepted


def test_peer_arrays_round_trip_and_clear_errors(tmp_path):
    rng = np.random.default_rng(1)
    images, targets = mazes.render(*mazes.generate(5, 9, rng))
    peer.save_peer(str(tmp_path), images, targets)
    x, y = peer.load_peer(str(tmp_path))
    assert np.array_equal(x, images) and np.array_equal(y[:, 0], targets)
    cells, cell_targets = Maze.from_pixels(x, y)
    assert np.array_equal(Maze.to_pixels(cell_targets), y)  # the entry grid loses nothing
    with pytest.raises(ValueError, match="no such folder"):
        peer.load_peer(str(tmp_path / "elsewhere"))
    bad = images.copy()
    bad[0, :, 1, 1] = 0.5 - bad[0, :, 1, 1]  # one pixel off its block
    with pytest.raises(ValueError, match="uniform 2 x 2"):
        mazes.layout_of(bad)
    with pytest.raises(ValueError, match=r"\(N, 3, P, P\)"):
        mazes.layout_of(images[:, :2])
    layouts, starts, ends = mazes.layout_of(images)
    beside = layouts.copy()  # the start moved onto the passage or wall east of it
    r, c = starts[0]
    beside[0, r, c + 1] = 1
    moved = starts.copy()
    moved[0, 1] += 1
    with pytest.raises(ValueError, match="maze cells"):  # (d)'s invariant: never side by side
        mazes.layout_of(mazes.render(beside, moved, ends, np.zeros_like(layouts))[0])
    ring = layouts.copy()
    ring[0, 0, 1] = 1
    with pytest.raises(ValueError, match="outer ring"):
        mazes.layout_of(mazes.render(ring, starts, ends, np.zeros_like(layouts))[0])
    with pytest.raises(ValueError, match="odd"):
        mazes.cells_per_side(10)
    np.save(tmp_path / "solutions.npy", targets[:, :5])
    with pytest.raises(ValueError, match="solutions.npy must be"):
        peer.load_peer(str(tmp_path))


@settings(max_examples=20, deadline=None)
@given(size=st.sampled_from([3, 5, 9, 13]), seed=st.integers(0, 2**31))
def test_dead_end_filling_compiled_finds_the_path(size, seed):
    task = Maze()
    x, y = task.sample(4, size, np.random.default_rng(seed))
    compiled = compile_program(task.program())
    grid = compiled.run(task.to_symbols(x), task.iterations(size))
    assert np.array_equal(task.from_symbols(grid), y.numpy())


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 2**31))
def test_addition_targets_and_compiled_rule_are_exact(n, seed):
    task = Addition()
    x, y = task.sample(6, n, np.random.default_rng(seed))
    bits = lambda c: (x[:, c, 0].numpy() > 0).astype(int)  # noqa: E731
    for a, b, target in zip(bits(0), bits(1), y[:, 0, 0].numpy(), strict=True):
        value = sum(int(v) << i for i, v in enumerate(a)) + sum(
            int(v) << i for i, v in enumerate(b)
        )
        assert [int(t) for t in target] == [(value >> i) & 1 for i in range(n + 1)]
    compiled = compile_program(task.program())
    assert np.array_equal(task.from_symbols(compiled.run(task.to_symbols(x), n + 1)), y.numpy())
    early = compiled.run(task.to_symbols(x), n)  # one step short: the last carry unknown
    assert np.isin(early[:, 0, -1], range(1, 5)).all()


def test_task_names():
    assert get_algo_task("maze-cycles").cycles == 0.1 and get_algo_task("maze").cycles == 0


@settings(max_examples=20, deadline=None)
@given(
    size=st.sampled_from([3, 5, 9, 13]),
    cycles=st.sampled_from([0.1, 0.3, 0.6]),
    seed=st.integers(0, 2**31),
)
def test_lee_wave_compiled_finds_a_shortest_path_with_cycles(size, cycles, seed):
    """maze-cycles' exact rule (Lee's wave, finite-state), compiled and run in the
    network for the task's budget: a valid shortest path (BFS check) on every maze, at a
    fixed point."""
    task = Maze(cycles=cycles)
    x, y = task.sample(4, size, np.random.default_rng(seed))
    compiled = compile_program(task.program())
    grid = compiled.run(task.to_symbols(x), task.iterations(size))
    assert task.correct(x, y, task.from_symbols(grid)).all()
    assert np.array_equal(compiled.run(grid, 1), grid)


def test_shipped_maze_filter_solves_mazes_larger_than_its_training_size():
    """The filter behind the docs' maze figures (trained by gradient descent on size-5
    mazes) loads by name and solves fresh size-9 mazes, whole path right."""
    from turing_rcnn import AlgorithmLearner, pretrained

    model = AlgorithmLearner.load(pretrained.resolve("maze", "filter"), progress=False)
    assert model.config_.train_size == 5 and model.net_.parameter_count < 10**4
    x, y = model.task_.sample(30, 9, np.random.default_rng(5))
    assert model.score(x, y) == 1.0


def test_the_maze_hint_is_dead_end_filling_read_from_the_state_alone():
    """Maze.hint (walls filled first, then dead-end filling): 2 filter states, a fixed
    point within the task's budget, and state 0 (still open) exactly on the path."""
    from turing_rcnn.trainable.config import ALGO_HINTS
    from turing_rcnn.trainable.filter import hint_trace

    task, rng = get_algo_task("maze"), np.random.default_rng(0)
    program, starts = task.hint()
    for size in (5, 9, 21):
        x, y = task.sample(40, size, rng)
        trace = hint_trace(program, starts, task.to_symbols(x), task.iterations(size))
        assert trace.max() + 1 == ALGO_HINTS["maze"]
        assert np.array_equal(trace[-1], trace[-2])
        assert np.array_equal((trace[-1] == 0)[:, None], y.numpy() == 1)


@pytest.mark.parametrize("cycles", [0.1, 0.3])
def test_the_maze_cycles_hint_is_lees_wave_read_from_the_state_alone(cycles):
    """Maze(cycles).hint (Lee's wave, the start stepping to 'Q'): 17 filter states, a
    fixed point within the budget, its answer a valid shortest path (BFS check), and a
    function of the final state alone (state 0 is never on the path)."""
    from turing_rcnn.trainable.config import ALGO_HINTS
    from turing_rcnn.trainable.filter import hint_trace

    task, rng = Maze(cycles=cycles), np.random.default_rng(1)
    program, starts = task.hint()
    for size in (5, 9):
        x, y = task.sample(30, size, rng)
        steps = task.iterations(size)
        trace, answer = hint_trace(program, starts, task.to_symbols(x), steps, answer=True)
        assert trace.max() + 1 == ALGO_HINTS["maze-cycles"]
        assert np.array_equal(trace[-1], trace[-2])
        assert task.correct(x, y, answer[:, None]).all()
        on_path = np.unique(trace[-1][answer == 1])
        assert 0 not in on_path and not np.isin(trace[-1][answer == 0], on_path).any()


@pytest.mark.parametrize("task, symbols", [("maze", 2), ("maze-cycles", 17)])
def test_hinted_training_runs_and_hint_options_are_checked(task, symbols):
    from turing_rcnn import AlgorithmLearner
    from turing_rcnn.trainable import AlgoConfig
    from turing_rcnn.trainable.filter import DiscreteFilter

    cfg = AlgoConfig(
        task=task, train_size=5, symbols=symbols, neighbourhood="cross", hints=True,
        max_steps=3, eval_every=1, val_size=5, batch_size=8,
    )  # fmt: skip
    model = AlgorithmLearner(cfg, progress=False).fit()
    assert isinstance(model.net_, DiscreteFilter) and model.history_.step == [1, 2, 3]
    assert all(np.isfinite(model.history_.loss))
    with pytest.raises(ValueError, match="hints exist only for maze"):
        AlgoConfig(task="prefix-parity", symbols=2, hints=True)
    with pytest.raises(ValueError, match=f"need symbols >= {symbols}"):
        AlgoConfig(task=task, hints=True)


@pytest.mark.parametrize("name, cycles", [("maze-hints", 0.0), ("maze-cycles-hints", 0.3)])
def test_shipped_hinted_maze_filters_settle_and_solve(name, cycles):
    """The shipped hinted filters (k = 2 dead-end filling; k = 17 Lee's wave, trained
    on p = 0.1, here on p = 0.3) settle early on every maze and answer right (any
    shortest path with cycles). Test-time halting for a DiscreteFilter compares
    symbols (net.held): its float state carries the straight-through estimator's
    rounding noise, which kept some settled runs "changing" to the budget."""
    from turing_rcnn import AlgorithmLearner, pretrained

    model = AlgorithmLearner.load(pretrained.resolve(name, "filter"), progress=False)
    assert model.net_.parameter_count < 10**4 and model.config_.hints
    task = Maze(cycles=cycles)
    x, y = task.sample(30, 15, np.random.default_rng(2))
    pred, used = model.run_until_settled(x)
    assert used.max() < model.iterations_for(x)
    assert np.array_equal(pred, model.predict(x)) and task.correct(x, y, pred).all()
    state = model.net_.initial_state(x)
    assert torch.equal(model.net_.held(state), torch.zeros(30, *x.shape[2:], dtype=torch.long))

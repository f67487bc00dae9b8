"""Change-driven evaluation (changes.py) == the dense convolution, bit for bit: forward
values on random compiled programs (batches with shared and differing grids), the
gradient Algorithm 1 uses, W after Algorithm 1 and every prediction of every learner;
and the memo only ever returns what the patch net computed for that very patch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compile import random_cellular, random_machine, random_tape

from turing_rcnn import RCNN, RCNNConfig, RCNNLearner, augment, changes
from turing_rcnn.algorithm1 import compiled_frame, lemma1_memory
from turing_rcnn.compile import compile_program


def _batch(rng, k: int, shape) -> np.ndarray:
    """Three grids: two equal and one different, so that some cells are uniform across
    the batch and some are not."""
    a, b = rng.integers(0, k, size=(2, *shape))
    mixed = a.copy()
    mask = rng.random(shape) < 0.3
    mixed[mask] = b[mask]
    return np.stack([a, a, mixed])


@settings(max_examples=300)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_programs_by_changes_equal_dense(seed):
    rng = np.random.default_rng(seed)
    program = random_cellular(rng)
    compiled = compile_program(program)
    grids = _batch(rng, len(program.symbols), rng.integers(1, 9, size=2))
    layers = int(rng.integers(0, 12))
    net = compiled.network(layers=max(layers, 1))
    x = compiled.encode(grids)
    dense = net.run_body(x, layers, evaluation="dense")
    assert torch.equal(net.run_body(x, layers, evaluation="changes"), dense)


@settings(max_examples=100)
@given(seed=st.integers(0, 2**32 - 1), two_d=st.booleans())
def test_turing_machines_by_changes_equal_the_reference(seed, two_d):
    rng = np.random.default_rng(seed)
    machine = random_machine(rng, two_d)
    tape = random_tape(rng, machine, two_d)
    steps = int(rng.integers(0, 40))
    start, end = machine.run(tape, steps=0), machine.run(tape, steps=steps)
    r0, r1, c0, c1 = end.visited
    box = (r0 - 1, r1 + 1, c0 - 1, c1 + 1)
    compiled = compile_program(machine.to_cellular())
    net = compiled.network(layers=max(steps, 1))
    out = net.run_body(compiled.encode(machine.encode(start, box)), steps, evaluation="changes")
    assert np.array_equal(compiled.decode(out[0, 0]), machine.encode(end, box))


@settings(max_examples=12, deadline=None)
@given(
    name=st.sampled_from(["first-label", "last-label", "majority", "gauss"]),
    d=st.integers(1, 5),
    m=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_learners_by_changes_equal_dense(name, d, m, seed):
    """Algorithm 1 (forward and backward) and every prediction, == the dense path."""
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], size=(m, d))
    y = rng.choice([-1, 1], size=m)
    X_test = rng.choice([-1, 1], size=(20, d))
    dense = RCNNLearner(name, evaluation="dense").fit(X, y)
    fast = RCNNLearner(name, evaluation="changes", check=2).fit(X, y)
    assert dense.memorisation_exact_ and fast.memorisation_exact_
    assert torch.equal(dense.net_.memory, fast.net_.memory)
    assert np.array_equal(dense.decision_function(X_test), fast.decision_function(X_test))


@pytest.mark.parametrize("name", ["last-label", "gauss"])
def test_the_gradient_algorithm1_uses_is_the_dense_one(name):
    """d out / d W halfway through memorisation (rows 0..i-1 written): == dense, and
    exactly 1 on row i (Lemma 1), for every i."""
    rng = np.random.default_rng(0)
    d, m = 4, 5
    X, y = rng.choice([-1, 1], size=(m, d)), rng.choice([-1, 1], size=m)
    compiled = compiled_frame(name)
    layers = 3 + m + d + 8
    for i in range(m + 1):
        z = augment(torch.as_tensor(rng.choice([-1.0, 1.0], size=(1, d)), dtype=torch.float32))
        grads = []
        for evaluation in ("dense", "changes"):
            net = compiled.network(layers=layers, d=d, m=m, work_columns=1)
            with torch.no_grad():
                net.memory[0] = lemma1_memory(X, y, i, torch.float32)
            net(z, evaluation=evaluation).sum().backward()
            grads.append(net.memory.grad[0].clone())
        lemma = torch.zeros(m + 1, d + 1)
        lemma[i] = z[0]  # d out / d grid is 1 on the first empty row, 0 elsewhere
        assert torch.equal(grads[0], lemma) and torch.equal(grads[1], lemma)


def test_the_memo_holds_only_what_the_patch_net_computed(monkeypatch):
    """A counting patch net: every patch goes through it once, and every memo entry
    is exactly what it computed for that patch."""
    seen: dict[tuple, float] = {}
    calls = {"patches": 0}
    original = changes.patch_net_on_patches

    def counting(layers, patches, jacobian):
        out, jac = original(layers, patches, jacobian)
        calls["patches"] += len(patches)
        for row, value in zip(patches.tolist(), out.tolist(), strict=True):
            assert jacobian or tuple(row) not in seen  # never twice for an output
            seen[tuple(row)] = value
        return out, jac

    monkeypatch.setattr(changes, "patch_net_on_patches", counting)
    rng = np.random.default_rng(3)
    X, y = rng.choice([-1, 1], size=(9, 6)), rng.choice([-1, 1], size=9)
    model = RCNNLearner("gauss").fit(X, y)
    model.predict(rng.choice([-1, 1], size=(64, 6)))
    memo = model.net_.memo(0)
    keys, values = memo.entries()
    for row, index in zip(memo.patches(keys).tolist(), values.tolist(), strict=True):
        assert seen[tuple(row)] == memo.table.values[index].item()
    assert len(keys) == len(torch.unique(keys)) <= calls["patches"] == memo.evaluated


def test_check_catches_a_corrupted_memo():
    rng = np.random.default_rng(1)
    X, y = rng.choice([-1, 1], size=(5, 4)), rng.choice([-1, 1], size=5)
    model = RCNNLearner("last-label", check=1).fit(X, y)
    model.predict(X)  # checked at one layer; the memo now holds every patch it meets
    memo = model.net_.memo(0)
    for store in memo.stores:  # every entry wrong
        store.values = (store.values + 1) % len(memo.table.values)
    model.check = model.layers_  # every layer: the first meets the corrupted entries
    with pytest.raises(RuntimeError, match="layer 1: change-driven evaluation != dense"):
        model.predict(X)


def test_changes_refuses_what_it_cannot_do_exactly():
    torch.manual_seed(0)
    net = RCNN(RCNNConfig(d=8, m=10, layers=3, hidden=(4,), head_hidden=2))
    z = augment(torch.randn(4, 8))
    with pytest.raises(RuntimeError, match="freeze it first"):
        net(z, evaluation="changes")
    net.freeze_shared()
    with torch.no_grad():
        net.memory.normal_()
        with pytest.raises(ValueError, match="more than 128 distinct cell values"):
            net(z, evaluation="changes")
    with pytest.raises(ValueError, match="evaluation must be one of"):
        net(z, evaluation="sparse")
    compiled = compiled_frame("last-label")
    net = compiled.network(layers=4, d=3, m=2, work_columns=1)
    with pytest.raises(ValueError, match="one input per pass"):
        net(augment(torch.ones(2, 3)), evaluation="changes").sum().backward()


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_run_layers_stops_only_at_a_fixed_point(seed):
    """model.run_layers skips the layers after a block that ends at a fixed point; its
    grid == the dense convolution's after every layer count, on random programs (most
    settle) and on a period-2 flip, whose blocks of even length end where they began."""
    from turing_rcnn.model import run_layers
    from turing_rcnn.programs.cellular import CellularProgram, Guard

    rng = np.random.default_rng(seed)
    flip = CellularProgram(["#", "a", "b"], "#", [Guard({"C": "a"}, "b"), Guard({"C": "b"}, "a")])
    program = flip if seed % 4 == 0 else random_cellular(rng)
    compiled = compile_program(program)
    grids = _batch(rng, len(program.symbols), rng.integers(1, 6, size=2))
    layers, block = int(rng.integers(0, 40)), int(rng.integers(1, 5)) * 2
    net = compiled.network(layers=max(layers, 1))
    x = compiled.encode(grids)
    dense = net.run_body(x, layers, evaluation="dense")
    out, moved = run_layers(net, x, layers, block=block)
    assert torch.equal(out, dense)
    if moved < layers:  # the grid after `moved` layers is already the fixed point
        assert torch.equal(net.run_body(x, moved, evaluation="dense"), dense)
        assert torch.equal(net.run_body(dense, 1, evaluation="dense"), dense)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_settle_runs_each_grid_as_alone(seed):
    """CompiledProgram.settle stacks the grids into one with border rows between them:
    each grid's cells == its own dense run, and the layers it reports as changing are
    all there was: the dense grid after them is the final one and a fixed point."""
    rng = np.random.default_rng(seed)
    program = random_cellular(rng)
    while seed % 2 and not program.keeps_border():  # half the cases: stacked in one grid
        program = random_cellular(rng)
    compiled = compile_program(program)
    grids = _batch(rng, len(program.symbols), rng.integers(1, 7, size=2))
    budget = int(rng.integers(0, 30))
    if program.keeps_border() and not program.shifts:  # a border cell stays the border
        border = grids == program.index[program.border]
        assert (program.step_many(grids)[border] == program.index[program.border]).all()
    try:
        [compiled.run(grid, budget) for grid in grids]
    except ValueError:  # a Shift left the alphabet: settle says so too
        with pytest.raises(ValueError, match="not a code|distinct cell values"):
            compiled.settle(grids, budget)
        return
    final, moved = compiled.settle(grids, budget)
    assert 0 <= moved <= budget
    for grid, out in zip(grids, final, strict=True):
        assert np.array_equal(out, compiled.run(grid, budget))
        if moved < budget:
            assert np.array_equal(compiled.run(grid, moved), out)
            assert np.array_equal(compiled.run(out, 1), out)

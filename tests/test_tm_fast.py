"""The one-grid fast path (changes.OneGrid, model.OneGridRun: plain Python, a dict memo
of the patch net's outputs) == the dense path (run_body, evaluation='dense', layer by
layer) on random cellular programs and random 1-D and 2-D Turing machines, with grids
that grow past their first allocation; run-tm's --check, its resumable --state (a
killed run resumes to the same tape) and the refusal of a damaged or foreign state; the
fast reference simulator == the general one."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import refused
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compile import random_cellular, random_machine, random_tape

from turing_rcnn import changes
from turing_rcnn.app.cli import main
from turing_rcnn.compile import compile_program
from turing_rcnn.model import OneGridRun
from turing_rcnn.programs import TuringMachine


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small tensors: one torch thread (two fight a busy machine for a few flops)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


BB4 = "1RB1LB_1LA0LC_1RZ1LD_1RD0RA"  # 107 steps, 13 ones
BB5 = "1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA"


def _dense_along(net, run: OneGridRun, x: torch.Tensor, layers: int) -> None:
    """Advance `run` one layer at a time and compare, after every layer, with the dense
    body on a grid of the run's final size (x placed where the first grid sits in it,
    padding around): inside the fast grid ==, outside it padding."""
    final = OneGridRun(net, x, grow_rows=run.grid.grow_rows, grow_cols=run.grid.grow_cols)
    final.advance(layers)
    (R, C), (r0, c0) = (final.grid.rows, final.grid.cols), final.grid.origin
    pad = net.config.padding
    big = torch.full((1, 1, R, C), pad, dtype=x.dtype)
    big[0, 0, r0 : r0 + x.shape[0], c0 : c0 + x.shape[1]] = x
    for layer in range(layers + 1):
        if layer:
            big = net.run_body(big, 1, evaluation="dense")
            run.advance(1)
        here = run.values()
        (r, c), (h, w) = run.grid.origin, here.shape
        top, left = r0 - r, c0 - c  # the fast grid's place in the final one
        want = torch.full_like(big[0, 0], pad)
        want[top : top + h, left : left + w] = big[0, 0, top : top + h, left : left + w]
        assert torch.equal(big[0, 0], want), f"layer {layer}: the dense grid reached past"
        assert torch.equal(here, big[0, 0, top : top + h, left : left + w]), f"layer {layer}"
    assert torch.equal(run.values(), final.values())


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1))
def test_one_grid_equals_dense_on_random_programs(seed):
    rng = np.random.default_rng(seed)
    program = random_cellular(rng)
    compiled = compile_program(program)
    net = compiled.network()
    grid = rng.integers(0, len(program.symbols), size=rng.integers(1, 7, size=2))
    x = compiled.encode(grid)[0, 0]
    layers = int(rng.integers(0, 16))
    grow = bool(rng.integers(2))
    blank = torch.full((1, 1, 3, 3), net.config.padding, dtype=x.dtype)
    stays = torch.equal(net.run_body(blank, 1, evaluation="dense"), blank)
    if grow and not stays:  # a patch of padding alone would change
        with pytest.raises(ValueError, match="cannot grow"):
            OneGridRun(net, x, grow_rows=True, grow_cols=True)
        grow = False
    run = OneGridRun(net, x, grow_rows=grow, grow_cols=grow)
    _dense_along(net, run, x, layers)
    if not grow:  # a fixed grid: == run_body on it, both evaluations
        dense = net.run_body(x[None, None], layers, evaluation="dense")
        assert torch.equal(run.values(), dense[0, 0])
        assert torch.equal(net.run_body(x[None, None], layers, evaluation="changes"), dense)


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), two_d=st.booleans())
def test_one_grid_runs_turing_machines_as_dense_and_reference(seed, two_d):
    """The first grid is the initial tape with a margin of one: the head walks off it
    and the grid grows (columns; rows too in 2-D)."""
    rng = np.random.default_rng(seed)
    machine = random_machine(rng, two_d)
    tape = random_tape(rng, machine, two_d)
    steps = int(rng.integers(0, 60))
    start, end = machine.run(tape, steps=0), machine.run(tape, steps=steps)
    r0, r1, c0, c1 = start.visited
    box = (r0 - 1, r1 + 1, c0 - 1, c1 + 1) if two_d else (0, 0, c0 - 1, c1 + 1)
    compiled = compile_program(machine.to_cellular())
    net = compiled.network()
    x = compiled.encode(machine.encode(start, box))[0, 0]
    run = OneGridRun(net, x, grow_rows=two_d, grow_cols=True)
    _dense_along(net, run, x, steps)
    (dr, dc), g = run.grid.origin, run.grid
    now = (box[0] - dr, box[0] - dr + g.rows - 1, box[2] - dc, box[2] - dc + g.cols - 1)
    assert np.array_equal(compiled.decode(run.values()), machine.encode(end, now))


def test_busy_beavers_grow_their_tape_and_match_dense_and_reference():
    """BB(4) to its halt from a 3-cell grid, every layer == dense; BB(5)'s first 30 000
    layers == the reference, the grid grown many times."""
    for name, steps in ((BB4, 107), (BB5, 30_000)):
        machine = TuringMachine.parse(name)
        compiled = compile_program(machine.to_cellular())
        net = compiled.network()
        x = compiled.encode(machine.encode(machine.run(steps=0), (0, 0, -1, 1)))[0, 0]
        run = OneGridRun(net, x, grow_cols=True)
        if steps < 1000:
            _dense_along(net, run, x, steps)
        else:
            run.run_to(steps, checks=range(0, steps, 997))
            assert run.checked == len(range(0, steps, 997))
        ref = machine.run(steps=steps)
        box = (0, 0, -1 - run.grid.origin[1], run.grid.cols - 2 - run.grid.origin[1])
        assert run.grid.cols > 3 + 2 * 16  # grown more than once
        assert np.array_equal(compiled.decode(run.values()), machine.encode(ref, box))
        assert run.moved == ref.steps and ref.halted == (name == BB4)


def test_the_dict_memo_holds_only_what_the_patch_net_computed(monkeypatch):
    seen = {}
    original = changes.patch_net_on_patches

    def counting(layers, patches, jacobian):
        out, jac = original(layers, patches, jacobian)
        for row, value in zip(patches.tolist(), out.tolist(), strict=True):
            assert tuple(row) not in seen  # each patch through the patch net once
            seen[tuple(row)] = value
        return out, jac

    monkeypatch.setattr(changes, "patch_net_on_patches", counting)
    machine = TuringMachine.parse(BB4)
    compiled = compile_program(machine.to_cellular())
    net = compiled.network()
    x = compiled.encode(machine.encode(machine.run(steps=0), (0, 0, -1, 1)))[0, 0]
    run = OneGridRun(net, x, grow_cols=True)
    run.advance(107)
    values = run.memo.table.values
    assert run.memo.cells and len(run.memo.cells) == len(seen) == run.memo.evaluated
    for patch, index in run.memo.cells.items():
        assert seen[tuple(values[list(patch)].tolist())] == values[index].item()


def test_check_layer_catches_a_corrupted_memo():
    machine = TuringMachine.parse(BB4)
    compiled = compile_program(machine.to_cellular())
    net = compiled.network()
    x = compiled.encode(machine.encode(machine.run(steps=0), (0, 0, -1, 1)))[0, 0]
    run = OneGridRun(net, x, grow_cols=True)
    run.run_to(50, checks=[0, 10, 49])
    assert run.checked == 3
    k = len(run.memo.table.values)
    for patch in run.memo.cells:  # every entry wrong
        run.memo.cells[patch] = (run.memo.cells[patch] + 1) % k
    with pytest.raises(RuntimeError, match="layer 51: the change-driven layer != the dense"):
        run.check_layer()


def test_the_fast_reference_equals_the_general_one():
    """The 1-D bytearray simulator == the dict one (steps, halting, state, head, tape,
    visited box) on random machines, tapes and step counts, halting ones included."""
    for seed in range(300):
        rng = np.random.default_rng(seed)
        machine = random_machine(rng, False)
        tape = random_tape(rng, machine, False)
        limit = int(rng.integers(0, 400))
        fast = machine.run(tape, steps=limit if seed % 2 else None, max_steps=limit)
        slow = machine._run_cells(machine._initial_tape(tape), limit, None)
        assert (fast.steps, fast.halted, fast.state, fast.head) == (
            slow.steps,
            slow.halted,
            slow.state,
            slow.head,
        )
        assert fast.tape == slow.tape and fast.visited == slow.visited


def test_run_tm_check_passes_and_reports(capsys):
    assert main(["run-tm", BB4, "--check", "25", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checked_layers"] == 25
    assert report["network_matches_reference"] is True
    assert report["steps"] == report["layers"] == 107 and report["ones"] == 13


@pytest.mark.slow  # in .ci/run (make test stays under 5 min)
def test_a_killed_run_resumes_from_its_state_to_the_same_tape(tmp_path, capsys):
    """SIGKILL after the first save of --state; the same command resumes from the saved
    layer (not 0) and ends with the tape of an uninterrupted run."""
    state = tmp_path / "bb5.json"
    argv = ["run-tm", BB5, "--steps", "1000000", "--json", "--no-progress"]
    more = ["--state", str(state), "--save-every", "0.1"]
    cmd = [sys.executable, "-m", "turing_rcnn.app.cli", *argv, *more]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    saved = json.loads(state.read_text())["layers"]
    assert 0 < saved < 10**6, saved
    assert main([*argv, *more]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["resumed_from_layer"] == saved
    assert main(argv) == 0
    fresh = json.loads(capsys.readouterr().out)
    for key in ("tape", "ones", "head", "state", "grid", "network_matches_reference"):
        assert resumed[key] == fresh[key], key
    assert fresh["network_matches_reference"] is True
    assert json.loads(state.read_text())["layers"] == 10**6  # the end is saved too


def test_a_damaged_or_foreign_state_is_refused(tmp_path, capsys):
    state = tmp_path / "s.json"
    assert main(["run-tm", BB4, "--steps", "60", "--state", str(state), "--no-progress"]) == 0
    capsys.readouterr()
    blob = json.loads(state.read_text())
    assert blob["layers"] == 60 and blob["sha256"]
    damaged = tmp_path / "damaged.json"
    damaged.write_text(state.read_text().replace('"layers":60', '"layers":59'))
    cases = [
        (["run-tm", BB4, "--state", "{tmp}/damaged.json"], "content hash does not match"),
        (["run-tm", BB5, "--state", "{tmp}/s.json"], f"the state of machine '{BB4}'"),
        (["run-tm", BB4, "--tape", "1", "--state", "{tmp}/s.json"], "the state of tape ''"),
        (["run-tm", BB4, "--steps", "50", "--state", "{tmp}/s.json"], "past the 50 layers"),
        (["run-tm", BB4, "--state", "{tmp}"], "is a folder, not a regular file"),
        (["run-tm", BB4, "--state", "{tmp}/no/s.json"], "no such folder"),
        (["run-tm", BB4, "--state", ""], "--state is empty"),
    ]
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    cases.append((["run-tm", BB4, "--state", "{tmp}/other.json"], "is not a run-tm state file"))
    for argv, fragment in cases:
        refused(argv, fragment, tmp_path, capsys)

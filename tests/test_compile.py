"""Compiled programs inside the RCNN == the reference simulators, bit for bit."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from turing_rcnn.compile import compile_program
from turing_rcnn.programs import COMPASS, CellularProgram, Guard, Shift, Transition, TuringMachine
from turing_rcnn.programs.cellular import _clash, _clash_pairwise

DTYPES = [torch.float32, torch.float64]


def random_cellular(rng: np.random.Generator) -> CellularProgram:
    """Up to 16 symbols, random pairwise-exclusive guards, sometimes shifts."""
    k = int(rng.integers(2, 17))
    symbols = [f"s{i}" for i in range(k)]
    rules: list = []
    for _ in range(int(rng.integers(1, 12))):
        positions = rng.choice(list(COMPASS), size=int(rng.integers(1, 4)), replace=False)
        when = {
            p: [symbols[i] for i in rng.choice(k, size=int(rng.integers(1, k + 1)), replace=False)]
            for p in positions
        }
        candidate = Guard(when, then=symbols[int(rng.integers(k))])
        try:  # keep the guard only if it is exclusive with those kept so far
            CellularProgram(symbols, symbols[0], rules + [candidate])
            rules.append(candidate)
        except ValueError:
            pass
    if rng.random() < 0.3:
        p = rng.choice(list(COMPASS))
        rules.append(Shift({p: [symbols[int(rng.integers(k))]]}, by=int(rng.integers(-2, 3))))
    border = symbols[int(rng.integers(k))]
    return CellularProgram(symbols, border, rules, readout={symbols[-1]: 1.0})


@settings(max_examples=300)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_cellular_programs_match_reference(seed):
    check_cellular(seed)


@pytest.mark.slow
@settings(max_examples=3000)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_cellular_programs_match_reference_sweep(seed):
    check_cellular(seed)


def check_cellular(seed: int) -> None:
    rng = np.random.default_rng(seed)
    program = random_cellular(rng)
    compiled = compile_program(program)
    grid = rng.integers(0, len(program.symbols), size=rng.integers(1, 10, size=2))
    layers = int(rng.integers(0, 12))
    try:
        want = program.run(grid, layers)
    except ValueError as err:  # a random shift left the alphabet: nothing to compare
        assert "outside the alphabet" in str(err)
        return
    for dtype in DTYPES:
        got = compiled.run(grid, layers, dtype)
        assert np.array_equal(got, want)
        net = compiled.network(layers=max(layers, 1), dtype=dtype)
        total = net.readout(net.run_body(compiled.encode(want, dtype), layers=0))
        assert total.item() == program.read(want)


def random_machine(rng: np.random.Generator, two_d: bool) -> TuringMachine:
    s, q = int(rng.integers(1, 7)), int(rng.integers(2, 5))
    moves = "LRUD" if two_d else "LR"
    states = [chr(65 + i) for i in range(s)] + ["Z"]
    table = []
    for _ in range(s):
        row = []
        for _ in range(q):
            if rng.random() < 0.08:
                row.append(None)
            else:
                nxt = states[-1] if rng.random() < 0.1 else states[int(rng.integers(s))]
                row.append(
                    Transition(int(rng.integers(q)), moves[int(rng.integers(len(moves)))], nxt)
                )
        table.append(row)
    return TuringMachine(table)


def random_tape(rng, machine: TuringMachine, two_d: bool) -> dict:
    q = machine.n_symbols
    rows = range(-2, 3) if two_d else [0]
    return {(r, c): int(rng.integers(q)) for r in rows for c in range(-3, 4) if rng.random() < 0.5}


@settings(max_examples=200)
@given(seed=st.integers(0, 2**32 - 1), two_d=st.booleans())
def test_random_turing_machines_match_reference(seed, two_d):
    check_machine(seed, two_d)


@pytest.mark.slow
@settings(max_examples=2000)
@given(seed=st.integers(0, 2**32 - 1), two_d=st.booleans())
def test_random_turing_machines_match_reference_sweep(seed, two_d):
    check_machine(seed, two_d)


def check_machine(seed: int, two_d: bool) -> None:
    rng = np.random.default_rng(seed)
    machine = random_machine(rng, two_d)
    tape = random_tape(rng, machine, two_d)
    steps = int(rng.integers(0, 40))
    start, end = machine.run(tape, steps=0), machine.run(tape, steps=steps)
    r0, r1, c0, c1 = end.visited
    box = (r0 - 1, r1 + 1, c0 - 1, c1 + 1)
    program = machine.to_cellular()
    compiled = compile_program(program)
    want = machine.encode(end, box)
    assert np.array_equal(program.run(machine.encode(start, box), steps), want)
    for dtype in DTYPES:
        got = compiled.run(machine.encode(start, box), steps, dtype)
        assert np.array_equal(got, want)
        decoded = machine.decode(got, box)
        assert (decoded.state, decoded.head, decoded.tape) == (end.state, end.head, end.tape)
        assert decoded.halted == (end.state == "Z")


@pytest.mark.parametrize(
    "text, steps, ones",
    [
        ("1RB1LB_1LA1RZ", 6, 4),
        ("1RB1RZ_0RC1RB_1LC1LA", 14, 6),
        ("1RB1RZ_1LB0RC_1LC1LA", 21, 5),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_busy_beavers_computed_by_the_network(text, steps, ones, dtype):
    machine = TuringMachine.parse(text)
    ref = machine.run()
    assert (ref.steps, ref.halted, ref.ones) == (steps, True, ones)
    r0, r1, c0, c1 = ref.visited
    box = (r0, r1, c0 - 1, c1 + 1)
    compiled = compile_program(machine.to_cellular())
    start = machine.encode(machine.run(steps=0), box)
    net = compiled.network(layers=steps, dtype=dtype)
    out = net.run_body(compiled.encode(start, dtype))
    final = machine.decode(compiled.decode(out[0, 0]), box)
    assert final.halted and final.tape == ref.tape and final.head == ref.head
    assert net.readout(out).item() == ones  # the head counts the ones
    # One step fewer has not halted; more layers change nothing (a fixed point).
    before = compiled.run(start, steps - 1, dtype)
    assert not machine.decode(before, box).halted
    assert np.array_equal(compiled.run(start, steps + 5, dtype), compiled.decode(out[0, 0]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_output_gradient_wrt_input_grid_is_exactly_zero(dtype):
    rng = np.random.default_rng(0)
    for seed in range(20):
        program = random_cellular(np.random.default_rng(seed))
        compiled = compile_program(program)
        grid = rng.integers(0, len(program.symbols), size=(6, 7))
        try:
            program.run(grid, 4)
        except ValueError:
            continue
        net = compiled.network(layers=4, dtype=dtype)
        x = compiled.encode(grid, dtype).requires_grad_(True)
        net.readout(net.run_body(x)).sum().backward()
        assert torch.equal(x.grad, torch.zeros_like(x))


def counter_machine(s: int) -> TuringMachine:
    """A family: s states, 2 symbols, each state passes to the next, the last halts."""
    states = [chr(65 + i) for i in range(1, s)] + ["Z"]
    return TuringMachine(
        [[Transition(1, "R", states[i]), Transition(0, "L", states[i])] for i in range(s)]
    )


def test_compiled_weights_lie_in_U_and_sizes_grow_linearly():
    rows = []
    for s in range(1, 17):
        compiled = compile_program(counter_machine(s).to_cellular())
        U = set(compiled.weight_values.tolist())
        for pair in compiled.weights.body + compiled.weights.head:
            for array in pair:
                assert set(array.ravel().tolist()) <= U
        rows.append((s, compiled.parameter_count, len(U)))
    print("\n states  parameters  |U|")
    for s, params, u in rows:
        print(f"{s:7d} {params:11d} {u:4d}")
    params, values = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    # Linear growth: constant increments from state to state (no s^2 term).
    assert np.ptp(np.diff(params)) <= np.diff(params).min()
    assert np.ptp(np.diff(values)) <= max(np.diff(values).min(), 2)
    assert params[-1] <= 16 * params[0] and values[-1] <= 16 * values[0]


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "malformed machine"),
        ("1RB1L", "malformed machine"),
        ("1RB1XB_1LA1RZ", "malformed transition"),
        ("1RC1LB_1LA1RZ", "next state 'C'"),
        ("1RB1LB_1LA", "1 transitions, state A has 2"),
        ("2RB1LB_1LA1RZ", "writes symbol 2"),
    ],
)
def test_malformed_machines_are_rejected(text, match):
    with pytest.raises(ValueError, match=match):
        TuringMachine.parse(text)


def test_format_round_trip_and_halting_letters():
    for text in ["1RB1LB_1LA1RZ", "1RB---_0LA1UZ", "1DB1LB_1LA1RZ"]:
        assert str(TuringMachine.parse(text)) == text
    assert str(TuringMachine.parse("1RB1LB_1LA1RH")) == "1RB1LB_1LA1RZ"
    assert TuringMachine.parse("1DB1LB_1LA1RZ").is_2d


def test_program_errors_are_clear():
    with pytest.raises(ValueError, match="unknown symbol 'x'"):
        CellularProgram(["a", "b"], "a", [Guard({"C": "x"}, then="a")])
    with pytest.raises(ValueError, match="unknown position"):
        Guard({"Q": "a"}, then="b")
    with pytest.raises(ValueError, match="outside the 3x3"):
        Guard({(2, 0): "a"}, then="b")
    with pytest.raises(ValueError, match="overlapping guards"):
        CellularProgram(["a", "b"], "a", [Guard({"C": "a"}, "b"), Guard({"E": "a"}, "b")])
    with pytest.raises(ValueError, match="tape symbol '7'"):
        TuringMachine.parse("1RB1LB_1LA1RZ").run("17")
    with pytest.raises(ValueError, match="unknown symbol"):
        CellularProgram(["a", "b"], "a").encode([["a", "c"]])
    for bad in (-1, 2):  # not an index of the 2-symbol alphabet
        with pytest.raises(ValueError, match=r"alphabet indices 0\.\.1"):
            CellularProgram(["a", "b"], "a", [Guard({"C": "a"}, "b")]).step(np.array([[0, bad]]))


def test_the_linear_clash_check_agrees_with_the_pairwise_one():
    """_clash (linear in the entries, for many guards; positions every guard names with
    the same set, a learned rule's unread ones, left out) finds a clash exactly when
    the pair-by-pair check does, on random guards."""
    rng, symbols = np.random.default_rng(0), list("abcd")
    for _ in range(300):
        guards = []
        for _ in range(int(rng.integers(2, 6))):
            when = {p: list(rng.choice(symbols, rng.integers(1, 3), replace=False)) for p in "CN"}
            if rng.random() < 0.5:
                when["W"] = list(rng.choice(symbols, rng.integers(1, 4), replace=False))
            when["S"] = symbols  # alike in every guard
            guards.append(Guard(when, "a"))
        assert (_clash(guards, "guards") is None) == (_clash_pairwise(guards) is None)


def test_too_large_for_float32_is_rejected():
    program = CellularProgram(["0", "1"], "0", [Guard({"C": "1"}, then="0")], {"1": 2.0**24})
    with pytest.raises(ValueError, match="too large for exact torch.float32"):
        compile_program(program)
    compiled = compile_program(program, dtype=torch.float64)
    assert compiled.exact_in(torch.float64) and not compiled.exact_in(torch.float32)
    with pytest.raises(ValueError, match="mantissa bits"):
        compiled.network(dtype=torch.float32)


def test_decode_rejects_values_that_are_not_codes():
    compiled = compile_program(CellularProgram(["a", "b"], "a", [Guard({"C": "a"}, then="b")]))
    with pytest.raises(ValueError, match="not a code"):
        compiled.decode(torch.tensor([[0.0, 0.5]]))

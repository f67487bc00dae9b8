"""SGD learns the learner (trainable/meta/): the frame's schedule, the table simulator,
merging, learned learners run by Algorithm 1 in the compiled Theorem 1 frame."""

import itertools
import json

import numpy as np
import pytest
import torch

from turing_rcnn import pretrained
from turing_rcnn.algorithm1 import RCNNLearner
from turing_rcnn.app.cli import main
from turing_rcnn.frame import build_frame
from turing_rcnn.programs import COMPASS
from turing_rcnn.programs.cellular import CellularProgram, Guard
from turing_rcnn.programs.learning import LAYOUT, gauss, gauss_reference, majority_wave
from turing_rcnn.tasks import from_bits
from turing_rcnn.trainable.config import META_HINTS, MetaConfig
from turing_rcnn.trainable.extract import free_positions, merge
from turing_rcnn.trainable.filter import hint_states
from turing_rcnn.trainable.meta import (
    FAMILIES,
    INPUTS,
    MetaLearner,
    MetaRule,
    Table,
    active_layers,
    every_label_pattern,
    get_family,
    hint_trace,
    layer_states,
    layers_for,
    layout_codes,
    nearest_neighbour_reference,
    raw_symbols,
    read_rule,
    reveal_layers,
    run_meta_rule,
    sample,
    verify,
)
from turing_rcnn.trainable.meta.layout import _bare_learner

SHIPPED = ["first-label", "last-label", "majority"]


def shipped(name: str) -> MetaRule:
    return MetaRule.load(pretrained.resolve(name, "learner"))


@pytest.mark.parametrize("seed", range(6))
def test_the_frame_decodes_the_layout_on_the_schedule(seed):
    """Run the frame (reference simulator) from Algorithm 1's memory: every cell holds
    exactly its layout symbol from its reveal layer on, whatever the data."""
    rng = np.random.default_rng(seed)
    m, d = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    frame = build_frame(_bare_learner(1))
    X, y, x, _ = sample(FAMILIES["majority"], 1, m, d, rng)
    grid = frame.encode(raw_symbols(X[0], y[0], x[0]))
    want = np.array(INPUTS)[layout_codes(X, y, x)[0]]
    reveal = reveal_layers(m, d)
    for layer in range(m + d + 6):
        names = np.array(frame.symbols)[grid]
        shown = reveal <= layer
        assert (names[shown] == want[shown]).all()
        assert not np.isin(names[~shown], LAYOUT).any()
        grid = frame.step(grid)


def random_table(rng, symbols: list[str], entries: int) -> CellularProgram:
    """Random entries at all 9 positions, 4 of them varying (so that some merge)."""
    positions = [(r, c) for r in (-1, 0, 1) for c in (-1, 0, 1)]
    fixed = [str(s) for s in rng.choice(symbols, 9)]
    rows = set()
    for _ in range(entries):
        row = list(fixed)
        for j in (1, 3, 4, 5):
            row[j] = str(rng.choice(symbols))
        rows.add(tuple(row))
    guards = [
        Guard(dict(zip(positions, row, strict=True)), str(rng.choice(symbols[1:3]))) for row in rows
    ]
    return CellularProgram(symbols, symbols[0], guards)


@pytest.mark.parametrize("seed", range(2))
def test_table_and_merged_guards_step_as_the_program(seed):
    """Table.step == CellularProgram.step; the merged guards fire exactly where the table's
    did (on random grids and on every table entry)."""
    rng = np.random.default_rng(seed)
    symbols = ["#", "a", "b", "c"]
    program = random_table(rng, symbols, 150)
    merged = CellularProgram(symbols, "#", [Guard(w, t) for w, t in merge(program.guards)])
    assert len(merged.guards) < len(program.guards)
    grids = rng.integers(0, 4, (20, 5, 6))
    fast = Table(program).step(grids)
    for grid, got in zip(grids, fast, strict=True):
        assert np.array_equal(got, program.step(grid))
        assert np.array_equal(merged.step(grid), program.step(grid))
    for g in program.guards:  # each entry as the centre of a 3x3 grid
        grid = np.array(
            [[program.index[next(iter(g.when[(r, c)]))] for c in (-1, 0, 1)] for r in (-1, 0, 1)]
        )
        assert merged.step(grid)[1, 1] == program.index[g.then]


def test_a_table_whose_every_position_is_free_still_steps():
    """A guard naming every symbol everywhere fires on every cell: its Table keeps one
    position as the key, and steps as the program does."""
    program = CellularProgram(["a", "b"], "a", [Guard({"C": ["a", "b"], "N": ["a", "b"]}, "b")])
    grid = np.array([[[0, 1], [1, 0]]])
    assert np.array_equal(Table(program).step(grid), program.step_many(grid))


def test_table_over_a_large_alphabet():
    """A learned learner may have hundreds of symbols (k = 79 states x 8 input codes):
    9 positions of 700 symbols overflow an int64 key; Table.step == CellularProgram.step
    there too, on grids made of its entries' neighbourhoods and on random ones."""
    rng = np.random.default_rng(7)
    symbols = ["#"] + [f"s{i}" for i in range(699)]
    program = random_table(rng, symbols, 300)
    table, grids = Table(program), rng.integers(0, 700, (10, 4, 5))
    for g in program.guards[:50]:  # an entry at a grid's (1, 1)
        grid = rng.integers(0, 700, (4, 5))
        for r, c in itertools.product((-1, 0, 1), repeat=2):
            grid[1 + r, 1 + c] = program.index[next(iter(g.when[(r, c)]))]
        grids = np.concatenate([grids, grid[None]])
    fast = table.step(grids)
    assert (fast[10:, 1, 1] != grids[10:, 1, 1]).any()  # entries fired
    for grid, got in zip(grids, fast, strict=True):
        assert np.array_equal(got, program.step(grid))


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("seed", range(3))
def test_schedule_simulator_equals_the_frame(name, seed):
    """run_meta_rule (the table on the frame's schedule) == the frame's reference simulator
    around the learned learner: the answer cell at layer L, == the reference learner."""
    rule, rng = shipped(name), np.random.default_rng(seed)
    learner, family = rule.learner(), get_family(name)
    frame = build_frame(learner)
    for _ in range(3):
        m, d = int(rng.integers(1, 7)), int(rng.integers(1, 4))
        X, y, x, want = sample(family, 1, m, d, rng)
        L = layers_for(family, m, d)
        grid = frame.run(frame.encode(raw_symbols(X[0], y[0], x[0])), L)
        answer = learner.answers[frame.symbols[grid[m, d]]]
        assert answer == run_meta_rule(rule, X, y, x, [L])[0, 0] == want[0]


def test_layer_states_steps_on_the_schedule():
    """layer_states takes exactly `layers` steps, one per next state asked for, and a
    cell takes the step's value only from its active layer on."""
    steps = []

    def step(grid):
        steps.append(grid)
        return grid + 1

    states = layer_states(step, np.zeros((1, 1, 2), dtype=int), np.array([[0, 2]]), 3)
    assert [s[0, 0].tolist() for _, s in states] == [[0, 0], [1, 0], [2, 0], [3, 1]]
    assert len(steps) == 3


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("seed", range(2))
def test_learned_learners_run_by_algorithm1_in_the_frame(name, seed):
    """The shipped learned learners inside the compiled Theorem 1 frame: memorisation
    exact, predictions == the reference learner on every test point."""
    rule, rng = shipped(name), np.random.default_rng(seed)
    model = RCNNLearner(rule.learner())
    for m, d in ((1, 1), (5, 3), (9, 2)):
        X, y, _, _ = sample(get_family(name), 1, m, d, rng)
        model.fit(X[0], y[0])
        assert model.memorisation_exact_
        T = from_bits(np.array(list(itertools.product([False, True], repeat=d))))
        assert np.array_equal(model.predict(T), model.reference_predict(X[0], y[0], T))


@pytest.mark.slow  # about 17 s for the three: run by .ci/run
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_learners_verify(name):
    report = verify(shipped(name), large=((24, 4),), count=20, frame=((3, 2),), datasets=1)
    assert report["exact"] is True
    assert report["label_patterns"]["right"] == report["label_patterns"]["problems"] == 8190


@pytest.mark.slow  # about 4 s: run by .ci/run
def test_a_corrupted_guard_is_caught():
    """Flip the answer of the guard that writes the answer cell first when the label
    above it is L1 and nothing has arrived from the right (m = 1, in the exhaustive
    check): verify must fail."""
    blob = shipped("first-label").to_json()
    rule = blob["rule"]
    wrong = next(
        g
        for g in rule["guards"]
        if g["when"]["C"] == ["s0i7"] and "s0i4" in g["when"]["N"] and "s0i0" in g["when"]["E"]
    )
    positive = set(rule["readout"])
    flipped = [f"s{k}i7" for k in range(rule["states"])]
    wrong["then"] = next(s for s in flipped if (s in positive) != (wrong["then"] in positive))
    report = verify(MetaRule.from_json(blob), large=((16, 2),), count=10, frame=())
    assert report["exact"] is False
    assert report["exhaustive"]["right"] < report["exhaustive"]["problems"]


def test_meta_training_finds_last_label_and_its_rule_verifies():
    cfg = MetaConfig(learner="last-label", max_m=4, max_d=2, max_steps=400, eval_every=50)
    model = MetaLearner(cfg, progress=False).fit()
    assert model.summary()["val_accuracy"] == 1.0
    rule = read_rule(model, count=16)
    report = verify(rule, large=((32, 3),), count=20, frame=((4, 2),), datasets=1)
    assert report["exact"] is True
    assert report["guards"] <= 4  # the answer cell copies the label above


def test_a_north_west_learner_reads_three_cells_and_its_rule_verifies(tmp_path):
    """--neighbourhood north-west: the filter reads only C, N, W (randomising the other
    weights changes nothing), its rule names every symbol at the 6 positions it does not
    read (read off once per (C, N, W) entry; the table keys on 3), and it verifies,
    in the frame too."""
    cfg = MetaConfig(
        learner="last-label",
        max_m=4,
        max_d=2,
        max_steps=400,
        eval_every=50,
        neighbourhood="north-west",
    )
    model = MetaLearner(cfg, progress=False).fit()
    assert model.summary()["val_accuracy"] == 1.0
    X, y, x, _ = sample(model.family_, 50, 6, 2, np.random.default_rng(1))
    before = model.answers(X, y, x)
    with torch.no_grad():
        for conv in (model.net_.state_conv, model.net_.input_conv):
            conv.weight[..., model.net_.mask == 0] = 5.0
    assert np.array_equal(model.answers(X, y, x), before)
    rule = read_rule(model, count=16)
    assert free_positions(rule.rule.program) == {
        COMPASS[p] for p in ("NW", "NE", "E", "SW", "S", "SE")
    }
    assert len(Table(rule.rule.program).positions) == 3
    rule.save(str(tmp_path / "nw.json"))  # an unread position is written "*", read back whole
    assert '"*"' in (tmp_path / "nw.json").read_text()
    again = MetaRule.load(str(tmp_path / "nw.json"))
    assert again.rule.program.guards == rule.rule.program.guards
    report = verify(rule, large=((32, 3),), count=20, frame=((4, 2),), datasets=1, seed=5)
    assert report["exact"] is True
    with pytest.raises(ValueError, match="neighbourhood"):
        MetaConfig(neighbourhood="cross")


def test_nearest_neighbour_reference():
    X = np.array([[1, 1, 1], [-1, -1, 1], [-1, -1, -1]])
    y = np.array([1, -1, 1])
    T = np.array([[1, 1, -1], [-1, 1, 1], [-1, -1, 1]])
    assert nearest_neighbour_reference(X, y, T).tolist() == [1, 1, -1]  # ties: first


def test_bad_learner_files_and_options(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"family": "majority"}))
    with pytest.raises(ValueError, match="exactly 'family' and 'rule'"):
        MetaRule.load(str(bad))
    blob = shipped("last-label").to_json() | {"family": "sorting"}
    bad.write_text(json.dumps(blob))
    with pytest.raises(ValueError, match="unknown learner family"):
        MetaRule.load(str(bad))
    with pytest.raises(ValueError, match="max_m"):
        MetaConfig(max_m=0)
    assert main(["meta-train", "--load", "no-such-learner"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["meta-train", "--learner", "sorting"]) == 2
    assert main(["meta-train", "--load", str(bad)]) == 2
    assert "not a learned learner" in capsys.readouterr().err


def test_meta_train_command_verifies_a_shipped_learner(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["meta-train", "--load", "last-label", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exact"] is True and report["frame"]["exact"] == report["frame"]["datasets"]
    assert json.loads((out / "report.json").read_text())["exact"] is True
    assert main(["meta-train", "--load", "last-label", "--out", str(out)]) == 2  # no overwrite


def test_majority_wave_is_exact_on_the_schedule():
    """The hand-written O(m) majority (the hint): hint_trace (CellularProgram.step_many,
    problems side by side) == CellularProgram.step run one problem at a time on the
    frame's schedule; the answer at layer L == the majority on every label pattern to m = 8
    and on random problems to m = 33, and the same at every layer to 2 L."""
    family, rng = get_family("majority"), np.random.default_rng(0)
    program = majority_wave().program
    states, top = hint_states(program, INPUTS), 0
    problems = [every_label_pattern(m, 1 + m % 3, rng) for m in range(1, 9)]
    problems += [sample(family, 20, m, 1 + m % 4, rng)[:3] for m in (16, 33)]
    for i, (X, y, x) in enumerate(problems):
        m, d = X.shape[1:]
        L = layers_for(family, m, d)
        codes = layout_codes(X, y, x)
        trace = hint_trace(family, codes, 2 * L, frozen=(1, 2, 5, 6))
        if i % 4 == 0:  # one problem at a time, as the reference simulator runs it
            start = np.array([program.index[s] for s in INPUTS])
            grid, active = start[codes[0]], active_layers(m, d)
            for layer in range(2 * L):
                held = np.where(grid == start[codes[0]], 0, states[grid])  # 0: its start
                assert np.array_equal(held, trace[layer, 0])
                grid = np.where(active <= layer, program.step(grid), grid)
        plus, minus = states[program.index["+"]], states[program.index["-"]]
        answer = trace[L:, :, m, d]
        want = np.where((y == -1).sum(1) <= (y == 1).sum(1), plus, minus)
        assert np.array_equal(answer[0], want) and (answer == answer[0]).all()
        top = max(top, int(trace.max()))
    assert top + 1 == META_HINTS["majority"]  # the states a run needs


def test_gauss_hint_is_exact_on_the_schedule():
    """GF(2) elimination as the hint: started from the layout (the top-left cell from the
    learner's announced start), run with the frame's schedule, its answer cell reads
    gauss_reference's answer at layer L and at every layer to 2 L, on random problems
    to m = 12, d = 6; its states need META_HINTS["gauss"] symbols (a data bit cleared by
    elimination holds another cell's start symbol: a state of its own, not 0)."""
    family, rng, program = get_family("gauss"), np.random.default_rng(3), gauss().program
    states = hint_states(program, INPUTS + list(gauss().start.values()))
    sign = np.zeros(states.max() + 1, dtype=int)
    sign[[states[program.index["+"]], states[program.index["-"]]]] = [1, -1]
    top = 0
    for m, d in itertools.product((1, 2, 5, 9, 12), (1, 3, 6)):
        X, y, x, answers = sample(family, 24, m, d, rng)
        L = layers_for(family, m, d)
        trace = hint_trace(family, layout_codes(X, y, x), 2 * L)
        answer = sign[trace[L:, :, m, d]]
        assert np.array_equal(answer[0], answers) and (answer == answer[0]).all()
        want = [gauss_reference(X[i], y[i], x[i : i + 1])[0] for i in range(len(X))]
        assert np.array_equal(answers, want)
        top = max(top, int(trace.max()))
    assert top + 1 == META_HINTS["gauss"]


def test_majority_wave_in_the_frame():
    """The hand-written majority compiled inside the Theorem 1 frame and run by
    Algorithm 1: memorisation exact, predictions == the majority on every test point."""
    rng, model = np.random.default_rng(1), RCNNLearner(majority_wave())
    for m, d in ((1, 1), (4, 2), (7, 3), (12, 2)):
        X, y, _, _ = sample(get_family("majority"), 1, m, d, rng)
        model.fit(X[0], y[0])
        T = from_bits(np.array(list(itertools.product([False, True], repeat=d))))
        assert model.memorisation_exact_
        assert np.array_equal(model.predict(T), model.reference_predict(X[0], y[0], T))


def test_hint_options():
    with pytest.raises(ValueError, match="hints exist only for majority, gauss"):
        MetaConfig(learner="first-label", hints=True)
    with pytest.raises(ValueError, match="need symbols >= 6"):
        MetaConfig(learner="majority", hints=True, symbols=5)


def test_the_hint_loss_trains_the_readout_of_the_answer_cell():
    """Teacher forcing: the readout term reaches exactly the states the hand-written
    rule leaves in the answer cell at layer L ('+' and '-'), no other."""
    import torch

    from turing_rcnn.trainable.filter import DiscreteFilter

    model = MetaLearner(MetaConfig(learner="majority", hints=True))
    model.net_, model.family_ = DiscreteFilter(len(INPUTS), 6, 8), get_family("majority")
    model.frozen_ = [INPUTS.index(s) for s in ("D0", "D1", "T0", "T1")]
    X, y, x, answers = sample(model.family_, 32, 5, 2, np.random.default_rng(0))
    target = torch.as_tensor(answers == 1, dtype=torch.float32)
    model._hint_loss(layout_codes(X, y, x), layers_for(model.family_, 5, 2), target).backward()
    grad = model.net_.out.weight.grad[0, :, 0, 0]
    states = hint_states(majority_wave().program, INPUTS)
    told = {states[majority_wave().program.index[s]] for s in "+-"}
    assert {int(k) for k in torch.nonzero(grad).flatten()} == told


def test_balanced_problems_and_the_curriculum_in_m(monkeypatch):
    """Majority from the answers alone, two routes: --balanced draws that share of
    problems with labels as close to a tie as m allows, the answers +1 and -1 alike
    (at even m: margins 0, 2 and -2, -4; at odd m: 1, 3 and -1, -3), and --curriculum
    grows the largest m drawn from 2 to max_m over the first half of max_steps."""
    from turing_rcnn.trainable.meta import families, learner

    rng = np.random.default_rng(0)
    for m, margins in ((1, {-1, 1}), (2, {-2, 0, 2}), (7, {-3, -1, 1, 3}), (8, {-4, -2, 0, 2})):
        _, y, _, answers = families.sample(get_family("majority"), 400, m, 3, rng, balanced=1.0)
        assert set(y.astype(int).sum(1)) == margins
        assert np.array_equal(answers, np.where(y.astype(int).sum(1) >= 0, 1, -1))
        assert 0.4 < (answers == 1).mean() < 0.6
    drawn = []
    real = learner.sample

    def spy(family, count, m, d, rng, balanced=0.0):
        drawn.append((m, balanced))
        return real(family, count, m, d, rng, balanced)

    monkeypatch.setattr(learner, "sample", spy)
    cfg = MetaConfig(
        learner="majority", max_m=8, max_d=2, symbols=3, hidden=4, batch_size=4,
        max_steps=40, eval_every=40, val_size=4, curriculum=True, balanced=0.5,
    )  # fmt: skip
    MetaLearner(cfg, progress=False).fit()
    ms = [m for m, _ in drawn[-40:]]  # the 40 training steps (validation draws first)
    assert max(ms[:10]) <= 2 + 7 * 2 * 10 // 40 and max(ms) <= 8
    assert {b for _, b in drawn[-40:]} == {0.5}

"""Rules from trained finite-state filters: extraction, JSON, compilation, verification."""

import json

import numpy as np
import pytest
import torch

from turing_rcnn.app.cli import main
from turing_rcnn.compile import compile_program
from turing_rcnn.trainable import AlgoConfig, AlgorithmLearner, FloodFill, History, PrefixParity
from turing_rcnn.trainable.extract import Rule, extract, table_entries
from turing_rcnn.trainable.filter import DiscreteFilter
from turing_rcnn.trainable.verify import run_compiled_rule, verify

UNKNOWN, P0, P1 = 0, 1, 2  # the states of the hand-made prefix-parity filter


def hand_made_learner() -> AlgorithmLearner:
    """A DiscreteFilter whose weights ARE the prefix-parity rule: an unknown cell
    takes the parity of its west neighbour (the border counts as parity 0) xor its bit.
    One hidden unit per case fires only where its pattern holds; its logit (10) beats
    the 'keep the state' logit (5) of the centre's symbol."""
    net = DiscreteFilter(in_channels=3, symbols=3, hidden=7)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        cases = [(w, b) for w in ("zero", "one") for b in (0, 1)]  # west parity, own bit
        for u, (west, bit) in enumerate(cases):
            net.state_conv.weight[u, UNKNOWN, 1, 1] = 1.0  # centre unknown
            if west == "one":
                net.state_conv.weight[u, P1, 1, 0] = 1.0
                bias = -2.0
            else:  # west is P0 or the border: neither unknown nor P1
                net.state_conv.weight[u, P1, 1, 0] = -2.0
                net.state_conv.weight[u, UNKNOWN, 1, 0] = -2.0
                bias = -1.0
            net.input_conv.weight[u, 0, 1, 1] = 1.0 if bit else -1.0  # value channel: +-1
            net.input_conv.bias[u] = bias
            parity = (west == "one") ^ bit
            net.mix.weight[P1 if parity else P0, u] = 10.0
        for s in range(3):  # units 4..6: "the centre holds s" -> keep s
            net.state_conv.weight[4 + s, s, 1, 1] = 1.0
            net.mix.weight[s, 4 + s] = 5.0
        net.out.weight[0, P1] = 1.0
        net.out.bias[0] = -0.5
    learner = AlgorithmLearner(AlgoConfig(task="prefix-parity", train_size=8, symbols=3, hidden=7))
    learner.config_, learner.task_, learner.net_ = learner.config, PrefixParity(), net
    learner.history_, learner.steps_, learner.train_seconds_, learner._done = (
        History(),
        0,
        0.0,
        True,
    )
    return learner


def test_extraction_of_a_filter_built_from_a_known_rule_returns_that_rule():
    learner = hand_made_learner()
    x, y = PrefixParity().sample(64, 12, np.random.default_rng(0))
    assert learner.score(x, y) == 1.0  # the hand-made filter works
    rule = extract(learner, [x])
    inputs = {tuple(v) for v in rule.inputs.tolist()}
    assert inputs == {(-1.0, 0.0, 1.0), (1.0, 0.0, 1.0)}
    bit = {c: int(v[0] > 0) for c, v in enumerate(rule.inputs)}
    want = set()  # (west, centre, east) -> target, where the state changes
    for c in bit:
        for west in ["#"] + [f"s{s}i{w}" for s in range(3) for w in bit]:
            if west != "#" and west.startswith(f"s{UNKNOWN}"):
                continue  # an unknown west neighbour: nothing happens
            parity = 0 if west == "#" else int(west[1]) == P1
            target = f"s{P1 if parity ^ bit[c] else P0}i{c}"
            for east in ["#"] + [f"s{s}i{e}" for s in range(3) for e in bit]:
                want.add((west, f"s{UNKNOWN}i{c}", east, target))
    got = {
        (*(next(iter(g.when[p])) for p in [(0, -1), (0, 0), (0, 1)]), g.then)
        for g in rule.program.guards
    }
    # Pruned to what a run can meet: the wave moves east, so an unknown cell never has
    # a known east neighbour.
    assert got == {w for w in want if w[2] == "#" or w[2].startswith(f"s{UNKNOWN}")}
    assert set(rule.program.readout) == {f"s{P1}i{c}" for c in bit}


def test_rule_json_round_trip_compiles_and_runs_exactly(tmp_path):
    rule = extract(hand_made_learner(), [PrefixParity().sample(8, 8, np.random.default_rng(1))[0]])
    path = tmp_path / "rule.json"
    rule.save(str(path))
    again = Rule.load(str(path))
    assert again.to_json() == rule.to_json()
    compiled = compile_program(again.program)
    x, y = PrefixParity().sample(20, 40, np.random.default_rng(2))
    answers, fixed = run_compiled_rule(compiled, again, x, 80)
    assert np.array_equal(answers, y.numpy()) and fixed
    with pytest.raises(ValueError, match="not a rule file"):
        Rule.from_json({"task": "prefix-parity"})


def test_verify_passes_the_rule_and_catches_a_corrupted_entry():
    rule = extract(hand_made_learner(), [PrefixParity().sample(8, 8, np.random.default_rng(1))[0]])
    report = verify(rule, large=(5, 300))
    assert report["exact"] and all(c["passed"] for c in report["checks"])
    # (d): every fixed point made of triples a run can meet reads the running parity,
    # whatever the length: proved (the unreachable wrong ones do not count).
    assert report["fixed_points"]["passed"] and report["proved_every_length"]
    blob = rule.to_json()
    first = {"W": ["#"], "C": [f"s{UNKNOWN}i0"], "E": [f"s{UNKNOWN}i1"]}  # met at layer 1
    victim = next(g for g in blob["guards"] if all(g["when"][p] == v for p, v in first.items()))
    victim["then"] = victim["then"].replace("s1", "s9").replace("s2", "s1").replace("s9", "s2")
    broken = verify(Rule.from_json(blob), large=(5, 300))
    assert not broken["exact"] and not broken["proved_every_length"]
    assert {c["check"] for c in broken["checks"] if not c["passed"]} == {"a"}
    assert "b" not in {c["check"] for c in broken["checks"]}  # not run once (a) failed


@pytest.mark.slow  # about 10 s: run by .ci/run, keeping make test under 5 minutes
def test_extract_and_verify_commands(tmp_path, capsys):
    path = str(tmp_path / "model.pt")
    hand_made_learner().save(path)
    out = str(tmp_path / "rule.json")
    assert main(["extract", "--load", path, "--out", out, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["task"] == "prefix-parity" and report["table_entries"] > 0
    assert main(["extract", "--load", path, "--out", out]) == 2  # never overwritten
    assert "exists" in capsys.readouterr().err
    assert main(["verify", out, "--quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exact"] is True
    assert main(["verify", out, "--quick", "--no-progress"]) == 0  # as text: a table
    text = capsys.readouterr().out.split("\n\n")[1].splitlines()
    assert text[0].split() == ["check", "inputs", "right", "fixed", "point", "passed", "seconds"]
    assert len(text) == 1 + len(report["checks"])
    for row, check in zip(text[1:], report["checks"], strict=True):
        assert row.startswith(check["check"]) and f"{check['right']}/{check['count']}" in row
    assert main(["verify", out, "--task", "maze"]) == 2
    assert "not 'maze'" in capsys.readouterr().err
    assert main(["verify", "no-such-rule"]) == 2
    assert "no shipped rule" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    [
        "prefix-parity",
        "addition",
        "flood-fill",
        "maze-hints",
        pytest.param("maze-answers", marks=pytest.mark.slow),  # its table: 719 273 entries
    ],
)
def test_shipped_rules_load_by_name_are_what_extract_reads_and_verify(name):
    """The package ships a trained filter and its verified rule under one name; the
    rule is exactly what extract reads off that filter, and it passes verify (small)."""
    from turing_rcnn import pretrained

    assert name in pretrained.names("filter") and name in pretrained.names("rule")
    model = AlgorithmLearner.load(pretrained.resolve(name, "filter"), progress=False)
    size, rng = model.config_.train_size, np.random.default_rng(0)
    xs = [model.task_.sample(50, s, rng)[0] for s in (size, model.task_.larger(size))]
    shipped = Rule.load(pretrained.resolve(name, "rule"))
    assert extract(model, xs).to_json() == shipped.to_json()
    large = {"flood-fill": (3, 24), "maze-hints": (2, 21), "maze-answers": (2, 21)}.get(name)
    report = verify(shipped, large=large or (5, 300))
    assert report["exact"] and report["task"] == model.config_.task
    assert name not in ("flood-fill", "maze-hints", "maze-answers") or report["proved_every_length"]


def test_a_corrupted_maze_entry_breaks_the_dead_end_filling_argument():
    """Take the shipped maze rule's entries that fill the walls away: (d) must fail
    (walls that stay in their start state would be a renaming, but then no open cell
    ever fills either: the runs are not dead-end filling's)."""
    from turing_rcnn import pretrained
    from turing_rcnn.trainable.every_size import maze_dead_end_filling

    blob = Rule.load(pretrained.resolve("maze-hints", "rule")).to_json()
    assert maze_dead_end_filling(Rule.from_json(blob))["passed"]
    blob["guards"] = [g for g in blob["guards"] if g["when"]["C"] != ["s0i0"]]  # walls stay
    report = maze_dead_end_filling(Rule.from_json(blob))
    assert not report["passed"] and (report["renaming"] is None or report["wrong"] > 0)


def test_the_maze_argument_holds_up_to_a_renaming_of_states():
    """A rule that runs dead-end filling with other state numbers (here the shipped
    rule's filled state 1 renamed 2) passes (d), the renaming read off its runs; one
    whose readout calls a filled cell path does not."""
    from turing_rcnn import pretrained
    from turing_rcnn.trainable.every_size import maze_dead_end_filling

    blob = Rule.load(pretrained.resolve("maze-hints", "rule")).to_json()
    renamed = json.loads(json.dumps(blob).replace('"s1i', '"s2i')) | {"states": 3}
    report = maze_dead_end_filling(Rule.from_json(renamed))
    assert report["passed"] and report["wrong"] == report["readout_wrong"] == 0
    assert report["renaming"] == {0: [None, 2], 1: [0, None], 2: [0, None], 3: [0, 2]}
    renamed["readout"]["s2i3"] = 1.0  # a filled open cell read as path
    report = maze_dead_end_filling(Rule.from_json(renamed))
    assert not report["passed"] and report["readout_wrong"] == 1


@pytest.mark.parametrize("name", ["prefix-parity", "addition"])
def test_the_closure_holds_every_triple_a_run_meets(name):
    """extract.reachable_triples over-approximates: every (west, centre, east) met at
    any layer of a run, on every input up to 10 cells, is in the closure."""
    from turing_rcnn import pretrained
    from turing_rcnn.trainable import get_algo_task
    from turing_rcnn.trainable.every_size import one_row_closure
    from turing_rcnn.trainable.verify import exhaustive

    rule = Rule.load(pretrained.resolve(name, "rule"))
    step, reached, border = one_row_closure(rule)
    n = len(rule.program.symbols)
    table = np.full((n, n, n), border)  # step as an array (border cells stay border)
    for (a, b, c), v in step.items():
        table[a, b, c] = v
    task, met = get_algo_task(name), set()
    for _, x, _ in exhaustive(task):
        x = task.check_inputs(x)[0]
        if x.shape[3] > 10:
            break
        grid = rule.initial(x)[:, 0]  # (B, W) symbol indices
        for _ in range(task.iterations(x.shape[3]) + 1):
            padded = np.pad(grid, ((0, 0), (1, 1)), constant_values=border)
            west, centre, east = padded[:, :-2], padded[:, 1:-1], padded[:, 2:]
            codes = (west * n + centre) * n + east
            met |= {(int(k) // (n * n), int(k) // n % n, int(k) % n) for k in np.unique(codes)}
            grid = table[west, centre, east]
    assert met and met <= reached


def hand_made_flood_learner() -> AlgorithmLearner:
    """A cross DiscreteFilter (k = 2: unreached, reached) whose weights ARE flood fill:
    the source, and a free cell with a reached 4-neighbour, become reached; reached
    stays. One layer behind the task's hand rule (the source is reached at layer 1)."""
    net = DiscreteFilter(in_channels=3, symbols=2, hidden=7, reads="cross")
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.input_conv.weight[0, 1, 1, 1], net.input_conv.bias[0] = 1.0, -0.5  # the source
        for u, (r, c) in enumerate([(0, 1), (1, 0), (1, 2), (2, 1)], start=1):
            net.state_conv.weight[u, 1, r, c] = 1.0  # that neighbour reached
            net.input_conv.weight[u, 0, 1, 1] = 1.0  # and the centre free (+1; wall -1)
            net.input_conv.bias[u] = -1.5
        net.state_conv.weight[5, 1, 1, 1] = 1.0  # reached stays reached
        net.input_conv.bias[6] = 1.0  # otherwise: unreached
        net.mix.weight[1, :5], net.mix.weight[1, 5], net.mix.weight[0, 6] = 10.0, 5.0, 1.0
        net.out.weight[0, 1], net.out.bias[0] = 1.0, -0.5
    config = AlgoConfig(task="flood-fill", train_size=5, symbols=2, hidden=7, neighbourhood="cross")
    learner = AlgorithmLearner(config)
    learner.config_, learner.task_, learner.net_ = config, FloodFill(), net
    learner.history_, learner.steps_, learner.train_seconds_ = History(), 0, 0.0
    learner._done = True
    return learner


def test_a_cross_filter_never_reads_its_corners():
    learner = hand_made_flood_learner()
    x, y = FloodFill().sample(32, 9, np.random.default_rng(0))
    before = learner.predict(x)
    assert np.array_equal(before, y.numpy())  # the hand-made filter works
    with torch.no_grad():
        for conv in (learner.net_.state_conv, learner.net_.input_conv):
            conv.weight[..., ::2, ::2] = torch.randn_like(conv.weight[..., ::2, ::2])
    assert np.array_equal(learner.predict(x), before)
    square = DiscreteFilter(3, 2, 7)
    assert learner.net_.parameter_count == square.parameter_count - 4 * (2 * 7 + 3 * 7)


def test_a_cross_rule_is_read_in_full_and_runs_as_the_network():
    """Every cross neighbourhood is asked of the network (no run needed), so the
    compiled rule equals the network at every layer, on any grid."""
    learner = hand_made_flood_learner()
    rule = extract(learner, [FloodFill().sample(4, 5, np.random.default_rng(0))[0]])
    assert table_entries(rule.program) > len(rule.program.guards)  # merged guards
    assert {p for g in rule.program.guards for p in g.when} <= {
        (0, 0),
        (-1, 0),
        (1, 0),
        (0, -1),
        (0, 1),
    }
    compiled = compile_program(rule.program)
    x, _ = FloodFill().sample(16, 11, np.random.default_rng(3))
    for layers in (1, 2, 5, 13):
        answers, _ = run_compiled_rule(compiled, rule, x, layers)
        assert np.array_equal(answers, learner.predict(x, iterations=layers))


def test_verify_proves_a_cross_flood_rule_for_every_size_and_catches_a_corrupted_entry():
    learner = hand_made_flood_learner()
    rule = extract(learner, [FloodFill().sample(4, 5, np.random.default_rng(0))[0]])
    report = verify(rule, large=(3, 24))
    assert report["exact"] and report["proved_every_length"]
    proof = report["fixed_points"]
    assert proof["passed"] and proof["right"] == proof["count"] > 0
    wall, free, _ = (rule.symbol(0, c) for c in range(3))
    blob = rule.to_json()  # a wall walled in on 3 sides turns reached beside a reached cell
    walled = {"N": [wall], "S": [wall], "W": [wall], "E": [rule.symbol(1, 1)]}
    blob["guards"].append({"when": {"C": [wall]} | walled, "then": rule.symbol(1, 0)})
    broken = verify(Rule.from_json(blob), large=(3, 24))
    assert not broken["fixed_points"]["passed"] and not broken["proved_every_length"]
    assert "a wall becomes marked" in broken["fixed_points"]["wrong_examples"][0]
    # an entry no run meets (a free cell with no neighbour inside the grid, a 1 x 1 grid)
    # that marks it: (a)-(c) cannot see it, the every-size argument does
    alone = {p: ["#"] for p in "NSWE"}
    blob = rule.to_json()
    blob["guards"].append({"when": {"C": [free]} | alone, "then": rule.symbol(1, 1)})
    unseen = verify(Rule.from_json(blob), large=(3, 24))
    assert unseen["exact"] and not unseen["proved_every_length"]


def test_the_maze_argument_covers_every_neighbourhood_a_run_meets():
    """maze_dead_end_filling checks a set of neighbourhoods described by invariants
    (one start and one end, never side by side, only walls on the border, ...): every
    cross neighbourhood of the rule's symbols that dead-end filling's runs meet, at any
    layer, on random perfect mazes of several sizes, is in that set."""
    from turing_rcnn import pretrained
    from turing_rcnn.trainable import Maze
    from turing_rcnn.trainable.every_size import CROSS, maze_neighbourhoods

    rule = Rule.load(pretrained.resolve("maze-hints", "rule"))
    checked = {tuple(h) for h in maze_neighbourhoods(rule)[:, :, 0].tolist()}
    task, border = Maze(), rule.program.index[rule.program.border]
    hint, _ = task.hint()
    rng = np.random.default_rng(7)
    met = 0
    for size in (3, 5, 9, 15):
        x, _ = task.sample(24, size, rng)
        codes = np.vectorize(lambda u: rule.state_code(rule.program.symbols[u])[1])(rule.initial(x))
        grid = task.to_symbols(x)
        for _ in range(task.iterations(size) + 1):
            filled = (grid == hint.index["x"]).astype(int)
            names = np.vectorize(lambda k, c: rule.program.index[rule.symbol(k, c)])(filled, codes)
            padded = np.pad(names, ((0, 0), (1, 1), (1, 1)), constant_values=border)
            H, W = names.shape[1:]
            hoods = np.stack(
                [padded[:, 1 + r : 1 + r + H, 1 + c : 1 + c + W] for r, c in CROSS], -1
            ).reshape(-1, 5)
            seen = {tuple(h) for h in hoods.tolist()}
            assert seen <= checked, sorted(seen - checked)[:3]
            met = max(met, len(seen))
            after = hint.step_many(grid)
            if np.array_equal(after, grid):
                break
            grid = after
    assert met > 20

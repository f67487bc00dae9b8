"""Turing-optimal search (issue 6): initialisers, batched candidates, exact counting,
backends, resumable checkpoints, Algorithm 2 and Section 5."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import kill_when_lines

from turing_rcnn.algorithm1 import algorithm1, compiled_frame, network_outputs
from turing_rcnn.frame import frame_layers, layers_needed
from turing_rcnn.model import RCNN, RCNNConfig
from turing_rcnn.programs.learning import LAYOUT, get_learner
from turing_rcnn.search import (
    Algorithm2,
    AnswerRulePrior,
    Candidate,
    PaperInit,
    SearchConfig,
    TuringOptimalLearner,
    TuringPrior,
    exact_fraction,
    log10_paper,
    log10_program,
    paper_values,
    reuse,
    rule_answers,
    search,
    sightings,
    wilson_interval,
)
from turing_rcnn.search.priors import NEIGHBOURS
from turing_rcnn.search.restarts import candidate_network, sign
from turing_rcnn.tasks import ParityTask, search_problem


def _problem(task="last-bit", d=3, m=5, n_val=8, seed=0):
    return search_problem(task, d, m, n_val, 200, seed)


def _batched(weights, d, m, layers, dtype=torch.float32) -> RCNN:
    """ONE RCNN with a candidate per set of weights, as the search builds it."""
    time = layers - frame_layers(m, d, 0)
    return candidate_network([Candidate(w, time) for w in weights], m, d).to(dtype)


def test_batched_candidates_equal_one_rcnn_each_bit_for_bit():
    d, m = 3, 4
    data = ParityTask(d).make(m, n_test=40, seed=1)
    names = ("first-label", "last-label", "majority")
    layers = max(layers_needed(get_learner(n), m, d) for n in names)
    single = []
    for n in names:
        net = compiled_frame(n).network(layers=layers, d=d, m=m, work_columns=1)
        algorithm1(net, data.X_train, data.y_train)
        single.append(network_outputs(net, data.X_test)[:, 0])
    batched = _batched([compiled_frame(n).weights for n in names], d, m, layers)
    report = algorithm1(batched, data.X_train, data.y_train)
    assert report.exact  # Lemma 1 for every candidate: output 0, W written row by row
    out = network_outputs(batched, data.X_test)
    for g in range(3):
        assert np.array_equal(out[:, g], single[g])


def test_batched_random_filters_match_rcnn():
    """U_s filters are not exact arithmetic, so compare within float64 rounding."""
    d, m, rng = 3, 4, np.random.default_rng(0)
    cands = [PaperInit(3, (8, 5), time=2).draw(rng) for _ in range(4)]
    data = ParityTask(d).make(m, n_test=16, seed=2)
    layers = cands[0].layers(m, d)
    batched = _batched([c.weights for c in cands], d, m, layers, torch.float64)
    algorithm1(batched, data.X_train, data.y_train)
    out = network_outputs(batched, data.X_test)
    for g, c in enumerate(cands):
        cfg = RCNNConfig(d, m, 1, layers, (8, 5), head_hidden=4, padding=-1.0)
        net = RCNN(cfg).double().load_shared(c.weights).freeze_shared()
        algorithm1(net, data.X_train, data.y_train)
        ref = network_outputs(net, data.X_test)[:, 0]
        np.testing.assert_allclose(out[:, g], ref, rtol=1e-9, atol=1e-6 * np.abs(ref).max())
        assert np.all(np.isin(c.weights.values(), paper_values(3)))


def test_paper_values_cover_every_shipped_filter_and_log10_is_exact():
    assert len(paper_values(5)) == 24 * 5 + 1
    for name in ("first-label", "last-label", "majority", "gauss"):
        info = log10_paper(name)  # raises if a compiled weight were outside U_s
        assert info["log10_p"] == pytest.approx(-info["parameters"] * math.log10(info["U_s"]))
    # first-label: 3 states, 10 defined transitions (2 halting) over 10 symbols.
    p = log10_program("first-label")
    assert p["defined_transitions"] == 10
    assert p["log10_p"] == pytest.approx(math.log10(2 * 4**2) - 10 * math.log10(10 * 4 * 4))
    assert log10_program("last-label")["log10_p"] == pytest.approx(-math.log10(72))
    assert log10_program("gauss")["log10_p"] < -1000


def test_turing_learners_use_exactly_their_defined_transitions():
    """The program-prior probability leaves undefined entries free: check that every
    defined transition is used and nothing else is reached, on every label pattern."""
    for name in ("first-label", "majority"):
        learner = get_learner(name)
        machine = learner.machine
        defined = {
            (q, s)
            for q, row in enumerate(machine.table)
            for s, t in enumerate(row)
            if t is not None
        }
        used = set()
        for m in range(1, 7):
            for labels in range(2**m):
                y = np.array([1 if labels >> a & 1 else -1 for a in range(m)])
                bits = np.random.default_rng([m, labels]).integers(0, 2, (m + 1, 2))
                used |= _used_transitions(machine, learner, y, bits)
        assert used == defined, name


def _used_transitions(machine, learner, y, bits):
    """Run the machine on the decoded layout (reference semantics); the (state, symbol)
    pairs it reads."""
    names = LAYOUT + [s for s in ("X", "QX") if s in learner.program.symbols]
    m, d = len(y), bits.shape[1]
    grid = [
        [names.index(f"D{b}") for b in bits[a]] + [names.index("L0" if v == 1 else "L1"), 0]
        for a, v in enumerate(y)
    ]
    grid.append([names.index(f"T{b}") for b in bits[m]] + [names.index("?"), 0])
    r, c, q, used = 0, 0, 0, set()
    for _ in range(learner.time(m, d) + 1):
        t = machine.table[q][grid[r][c]]
        used.add((q, grid[r][c]))
        grid[r][c] = t.write
        if t.next == "Z":
            return used
        dr, dc = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}[t.move]
        r, c, q = r + dr, c + dc, machine.states.index(t.next)
    raise AssertionError("did not halt")


def test_answer_rule_network_errors_equal_the_counting_analysis():
    """For 96 random rules, the error measured through the RCNN (frame + Algorithm 1)
    equals the error the exhaustive-counting analysis assigns to that rule."""
    X, y, X_val, y_val, *_ = _problem(seed=3)
    prior = AnswerRulePrior()
    result = search(SearchConfig(restarts=96, seed=5), [(X, y, X_val, y_val)], progress=False)
    seen = sightings(prior, X, y, X_val)
    for i in range(96):
        position, mapping = prior.draw_rule(np.random.default_rng([5, i]))
        pred = rule_answers(mapping, seen[position])
        assert np.mean(np.where(pred == 0, 1, pred) != y_val) == result.errors[i, 0]


def _enumerate_all_programs(seen, y_val) -> float:
    """The fraction of all 8 x 3^10 answer rules with zero validation error, by brute
    force (vectorised over the 3^10 maps of each position)."""
    maps = np.stack(np.meshgrid(*[np.arange(3)] * len(LAYOUT), indexing="ij"), -1).reshape(-1, 10)
    total = 0.0
    for p in NEIGHBOURS:
        ok = np.ones(len(maps), dtype=bool)
        for seq, target in zip(seen[p], y_val, strict=True):
            answer = np.full(len(maps), 2)  # 0 '+', 1 '-', 2 nothing yet
            for symbol in seq:
                value = maps[:, LAYOUT.index(symbol)]
                answer = np.where(answer == 2, value, answer)
            ok &= np.where(answer == 1, -1, 1) == target  # never answered -> output 0 -> +1
        total += ok.mean() / len(NEIGHBOURS)
    return total


@pytest.mark.slow  # in .ci/run (make test stays under 5 min)
def test_exact_fraction_matches_full_enumeration_and_the_measured_rate():
    X, y, X_val, y_val, X_test, y_test = _problem()
    prior = AnswerRulePrior()
    exact = exact_fraction(prior, X, y, X_val, y_val)
    assert exact == pytest.approx(1 / 36)  # W: T0 -> '+' or nothing, T1 -> '-'
    assert exact == pytest.approx(_enumerate_all_programs(sightings(prior, X, y, X_val), y_val))
    result = search(SearchConfig(restarts=384), [(X, y, X_val, y_val)], progress=False)
    wins = int((result.errors[:, 0] == 0).sum())
    lo, hi = wilson_interval(wins, 384)
    assert lo <= exact <= hi, (wins, exact)
    learner = TuringOptimalLearner(SearchConfig(restarts=64), progress=False)
    learner.fit(np.vstack([X, X_val]), np.concatenate([y, y_val]))
    assert learner.val_error_ == 0 and "reads W" in learner.program_
    assert learner.score(X_test, y_test) == 1.0
    scores = learner.decision_function(X_test)  # > 0 means classes_[1] (+1 here)
    assert np.array_equal(np.where(scores > 0, 1, -1), learner.predict(X_test))


def _search_args(backend):
    X, y, X_val, y_val, *_ = _problem(seed=7)
    cfg = SearchConfig(restarts=48, batch=16, seed=2)
    return search(cfg, [(X, y, X_val, y_val)], backend=backend, workers=2, progress=False)


@pytest.mark.slow  # in .ci/run (make test stays under 5 min)
def test_process_pool_gives_the_same_search():
    a, b = _search_args("inprocess"), _search_args("process")
    assert np.array_equal(a.errors, b.errors) and a.programs == b.programs and a.best == b.best


@pytest.mark.slow  # 15 s (a Ray cluster starts): not in make test; .ci/run runs it after
def test_ray_local_cluster_gives_the_same_search():
    import ray  # the test extra installs it, so CI always runs this test

    try:
        a, b = _search_args("inprocess"), _search_args("ray")
    finally:
        ray.shutdown()
    assert np.array_equal(a.errors, b.errors) and a.programs == b.programs


@pytest.mark.slow  # 21 s: not in make test; .ci/run runs it after make test
def test_killed_search_resumes_to_the_same_result(tmp_path):
    path = tmp_path / "search.jsonl"
    args = [
        sys.executable,
        "-m",
        "turing_rcnn.app.cli",
        "search",
        "--restarts",
        "160",
        "--batch",
        "16",
        "--no-progress",
        "--json",
        "--seed",
        "4",
    ]
    proc = subprocess.Popen(args + ["--checkpoint", str(path)], stdout=subprocess.PIPE)
    lines = kill_when_lines(proc, path, 3)
    assert 3 <= len(lines) < 11, "the search should be interrupted part-way"
    with open(path, "a") as f:
        f.write('{"chunk": 9, "indi')  # a line cut short by the kill
    resumed = json.loads(
        subprocess.run(args + ["--checkpoint", str(path)], check=True, capture_output=True).stdout
    )
    fresh = json.loads(subprocess.run(args, check=True, capture_output=True).stdout)
    assert resumed["resumed_chunks"] >= 2
    for key in ("best", "program", "val_error", "test_error", "zero_val_error_rate"):
        assert resumed[key] == fresh[key]


def test_checkpoint_of_another_search_is_refused(tmp_path):
    path = str(tmp_path / "c.jsonl")
    X, y, X_val, y_val, *_ = _problem()
    search(
        SearchConfig(restarts=8, batch=8), [(X, y, X_val, y_val)], checkpoint=path, progress=False
    )
    with pytest.raises(ValueError, match="different search"):
        search(
            SearchConfig(restarts=8, batch=8, seed=1),
            [(X, y, X_val, y_val)],
            checkpoint=path,
            progress=False,
        )


def test_algorithm2_grows_until_a_level_does_well_on_held_out_data():
    X, y, X_val, y_val, X_test, y_test = _problem(n_val=24)
    levels = [
        SearchConfig(init="paper", size=1, hidden=(4,), restarts=32),
        SearchConfig(time=4, restarts=32),
    ]
    alg = Algorithm2(levels, progress=False).fit(np.vstack([X, X_val]), np.concatenate([y, y_val]))
    assert len(alg.records_) == 2 and alg.best_ == 1
    assert alg.records_[1].holdout_error == 0.0 < alg.records_[0].holdout_error
    assert alg.score(X_test, y_test) == 1.0
    assert np.array_equal(np.where(alg.decision_function(X_test) > 0, 1, -1), alg.predict(X_test))
    budget = Algorithm2(levels, budget_seconds=0.0, progress=False).fit(X, y)
    assert len(budget.records_) == 1  # the budget stops the growth after the first level


def test_section5_reuses_one_filter_on_new_problems():
    family = [_problem("constant", seed=s)[:4] for s in range(4)]
    new = [_problem("constant", seed=s)[:4] for s in range(10, 16)]
    assert {int(p[1][0]) for p in new} == {-1, 1}  # both signs among the new problems
    out = reuse(SearchConfig(restarts=96), family, new, progress=False)
    assert out["family_error"] == 0.0 and out["new_error_mean"] == 0.0
    assert "reads N" in out["program"]


def test_search_errors_are_clear():
    with pytest.raises(ValueError, match="init must be one of"):
        SearchConfig(init="genetic")
    with pytest.raises(ValueError, match="restarts must be >= 1"):
        SearchConfig(restarts=0)
    X, y, X_val, y_val, *_ = _problem()
    with pytest.raises(ValueError, match="unknown backend"):
        search(SearchConfig(restarts=4), [(X, y, X_val, y_val)], backend="mpi")
    with pytest.raises(ValueError, match="labels"):
        search(SearchConfig(restarts=4), [(X, y * 2, X_val, y_val)])
    with pytest.raises(ValueError, match="unknown search task"):
        search_problem("sorting", 3, 5, 8, 10)


def test_turing_prior_draws_compile_and_score():
    X, y, X_val, y_val, *_ = _problem()
    result = search(
        SearchConfig(init="turing", size=2, restarts=16, batch=8),
        [(X, y, X_val, y_val)],
        progress=False,
    )
    assert result.errors.shape == (16, 1) and all(p.count("_") == 1 for p in result.programs)
    assert TuringPrior(2).choices == 10 * 4 * 3
    assert sign(np.array([0.0, -0.5, 2.0])).tolist() == [1, -1, 1]

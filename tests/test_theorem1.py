"""Algorithm 1 + the compiled Theorem 1 frame: exact memorisation, then f([x;1]) == A(S)(x)."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from turing_rcnn.algorithm1 import (
    DTYPES,
    RCNNLearner,
    algorithm1,
    compiled_frame,
    lemma1_memory,
)
from turing_rcnn.frame import layers_needed
from turing_rcnn.programs.learning import LAYOUT, LEARNERS, get_learner
from turing_rcnn.tasks import from_bits


def all_points(d: int) -> np.ndarray:
    return from_bits(np.array(list(itertools.product([False, True], repeat=d))))


def random_dataset(rng, d: int, m: int):
    X = from_bits(rng.random((m, d)) < 0.5)
    y = np.where(rng.random(m) < rng.random(), -1, 1).astype(np.int8)
    return X, y


@settings(max_examples=30)
@given(
    name=st.sampled_from(sorted(LEARNERS)),
    d=st.integers(1, 5),
    m=st.integers(1, 5),
    dtype=st.sampled_from(sorted(DTYPES)),
    seed=st.integers(0, 2**32 - 1),
)
def test_memorisation_is_exact_and_the_network_answers_A_of_S(name, d, m, dtype, seed):
    X, y = random_dataset(np.random.default_rng(seed), d, m)
    model = RCNNLearner(name, dtype=dtype).fit(X, y)
    report = model.memorisation_
    assert np.array_equal(report.outputs, np.zeros((m + 1, 1)))  # exactly 0 while memorising
    assert report.formula_held.tolist() == [[True]] * (m + 1)  # W == Lemma 1.1 after every step
    assert torch.equal(model.net_.memory.detach()[0], lemma1_memory(X, y, m + 1, DTYPES[dtype]))
    T = all_points(d)
    assert np.array_equal(model.predict(T), model.reference_predict(X, y, T))


@pytest.mark.parametrize("name", ["first-label", "last-label"])
@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_d8_m8_all_256_points(name, dtype):
    X, y = random_dataset(np.random.default_rng(8), 8, 8)
    model = RCNNLearner(name, dtype=dtype).fit(X, y)
    assert model.memorisation_exact_
    T = all_points(8)
    out = model.decision_function(T)
    assert np.array_equal(out, model.reference_predict(X, y, T).astype(out.dtype))


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_majority_every_label_pattern_m4(dtype):
    model = RCNNLearner("majority", dtype=dtype)
    X = from_bits(np.random.default_rng(0).random((4, 3)) < 0.5)
    T = all_points(3)
    for labels in itertools.product([-1, 1], repeat=4):
        y = np.array(labels, dtype=np.int8)
        model.fit(X, y)
        assert model.memorisation_exact_
        assert np.array_equal(model.predict(T), model.reference_predict(X, y, T))


def test_a_random_filter_does_not_memorise():
    """The memorisation comes from the compiled filter, not from code that writes W."""
    X, y = random_dataset(np.random.default_rng(1), 4, 4)
    model = RCNNLearner("first-label").fit(X, y)
    assert model.memorisation_exact_
    net = model.net_
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.shared_parameters():
            p.copy_(torch.randn_like(p) * p.abs().mean())
    report = algorithm1(net, X, y)
    assert not report.exact and not all(report.formula_held)
    assert not torch.equal(net.memory.detach()[0], lemma1_memory(X, y, 5, torch.float32))


@pytest.mark.parametrize("m", range(1, 9))
def test_turing_learners_halt_within_their_time_bound_on_the_layout(m):
    """Run the learner machines alone on every label pattern of the decoded layout."""
    d = 2
    for name in ("first-label", "majority"):
        learner = get_learner(name)
        machine, names = learner.machine, LAYOUT + ["X", "QX"]
        for labels in itertools.product([0, 1], repeat=m):
            tape = {(a, b): names.index("D0") for a in range(m) for b in range(d)}
            tape |= {(a, d): names.index(f"L{v}") for a, v in enumerate(labels)}
            tape |= {(m, b): names.index("T0") for b in range(d)} | {(m, d): names.index("?")}
            tape |= {(a, d + 1): names.index("_") for a in range(m + 1)}
            run = machine.run(tape, max_steps=learner.time(m, d))
            assert run.halted
            r0, r1, c0, c1 = run.visited
            assert 0 <= r0 and r1 <= m and 0 <= c0 and c1 <= d  # never off the grid
            y = np.where(np.array(labels) == 1, -1, 1)
            answer = names[run.tape.get((m, d), 0)]
            assert answer == ("+" if learner.reference(None, y, [0])[0] == 1 else "-")


def test_layer_budget_and_sizes_do_not_depend_on_d_and_m():
    model = RCNNLearner("first-label")
    a = compiled_frame("first-label").parameter_count
    model.fit(*random_dataset(np.random.default_rng(0), 3, 2))
    assert model.layers_ == layers_needed(model.learner_program(), 2, 3) == 3 + 2 + 3 + (3 + 2 + 1)
    assert model.net_.shared_parameter_count() == a
    model.fit(*random_dataset(np.random.default_rng(0), 6, 7))
    assert model.net_.shared_parameter_count() == a


def test_bad_input_errors():
    model = RCNNLearner("last-label", d=3, m=2)
    X, y = random_dataset(np.random.default_rng(0), 3, 2)
    with pytest.raises(ValueError, match="built for m = 2"):
        model.fit(np.vstack([X, X]), np.concatenate([y, y]))
    with pytest.raises(ValueError, match="built for d = 3"):
        model.fit(X[:, :2], y)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict(X)
    with pytest.raises(ValueError, match="Only binary classification"):
        model.fit(np.vstack([X, X[:1]]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        model.fit(X * 2, y)
    model.fit(X, y)
    with pytest.raises(ValueError, match="expecting 3 features"):
        model.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match="unknown learner"):
        RCNNLearner("nearest-neighbour").fit(X, y)
    with pytest.raises(ValueError, match="dtype must be one of"):
        RCNNLearner("last-label", dtype="float16").fit(X, y)


def test_a_learner_out_of_time_is_reported_not_guessed():
    learner = get_learner("first-label")
    learner.time = lambda m, d: 0
    model = RCNNLearner(learner).fit(*random_dataset(np.random.default_rng(0), 4, 4))
    with pytest.raises(RuntimeError, match="did not answer within"):
        model.predict(all_points(4))

import numpy as np
import pytest

from turing_rcnn import ParityTask, parity_labels, spanning_probability
from turing_rcnn.tasks import from_bits, to_bits


def test_bit_convention_round_trip():
    rng = np.random.default_rng(0)
    bits = rng.random((20, 9)) < 0.5
    X = from_bits(bits)
    assert set(np.unique(X)) <= {-1, 1}
    assert np.array_equal(to_bits(X), bits)
    assert from_bits([[True, False]]).tolist() == [[-1, 1]]


@pytest.mark.parametrize("seed", range(5))
def test_labels_are_the_parity_of_the_secret_bits(seed):
    task = ParityTask(12, k=None)
    data = task.make(50, n_val=10, n_test=40, seed=seed)
    for X, y in [(data.X_train, data.y_train), (data.X_test, data.y_test)]:
        xor = np.bitwise_xor.reduce(to_bits(X)[:, data.secret], axis=1)
        assert np.array_equal(y, np.where(xor, -1, 1))
    assert len(data.secret) > 0


def test_sparse_secret_size_and_determinism():
    a = ParityTask(20, k=3).make(30, seed=7)
    b = ParityTask(20, k=3).make(30, seed=7)
    c = ParityTask(20, k=3).make(30, seed=8)
    assert len(a.secret) == 3 and np.all(np.diff(a.secret) > 0)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.secret, b.secret)
    assert not np.array_equal(a.X_train, c.X_train)


def test_noise_flips_train_and_val_labels_only():
    task = ParityTask(10, k=2, noise=0.1)
    data = task.make(20000, n_val=20000, n_test=2000, seed=0)
    clean = parity_labels(data.X_train, data.secret)
    rate = np.mean(clean != data.y_train)
    assert 0.09 < rate < 0.11
    assert 0.09 < np.mean(parity_labels(data.X_val, data.secret) != data.y_val) < 0.11
    assert np.array_equal(parity_labels(data.X_test, data.secret), data.y_test)


def test_spanning_probability():
    assert spanning_probability(3, 2) == 0.0
    assert spanning_probability(1, 1) == 0.5
    assert spanning_probability(2, 2) == 0.75 * 0.5
    assert spanning_probability(32, 42) > 0.999


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(d=0), "d must"), (dict(d=4, k=5), "k must"), (dict(d=4, noise=0.5), "noise")],
)
def test_bad_task_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ParityTask(**kwargs)


def test_bad_split_sizes():
    with pytest.raises(ValueError, match="m"):
        ParityTask(4).make(0)

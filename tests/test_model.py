import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from turing_rcnn import RCNN, RCNNConfig, augment


def random_net(config: RCNNConfig, seed: int = 0, dtype=torch.float32) -> RCNN:
    torch.manual_seed(seed)
    net = RCNN(config).to(dtype)
    with torch.no_grad():
        net.memory.normal_()
    return net


@given(
    d=st.integers(1, 6),
    m=st.integers(1, 6),
    work=st.integers(0, 3),
    L=st.integers(1, 3),
    batch=st.integers(1, 4),
    G=st.integers(1, 3),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_output_and_grid_shapes(d, m, work, L, batch, G, dtype):
    cfg = RCNNConfig(d, m, work, L, hidden=(5, 4), head_hidden=3, candidates=G)
    net = random_net(cfg, dtype=dtype)
    z = augment(torch.randn(batch, d, dtype=dtype))
    grid = net.grid(z)
    assert grid.shape == (batch, G, m + 1, d + 1 + work) == (batch, G, *cfg.grid_shape)
    assert net.run_body(grid).shape == grid.shape
    out = net(z)
    assert out.shape == (batch, G) and out.dtype == dtype


def test_grid_is_W_diag_z_with_ones():
    cfg = RCNNConfig(d=3, m=2, work_columns=2)
    net = random_net(cfg)
    z = augment(torch.tensor([[1.0, -1.0, 1.0]]))
    grid = net.grid(z)[0, 0]
    assert torch.equal(grid[:, :4], net.memory.detach()[0] @ torch.diag(z[0]))
    assert torch.equal(grid[:, 4:], torch.ones(3, 2))


def test_forward_is_head_sum_over_body():
    cfg = RCNNConfig(d=4, m=3, work_columns=1, layers=2, hidden=(6,), head_hidden=5, padding=0.5)
    net = random_net(cfg, dtype=torch.float64)
    z = augment(torch.randn(2, 4, dtype=torch.float64))
    g = net.grid(z)[:, 0]
    # An independent evaluation of the patch net, one cell at a time.
    w = net.export_shared()
    for _ in range(cfg.layers):
        padded = np.pad(g.detach().numpy(), ((0, 0), (1, 1), (1, 1)), constant_values=cfg.padding)
        new = np.zeros_like(g.detach().numpy())
        for b in range(g.shape[0]):
            for r in range(g.shape[1]):
                for c in range(g.shape[2]):
                    h = padded[b, r : r + 3, c : c + 3].reshape(9)
                    for i, (W, bias) in enumerate(w.body):
                        h = W @ h + bias
                        if i < len(w.body) - 1:
                            h = np.maximum(h, 0)
                    new[b, r, c] = h[0]
        g = torch.as_tensor(new)
    (w1, b1), (w2, b2) = w.head
    cells = g.numpy()[..., None]  # (B, H, W, 1)
    head = (np.maximum(cells @ w1.T + b1, 0) @ w2.T + b2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(net(z)[:, 0].detach().numpy(), head, rtol=1e-10, atol=1e-10)


def test_shared_parameter_count_is_independent_of_size():
    small = RCNN(RCNNConfig(d=4, m=5, work_columns=2, layers=3))
    large = RCNN(RCNNConfig(d=64, m=80, work_columns=16, layers=300))
    assert small.shared_parameter_count() == large.shared_parameter_count()
    assert small.export_shared().parameter_count == small.shared_parameter_count()
    # Only the memory layer grows.
    assert small.memory.shape == (1, 6, 5) and large.memory.shape == (1, 81, 65)


@pytest.mark.parametrize("checkpoint_every", [0, 2])
def test_frozen_filter_gives_gradient_only_to_W(checkpoint_every):
    cfg = RCNNConfig(d=4, m=3, work_columns=2, layers=5, checkpoint_every=checkpoint_every)
    net = random_net(cfg, seed=1).freeze_shared()
    z = augment(torch.randn(3, 4))
    net(z).sum().backward()
    assert net.memory.grad is not None and net.memory.grad.abs().sum() > 0
    for p in net.shared_parameters():
        assert p.grad is None and not p.requires_grad
    trainable = [n for n, p in net.named_parameters() if p.requires_grad]
    assert trainable == ["memory"]


def test_checkpointing_gives_identical_gradients():
    grads = []
    for every in (0, 1, 3):
        cfg = RCNNConfig(d=3, m=4, work_columns=1, layers=7, checkpoint_every=every)
        net = random_net(cfg, seed=2, dtype=torch.float64).freeze_shared()
        net(augment(torch.ones(2, 3, dtype=torch.float64))).sum().backward()
        grads.append(net.memory.grad.clone())
    assert torch.equal(grads[0], grads[1]) and torch.equal(grads[0], grads[2])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_export_load_round_trip(dtype):
    cfg = RCNNConfig(d=3, m=2, work_columns=1, layers=2, hidden=(7, 5), head_hidden=4)
    a, b = random_net(cfg, seed=3, dtype=dtype), random_net(cfg, seed=4, dtype=dtype)
    b.load_shared(a.export_shared())
    with torch.no_grad():
        b.memory.copy_(a.memory)
    z = augment(torch.randn(5, 3, dtype=dtype))
    assert torch.equal(a(z), b(z))
    wa, wb = a.export_shared(), b.export_shared()
    for (x1, y1), (x2, y2) in zip(wa.body + wa.head, wb.body + wb.head, strict=True):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert wa.hidden == (7, 5)
    assert set(wa.values()) <= {
        float(v) for pair in wa.body + wa.head for a in pair for v in a.ravel()
    }


def test_load_rejects_wrong_shapes_and_pads_narrower_filters():
    net = RCNN(RCNNConfig(d=2, m=2, hidden=(4,)))
    other = RCNN(RCNNConfig(d=2, m=2, hidden=(5,))).export_shared()
    with pytest.raises(ValueError, match="body layer 0"):
        net.load_shared(other)
    deeper = RCNN(RCNNConfig(d=2, m=2, hidden=(4, 4))).export_shared()
    with pytest.raises(ValueError, match="layers"):
        net.load_shared(deeper)
    with pytest.raises(ValueError, match="2 sets of weights for 1 candidates"):
        net.load_shared([deeper, deeper])
    # A narrower filter and head are padded with zero units: the same function. Weights,
    # memory and inputs are multiples of 1/8, so every sum is exact in float64 whatever
    # order the BLAS kernel of either width adds in (random floats differ in the last
    # bit on some CPUs: the padding changes the summation order, not the function).
    cfg = RCNNConfig(d=2, m=3, work_columns=1, layers=3, hidden=(3, 2), head_hidden=2)
    narrow = random_net(cfg, seed=5, dtype=torch.float64)
    with torch.no_grad():
        for p in narrow.parameters():
            p.copy_(torch.round(p * 8) / 8)
    wide = RCNN(RCNNConfig(2, 3, 1, 3, hidden=(6, 5), head_hidden=7)).double()
    wide.load_shared(narrow.export_shared())
    with torch.no_grad():
        wide.memory.copy_(narrow.memory)
    z = augment(torch.round(torch.randn(4, 2, dtype=torch.float64) * 8) / 8)
    assert torch.equal(wide(z), narrow(z))
    assert not torch.equal(wide(z), RCNN(cfg).double()(z))  # a different net differs


def test_bad_inputs_and_configs():
    net = RCNN(RCNNConfig(d=3, m=2))
    with pytest.raises(ValueError, match=r"\(batch, d\+1\)"):
        net(torch.ones(2, 3))
    with pytest.raises(ValueError, match="dtype"):
        net(torch.ones(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="grid"):
        net.run_body(torch.ones(3, 4))
    bad_sizes = [dict(m=0), dict(d=0), dict(layers=0), dict(hidden=()), dict(work_columns=-1)]
    for bad in bad_sizes + [dict(candidates=0)]:
        kwargs = dict(d=2, m=2) | bad
        with pytest.raises(ValueError, match="RCNNConfig"):
            RCNNConfig(**kwargs)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), G=st.integers(1, 3), batch=st.integers(1, 3))
def test_step_is_the_dense_convolution(seed, G, batch):
    """RCNN.step (im2col + batched matrix products over candidates) == torch's conv2d
    of each candidate's 3x3 filter followed by its 1x1 convolutions, bit for bit on
    compiled filters (dyadic weights, small codes: exact in any summation order)."""
    from turing_rcnn.compile import compile_program
    from turing_rcnn.trainable import ALGO_TASKS

    rng = np.random.default_rng(seed)
    programs = [t.program() for t in ALGO_TASKS.values() if t.program() is not None]
    compiled = [compile_program(programs[i]) for i in rng.integers(len(programs), size=G)]
    hidden = tuple(max(w) for w in zip(*(c.hidden for c in compiled), strict=True))
    head = max(c.head_hidden for c in compiled)
    cfg = RCNNConfig(d=1, m=1, hidden=hidden, head_hidden=head, padding=0.0, candidates=G)
    net = RCNN(cfg).load_shared([c.weights for c in compiled]).freeze_shared()
    codes = [rng.integers(0, len(c.program.symbols), size=(batch, 5, 7)) for c in compiled]
    grid = torch.stack(
        [
            torch.as_tensor(c.program.code[k], dtype=torch.float32)
            for c, k in zip(compiled, codes, strict=True)
        ],
        dim=1,
    )
    for g, c in enumerate(compiled):
        x = torch.nn.functional.pad(grid[:, g : g + 1], (1, 1, 1, 1), value=0.0)
        for i, (w, b) in enumerate(c.weights.body):
            kernel = torch.as_tensor(w, dtype=torch.float32)
            kernel = kernel.reshape(len(w), 1, 3, 3) if i == 0 else kernel[:, :, None, None]
            x = torch.nn.functional.conv2d(
                torch.relu(x) if i else x, kernel, torch.as_tensor(b, dtype=torch.float32)
            )
        assert torch.equal(net.step(grid)[:, g], x[:, 0])

"""Pictures of the grid inside a fitted RCNN, layer by layer.

Every cell value is decoded back to its symbol and coloured by what the symbol is
for, so a reader can watch the phases of the Theorem 1 frame: the raw memory values,
the decoding wave from the bottom-right corner, and the learner at work (for the
Gaussian eliminator: pivot bits travelling down, decisions travelling right).
"""

from __future__ import annotations

import numpy as np
import torch

from ..model import augment

CLASSES = [  # (name, colour)
    ("border / work", "#f2f2f2"),
    ("raw memory value", "#c9c9c9"),
    ("memorisation (empty / carry)", "#8c564b"),
    ("undecoded sign", "#9edae5"),
    ("decoding wave", "#ff7f0e"),
    ("bit 0", "#ffffff"),
    ("bit 1", "#1f77b4"),
    ("label / test bit 0", "#d9f0d3"),
    ("label / test bit 1", "#2ca02c"),
    ("pivot bit moving down", "#9467bd"),
    ("decision moving right", "#d62728"),
    ("answer", "#ffd700"),
]


_TAPE = {"_", "D0", "D1", "L0", "L1", "T0", "T1", "?", "+", "-", "X", "QX"}  # learners' cells
_STATES = set("ABCDEFGHZ")  # the state letters a Turing-machine learner's head carries


def symbol_class(symbol: str) -> int:
    """Index into CLASSES for a symbol of the frame (and of the shipped learners)."""
    if symbol in ("#", "_", "ONE"):
        return 0
    if symbol in ("N", "Z", "P"):
        return 1
    if symbol in ("carry", "empty"):
        return 2
    if symbol in ("u0", "u1"):
        return 3
    if symbol == "corner" or symbol[:2] in ("fl", "ft", "fd"):
        return 4
    if symbol[-1:] in _STATES and symbol[:-1] in _TAPE:  # a Turing machine's head on it
        return 10
    if symbol in ("?", "+", "-") or symbol.startswith("Q"):
        return 11
    if symbol == "X":  # a Turing machine's crossed-out label
        return 9
    base, _, registers = symbol.partition("|")
    if registers and registers[0] in "01":
        return 9
    if registers and registers[0] in "NXS":
        return 10
    if base[:1] == "D":
        return 5 if base.endswith("0") else 6
    if base[:1] in ("L", "T"):
        return 7 if base.endswith("0") else 8
    return 10 if any(c.isupper() for c in symbol[2:]) else 5  # a Turing machine head


@torch.no_grad()
def grid_history(model, x: np.ndarray) -> list[np.ndarray]:
    """Symbol indices of the grid at layers 0..L for one input x (a fitted RCNNLearner)."""
    net, compiled = model.net_, model.compiled_
    z = augment(torch.as_tensor(np.asarray(x)[None], dtype=net.memory.dtype))
    grid = net.grid(z)
    frames = [compiled.decode(grid[0, 0])]
    for _ in range(net.config.layers):
        grid = net.step(grid)
        frames.append(compiled.decode(grid[0, 0]))
    return frames


def legend(model, frames: list[np.ndarray]) -> list[tuple[str, str]]:
    """(name, colour) of the classes the frames show, named for the learner: the
    Gaussian eliminator's pivots and decisions, another learner's states and head."""
    symbols = model.compiled_.program.symbols
    shown = {symbol_class(symbols[i]) for f in frames for i in np.unique(f)}
    names = {}
    if model.learner_program().name != "gauss":
        names = {9: "crossed-out label", 10: "Turing machine head"}
    return [(names.get(k, n), c) for k, (n, c) in enumerate(CLASSES) if k in shown]


def _colour_frames(model, frames: list[np.ndarray]) -> list[np.ndarray]:
    from matplotlib.colors import to_rgb

    symbols = model.compiled_.program.symbols
    lut = np.array([to_rgb(CLASSES[symbol_class(s)][1]) for s in symbols])
    return [lut[f] for f in frames]


def save_strip(model, x, path: str, columns: int = 8, panels: int = 24) -> str:
    """A PNG of evenly spaced layers (at most `panels`) up to the first layer after
    which nothing changes, with a legend of the classes shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    frames = grid_history(model, x)
    moved = [i for i in range(1, len(frames)) if not np.array_equal(frames[i], frames[i - 1])]
    last = min(len(frames) - 1, (moved[-1] + 1) if moved else 0)  # then nothing changes
    picks = np.unique(np.linspace(0, last, min(panels, last + 1)).astype(int))
    shown = [frames[i] for i in picks]
    images = _colour_frames(model, shown)
    rows = -(-len(picks) // columns)
    tall = images[0].shape[0] / images[0].shape[1]  # a panel's height per width
    size = (1.6 * columns, (1.6 * tall + 0.4) * rows + 1.2)
    fig, axes = plt.subplots(rows, columns, figsize=size)
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, img, layer in zip(np.ravel(axes), images, picks, strict=False):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(f"layer {layer}", fontsize=7)
    fig.legend(
        handles=[Patch(color=c, label=n) for n, c in legend(model, shown)],
        loc="lower center",
        ncol=4,
        fontsize=7,
        frameon=False,
    )
    d, m = model.net_.config.d, model.net_.config.m
    fig.suptitle(f"RCNN({model.learner_program().name}) on one test point: d = {d}, m = {m}")
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_gif(model, x, path: str, fps: int = 8) -> str:
    """An animated GIF of every layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    images = _colour_frames(model, grid_history(model, x))
    fig, ax = plt.subplots(figsize=(4, 4 * images[0].shape[0] / images[0].shape[1] + 0.4))
    ax.axis("off")
    shown = ax.imshow(images[0], interpolation="nearest")

    def update(i):
        shown.set_data(images[i])
        ax.set_title(f"layer {i}", fontsize=9)
        return (shown,)

    FuncAnimation(fig, update, frames=len(images)).save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path

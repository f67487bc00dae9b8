"""What a sweep trains and where it runs (no torch here: the CLI reads these first).

A sweep is N seeds times a few named settings. A setting is a training config of the
trainable filter (AlgoConfig, less its seed) and the sizes its filter is tested at;
finite-state settings (symbols k) are also extracted and verified."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..options import check_ranges, option
from ..search.config import BACKENDS
from ..trainable.config import AlgoConfig


@dataclass(frozen=True)
class Setting:
    """One point of a sweep's grid: AlgoConfig fields (no seed), test sizes, a line."""

    train: dict
    test_sizes: tuple[int, ...]
    what: str
    test_count: int = 100

    def config(self, seed: int, **overrides) -> AlgoConfig:
        return AlgoConfig(**(self.train | {"seed": seed} | overrides))

    @property
    def finite_state(self) -> bool:
        return self.train.get("symbols", 0) >= 2


_FIT = dict(lr=3e-3, eval_every=100, max_minutes=15.0)
SETTINGS = {
    "prefix-parity-k3": Setting(
        dict(task="prefix-parity", symbols=3, train_size=16, max_steps=1500, **_FIT),
        (16, 64, 256),
        "prefix parity, 3 symbols per cell, trained on 16 bits",
    ),
    "addition-k3": Setting(
        dict(task="addition", symbols=3, train_size=16, max_steps=1500, **_FIT),
        (16, 64, 256),
        "binary addition, 3 symbols per cell, trained on 16 bits",
    ),
    "flood-fill-cross-k2": Setting(
        dict(task="flood-fill", symbols=2, train_size=5, max_steps=3000, neighbourhood="cross")
        | _FIT,
        (5, 10, 20),
        "flood fill, 2 symbols per cell reading the cross, trained on 5 x 5",
    ),
    "maze-hints": Setting(
        dict(task="maze", symbols=2, train_size=9, max_steps=3000, neighbourhood="cross")
        | _FIT
        | dict(lr=1e-2, hidden=16, hints=True),
        (9, 19, 39),
        "perfect mazes WITH HINTS (dead-end filling's trace), 2 symbols, the cross, size 9",
    ),
    "prefix-parity": Setting(
        dict(task="prefix-parity", train_size=32, eval_every=200, max_minutes=15.0),
        (32, 128, 512),
        "prefix parity, continuous state, trained on 32 bits",
    ),
    "flood-fill": Setting(
        dict(task="flood-fill", train_size=8, lr=3e-3, max_steps=4000, max_minutes=15.0),
        (8, 32, 64),
        "flood fill, continuous state, trained on 8 x 8",
    ),
}


@dataclass(frozen=True)
class SweepConfig:
    """N seeds x the named settings; every run trains, tests at the setting's sizes and,
    for finite-state settings, extracts and verifies its rule."""

    settings: tuple[str, ...] = option(
        ("prefix-parity-k3",), "the settings to sweep", choices=tuple(SETTINGS)
    )
    seeds: int = option(20, "seeds per setting: first-seed, first-seed + 1, ...", low=1, high=10**4)
    first_seed: int = option(0, "the first seed", low=0, high=2**31 - 1)
    max_steps: int | None = option(
        None, "every run's step budget (default: the setting's)", low=1, high=10**8
    )
    max_minutes: float | None = option(
        None, "every run's training time budget (default: the setting's)", low=0.01, high=10**5
    )
    verify: bool = option(
        True,
        "extract and verify finite-state rules; --no-verify: train and test only (default: on)",
    )
    out: str = option("runs/sweep", "folder for every run's files, the checkpoint and table")
    backend: str = option("inprocess", "where the runs go", choices=BACKENDS)
    workers: int = option(2, "process pool or local Ray CPUs (one torch thread each)", low=1)
    address: str | None = option(None, "join this Ray cluster (default: start a local one)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", tuple(dict.fromkeys(self.settings)))
        check_ranges(self)
        if not self.out:
            raise ValueError("--out must name a folder, got ''")
        if self.address is not None and self.backend != "ray":
            raise ValueError("--address joins a Ray cluster: give it with --backend ray")

    def overrides(self) -> dict:
        """What every run changes in its setting's AlgoConfig."""
        given = {"max_steps": self.max_steps, "max_minutes": self.max_minutes}
        return {k: v for k, v in given.items() if v is not None}

    def fingerprint_fields(self) -> dict:
        """What a checkpoint's rows depend on: each setting's whole training config and
        tests, the overrides and whether rules are verified (not the seed count: a sweep
        may be extended with more seeds, or fewer settings)."""
        return {
            "overrides": self.overrides(),
            "verify": self.verify,
            "settings": {name: asdict(SETTINGS[name]) for name in SETTINGS},
        }

"""What the trainable filter learns and how (no torch here: the CLI reads this first)."""

from __future__ import annotations

from dataclasses import dataclass

from ..options import check_ranges, option

TASK_NAMES = ("addition", "flood-fill", "maze", "maze-cycles", "prefix-parity")  # tasks.py
NET_NAMES = ("filter", "deepthinking")  # learner.make_filter
# (training, test) sizes a task defaults to: what a run on a laptop trains and tests on.
SIZES = {
    "addition": (16, 512),
    "flood-fill": (8, 32),
    "maze": (9, 19),
    "maze-cycles": (9, 19),
    "prefix-parity": (32, 512),
}


def size_help(what: str, which: int) -> str:
    """The help of a size option that defaults to the task's: SIZES[task][which]."""
    sizes = ", ".join(f"{task} {pair[which]}" for task, pair in SIZES.items())
    return f"{what} size: bits, grid side or maze size (default: the task's: {sizes})"


# Tasks and learner families with a hand-written rule whose trace can supervise every
# cell of a finite-state filter (tasks.AlgoTask.hint, meta.Family.hint), and the
# symbols k its states need (tests hold these to the rules).
ALGO_HINTS = {"maze": 2, "maze-cycles": 17}
META_HINTS = {"majority": 6, "gauss": 79}


def _check_teacher(cfg) -> None:
    from .meta.teacher import ColumnProgram

    if cfg.hints:
        raise ValueError("--teacher and --hints both supervise every cell: give one")
    if cfg.learner != "majority":
        raise ValueError(f"--teacher: a column program answers majority, not {cfg.learner}")
    if cfg.neighbourhood != "square":
        raise ValueError("--teacher: a column program reads south too; keep --neighbourhood square")
    states = ColumnProgram.load(cfg.teacher).states
    if cfg.symbols < states:
        raise ValueError(f"--teacher {cfg.teacher} has {states} states: --symbols >= {states}")


def _check_hints(hints: bool, name: str, symbols: int, table: dict[str, int]) -> None:
    if not hints:
        return
    if name not in table:
        raise ValueError(
            f"hints exist only for {', '.join(table)}: {name} has no hint rule (a "
            "hand-written rule whose trace, in the filter's own states, supervises it)"
        )
    if symbols < table[name]:
        raise ValueError(
            f"hints for {name} need symbols >= {table[name]} (a state per symbol of its "
            f"rule), got {symbols}"
        )


def _anneal_option():
    """The `anneal` field, the same for train-algo and meta-train (a new field each)."""
    return option(
        False,
        "annealed discretisation: the finite state passes softmax(logits / T) forward "
        "while T falls from 1 to 0 over the first 3/5 of the training budget (steps or "
        "minutes, whichever runs out first), then hard symbols "
        "(from the answers alone; not with --hints)",
    )


def _check_anneal(anneal: bool, symbols: int, forced: bool) -> None:
    if not anneal:
        return
    if not symbols:
        raise ValueError("--anneal hardens a finite state: give --symbols k >= 2")
    if forced:
        raise ValueError(
            "--anneal shapes a filter that runs on its own states; with --hints or "
            "--teacher it is taught a trace step by step (teacher forcing): give one of them"
        )


@dataclass
class AlgoConfig:
    """What to train and how. Defaults train prefix parity on 32 bits in minutes."""

    task: str = option("prefix-parity", "the task to learn", choices=TASK_NAMES)
    net: str = option(
        "filter",
        "the network: our recurrent filter, or the peer's DeepThinking-style net "
        "(baselines/deepthinking.py: --width channels; --hidden, --symbols, "
        "--neighbourhood are the filter's)",
        choices=NET_NAMES,
    )
    train_size: int | None = option(
        None,
        size_help("training", 0),
        low=2,
        high=4096,
    )
    width: int = option(8, "state channels per cell (a continuous state)", low=1, high=1024)
    symbols: int = option(
        0, "k >= 2: a finite state of k symbols per cell instead (0: off)", low=0, high=64
    )
    hidden: int = option(16, "hidden units of the patch net", low=1, high=4096)
    neighbourhood: str = option(
        "square",
        "what a cell reads: its 3x3 square, or the cross of itself and 4 neighbours",
        choices=("square", "cross"),
    )
    batch_size: int = option(64, "inputs per Adam step", low=1, high=65536)
    lr: float = option(
        1e-3, "Adam's learning rate (cosine decay over max_steps)", low=1e-9, high=10
    )
    alpha: float = option(
        0.5, "weight of the progressive loss (1 - alpha: full-budget loss)", low=0, high=1
    )
    max_steps: int = option(20000, "training step budget", low=1, high=10**8)
    max_minutes: float = option(10.0, "training time budget", low=0.01, high=10**5)
    eval_every: int = option(200, "steps between validations (and checkpoints)", low=1)
    patience: int = option(5, "stop after this many perfect validations in a row", low=1)
    val_size: int = option(
        500, "validation inputs of the training size (a fifth as many at 2x)", low=5, high=10**6
    )
    seed: int = option(0, "seeds the initialisation and the data", low=0, high=2**63 - 1)
    hints: bool = option(
        False,
        "train a finite-state filter on the trace of a hand-written rule, every cell at "
        "every iteration (maze: dead-end filling, --symbols >= 2; maze-cycles: Lee's wave, "
        "--symbols >= 17)",
    )
    teacher: str | None = option(
        None,
        "self-distillation: a filter that learned from the answers alone (a shipped name or "
        "model.pt); its states, clustered into --symbols k symbols, are the trace a "
        "finite-state filter trains on (never with --hints)",
    )
    anneal: bool = _anneal_option()
    curriculum: bool = option(
        False,
        "a curriculum in size: training sizes grow from the task's smallest to "
        "--train-size over the first half of --max-steps (each drawn size its own iteration "
        "budget)",
    )
    restarts: int = option(
        1,
        "random restarts kept by validation: up to R filters trained from seeds seed*R .. "
        "seed*R+R-1, each with 1/R of the step and time budgets; the first that validates "
        "perfectly, or else the best, is kept",
        low=1,
        high=1000,
    )

    def __post_init__(self) -> None:
        from .tasks import get_algo_task

        if self.train_size is None and self.task in SIZES:
            self.train_size = SIZES[self.task][0]
        check_ranges(self)
        _check_hints(self.hints, self.task, self.symbols, ALGO_HINTS)
        get_algo_task(self.task).check_size(self.train_size)
        if self.symbols == 1:
            raise ValueError(f"symbols must be 0 (continuous) or >= 2, got {self.symbols}")
        if self.teacher is not None and self.hints:
            raise ValueError(
                "--teacher trains from the answers alone; --hints brings a hand-written "
                "rule's trace in: give one of them"
            )
        if self.teacher is not None and not self.symbols:
            raise ValueError("--teacher trains a finite-state filter: give --symbols k >= 2")
        _check_anneal(self.anneal, self.symbols, self.hints or self.teacher is not None)
        if self.net == "deepthinking" and (self.symbols or self.hints):
            raise ValueError(
                "--net deepthinking has a continuous state of --width channels; --symbols "
                "and --hints are the finite-state filter's"
            )
        if self.net == "deepthinking" and self.neighbourhood != "square":
            raise ValueError(
                "--net deepthinking reads 3x3 squares; --neighbourhood is the filter's"
            )


# The most states a meta-trained cell may have (GF(2) elimination's hint needs 79).
MAX_SYMBOLS = 128
FAMILY_NAMES = ("first-label", "gauss", "last-label", "majority", "nearest-neighbour")  # meta/


@dataclass
class MetaConfig:
    """Meta-training a finite-state learner: many small learning problems of one family."""

    learner: str = option("majority", "the learner family to learn", choices=FAMILY_NAMES)
    max_m: int = option(8, "training problems have 1..max_m examples", low=1, high=64)
    max_d: int = option(4, "and 1..max_d bits", low=1, high=32)
    symbols: int = option(6, "k: symbols per cell (the finite state)", low=2, high=MAX_SYMBOLS)
    hidden: int = option(32, "hidden units of the patch net", low=1, high=4096)
    neighbourhood: str = option(
        "square",
        "what a cell reads: its 3x3 square, or itself and its north and west neighbours "
        "(what the systolic GF(2) eliminator reads: a prior, for gauss)",
        choices=("square", "north-west"),
    )
    batch_size: int = option(64, "problems per Adam step", low=1, high=65536)
    lr: float = option(3e-3, "Adam's learning rate (cosine decay)", low=1e-9, high=10)
    max_steps: int = option(3000, "training step budget", low=1, high=10**8)
    max_minutes: float = option(10.0, "training time budget", low=0.01, high=10**5)
    eval_every: int = option(100, "steps between validations (and checkpoints)", low=1)
    patience: int = option(3, "stop after this many perfect validations in a row", low=1)
    val_size: int = option(256, "validation problems per (m, d)", low=1, high=10**4)
    seed: int = option(0, "seeds the initialisation and the data", low=0, high=2**63 - 1)
    hints: bool = option(
        False,
        "train on the trace of the family's hand-written cellular rule, every cell at "
        "every layer (majority: programs.learning.majority_wave, needs --symbols >= 6; gauss: "
        "the systolic eliminator programs.learning.gauss, needs --symbols >= 79)",
    )
    balanced: float = option(
        0.0,
        "the share of training problems whose labels are as close to a tie as m allows, "
        "half answering +1, half -1 (margins 0, 2 / -2, -4 at even m; 1, 3 / -1, -3 at odd "
        "m): where only counting tells the majority",
        low=0.0,
        high=1.0,
    )
    anneal: bool = _anneal_option()
    curriculum: bool = option(
        False,
        "a curriculum in m: the largest m drawn grows from 2 to --max-m over the first "
        "half of --max-steps",
    )

    teacher: str = option(
        "",
        "a column program found from the answers alone (bench/bench_majority_invent.py "
        "writes them) whose trace supervises every cell, as --hints does with a "
        "hand-written one; majority only, needs --symbols >= its states",
    )

    def __post_init__(self) -> None:
        check_ranges(self)
        _check_hints(self.hints, self.learner, self.symbols, META_HINTS)
        if self.teacher:
            _check_teacher(self)
        _check_anneal(self.anneal, self.symbols, self.hints or bool(self.teacher))

"""The rule of a meta-trained filter: read off as a table on every neighbourhood its runs
meet (completed over the bits of read-only cells), merged exactly into guards with
symbol sets, and wrapped as a learner program (`MetaRule.learner`) that runs in the
Theorem 1 frame as the filter ran in training; saved and loaded as sealed JSON."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ... import guard
from ...programs.cellular import CellularProgram, Guard
from ...programs.learning import LAYOUT, LearnerProgram
from ...progress import bar, heartbeat
from ..config import MAX_SYMBOLS
from ..extract import (
    BORDER,
    UNREAD,
    Rule,
    _neighbourhoods,
    _next_symbol,
    _program,
    load_json,
    merge,
    sealed_json,
)
from .families import every_label_pattern, get_family, sample
from .layout import ANSWER, INPUTS, filter_states, layers_for, layout_codes, schedule
from .learner import MetaLearner


def _distinct(rows: np.ndarray) -> np.ndarray:
    """The distinct rows of (n, w) small integers (states < 128, codes, -1), sorted
    as bytes (one key per row: a fast unique)."""
    rows = np.ascontiguousarray(rows, dtype=np.int8)
    keys = np.unique(rows.view(np.dtype((np.void, rows.shape[1]))).reshape(-1))
    return keys.view(np.int8).reshape(-1, rows.shape[1])


def _neighbourhood_rows(
    learner: MetaLearner, problems: list, work: int = 1, progress: bool = False
) -> np.ndarray:
    """Every (states, input codes) neighbourhood, (n, 18), at which a rule fires in runs of
    the filter on `problems` (batches (X, y, x) of one size each) for 2 L layers: cells
    whose neighbourhood the frame has decoded (-1: beyond the grid; UNREAD at positions
    the filter does not read, so that entries differing only there are one)."""
    rows = np.zeros((0, 18), dtype=np.int8)
    unread = np.flatnonzero(learner.net_.mask.numpy().reshape(-1) == 0)
    unread = np.concatenate([unread, 9 + unread])  # its state and its input code
    desc = "read off: neighbourhoods met"
    for X, y, x in bar(desc, iterable=problems, enabled=progress, unit="batch"):
        m, d = X.shape[1:]
        codes = layout_codes(X, y, x, work)
        near_codes = _neighbourhoods(codes)
        fires = schedule(codes, learner.frozen_, work).reshape(-1).numpy()  # first layer
        last, met = 2 * layers_for(learner.family_, m, d) - 1, []
        with torch.no_grad():
            for layer, state in filter_states(learner.net_, codes, last, learner.frozen_, work):
                near = np.concatenate([_neighbourhoods(state.argmax(1).numpy()), near_codes], 1)
                near[:, unread] = UNREAD
                met.append(_distinct(near[fires <= layer]))
        rows = _distinct(np.concatenate([rows, *met]))
    return rows.astype(np.int64)


def read_rule(
    learner: MetaLearner, seed: int = 0, count: int = 64, sizes=None, progress: bool = False
) -> MetaRule:
    """The rule of a meta-trained filter: its table on every neighbourhood met in runs on
    `count` random problems of each of `sizes` (m, d) (default: every m <= 2 max_m,
    d <= max_d), plus every label pattern for m <= 6 (m <= 12, as many as verify's
    check (a), for a filter trained with hints, whose states meet more neighbourhoods),
    completed over the bits of frozen data cells (_every_bit); the positive symbols of
    its readout are the answer. A table holds what its runs met: more problems, or the
    sizes a rule will be asked at, meet more. `progress`: a bar and a heartbeat."""
    check_is_fitted(learner, "net_")
    cfg, rng = learner.config_, np.random.default_rng(seed)
    if sizes is None:
        sizes = [(m, d) for m in range(1, 2 * cfg.max_m + 1) for d in range(1, cfg.max_d + 1)]
    problems = [sample(learner.family_, count, m, d, rng)[:3] for m, d in sizes]
    patterns = 12 if cfg.hints or cfg.teacher else 6
    problems += [every_label_pattern(m, 1 + m % cfg.max_d, rng) for m in range(1, patterns + 1)]
    rows = _neighbourhood_rows(learner, problems, progress=progress)
    with heartbeat("read off: the table, merged into guards", progress):
        rows = _every_bit(rows, learner.frozen_)
        inputs = np.eye(len(INPUTS), dtype=np.float32)
        nxt = _next_symbol(learner.net_, rows[:, :9], rows[:, 9:], inputs)
        rule = _program(learner.net_, rows, nxt, inputs, task="learner", every_position=True)
        program = rule.program
        rule.program = CellularProgram(
            program.symbols,
            program.border,
            [Guard(when, then) for when, then in merge(program.guards)],
            program.readout,
            name=f"{cfg.learner} (learned by SGD)",
        )
    return MetaRule(rule, cfg.learner)


def _every_bit(rows: np.ndarray, frozen) -> np.ndarray:
    """Neighbourhood rows (n, 18) completed over the bits of frozen data and test cells:
    such a cell always holds its first symbol, so every row met with a D0 there is also
    asked with D1 (and T0 with T1, and back): the table covers every data bit around the
    state patterns met, not only the bit patterns the sample held (other data may still
    lead to states never met: verify finds out)."""
    pairs = [(a, b) for a, b in ((1, 2), (5, 6)) if a in frozen and b in frozen]
    for j in range(9):
        for a, b in pairs:
            flip = rows[(rows[:, j] == 0) & np.isin(rows[:, 9 + j], (a, b))].copy()
            flip[:, 9 + j] = a + b - flip[:, 9 + j]
            rows = np.unique(np.concatenate([rows, flip]), axis=0)
    return rows


def _rename(symbol: str) -> str:
    """Rule symbols to learner symbols: s0i<c> is the layout symbol INPUTS[c] itself
    (a cell starts there), s<k>i<c> is '<layout symbol>.<k>'; the border stays '#'."""
    if symbol == BORDER:
        return symbol
    state, code = (int(v) for v in symbol[1:].split("i"))
    return INPUTS[code] if state == 0 else f"{INPUTS[code]}.{state}"


@dataclass
class MetaRule:
    """A learned learner: the extracted rule (extract.Rule, task 'learner') and its family."""

    rule: Rule
    family: str

    def learner(self) -> LearnerProgram:
        """The rule as a learner program for build_frame (programs/learning.py's
        contract): it starts from the layout symbols, answers at '?' (every state of the
        answer cell reads +1 or -1 by the learned readout) within the family's time."""
        program, family = self.rule.program, get_family(self.family)
        own = [_rename(s) for s in program.symbols if s != BORDER]
        symbols = LAYOUT + [s for s in own if s not in LAYOUT] + [BORDER]
        renamed: dict = {}  # one renamed set per distinct set (every symbol: shared)

        def rename(v) -> frozenset:
            return renamed.setdefault(frozenset(v), frozenset(map(_rename, v)))

        guards = [
            Guard({p: rename(v) for p, v in when.items()}, _rename(then))
            for when, then in merge(program.guards)
        ]
        answers = {
            _rename(self.rule.symbol(k, ANSWER)): 1 if program.readout.get(s, 0) > 0 else -1
            for k in range(self.rule.states)
            for s in [self.rule.symbol(k, ANSWER)]
            if s in program.index
        }
        return LearnerProgram(
            f"{self.family} (learned)",
            CellularProgram(symbols, BORDER, guards, name=program.name),
            {0: "D0", 1: "D1"},
            answers,
            time=family.time,
            reference=family.reference,
            description=f"{family.description}, a rule learned by SGD ({len(guards)} entries)",
        )

    def to_json(self) -> dict:
        return {"family": self.family, "rule": self.rule.to_json()}

    @classmethod
    def from_json(cls, blob: dict) -> MetaRule:
        if not isinstance(blob, dict) or set(blob) != {"family", "rule"}:
            raise ValueError("a learned learner file holds exactly 'family' and 'rule'")
        if not isinstance(blob["family"], str):
            raise ValueError("its family must be a name")
        get_family(blob["family"])
        rule = Rule.from_json(blob["rule"])
        if rule.inputs.shape != (len(INPUTS), len(INPUTS)):
            raise ValueError(f"its inputs must be the {len(INPUTS)} layout symbols")
        if not 2 <= rule.states <= MAX_SYMBOLS:
            raise ValueError(f"its states must be 2..{MAX_SYMBOLS}, got {rule.states}")
        if any(len(g.when) != 9 for g in rule.program.guards):
            raise ValueError("every guard must name all 9 positions (inside the frame)")
        return cls(rule, blob["family"])

    def save(self, path: str) -> None:
        """The learned learner as JSON, sealed by its content hash (integrity.py)."""
        guard.write_text(path, sealed_json(self.to_json()))

    @classmethod
    def load(cls, path: str, sealed: bool = True) -> MetaRule:
        """A learned learner saved by save() (`sealed`: its content hash checked)."""
        return load_json(path, cls.from_json, "learned learner", "not a learned learner", sealed)

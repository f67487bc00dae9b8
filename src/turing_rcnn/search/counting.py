"""Exact accounting for the search: how likely a random draw is to be a shipped learner,
and the exhaustive count of the answer-rule family on a given problem.

`log10_paper` / `log10_program`: the exact log10-probability that a draw from each
initialiser of priors.py is (equivalent to) a shipped learner; see their docstrings for
what counts. `exact_fraction`: the exact share of the answer-rule family (8 positions x
3^10 maps) that reaches a validation error, by enumerating what each rule can see.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from ..algorithm1 import lemma1_memory
from ..compile import compile_program
from ..frame import build_frame, frame_layers
from ..model import augment
from ..programs.cellular import CENTRE, COMPASS
from ..programs.learning import LAYOUT, LearnerProgram, get_learner
from ..programs.turing import HALT
from .priors import NEIGHBOURS, AnswerRulePrior, paper_values


def sightings(prior: AnswerRulePrior, X, y, X_val) -> dict[str, list[list[str]]]:
    """Per position, per validation input: the layout symbols that neighbour of the
    answer cell holds, in order, on the layers where the answer cell holds '?' and a
    rule could still answer by the last layer. Read off a rule-free learner in the
    frame (the frame's cells never look at the answer cell's answer)."""
    m, d = np.shape(X)
    compiled = compile_program(build_frame(prior.learner("N", {})))
    net = compiled.network(layers=1, d=d, m=m, work_columns=1)
    with torch.no_grad():
        net.memory.copy_(lemma1_memory(X, y, m + 1, torch.float32))
        grid = net.grid(augment(torch.as_tensor(np.asarray(X_val), dtype=torch.float32)))
        frames = [compiled.decode(grid[:, 0])]
        for _ in range(frame_layers(m, d, prior.time) - 1):
            grid = net.run_body(grid, layers=1)
            frames.append(compiled.decode(grid[:, 0]))
    names = compiled.program.symbols
    r, c = m, d  # the answer cell
    seen: dict[str, list[list[str]]] = {p: [[] for _ in range(len(X_val))] for p in NEIGHBOURS}
    for f in frames:
        for i in np.flatnonzero(f[:, r, c] == names.index("?")):
            for p in NEIGHBOURS:
                dr, dc = COMPASS[p]
                inside = 0 <= r + dr < f.shape[1] and 0 <= c + dc < f.shape[2]
                sym = names[f[i, r + dr, c + dc]] if inside else "#"
                if sym in LAYOUT:
                    seen[p][i].append(sym)
    return seen


def rule_answers(mapping: dict[str, str | None], seen: list[list[str]]) -> np.ndarray:
    """+-1 per input (0: never answered) of a rule, given its position's sightings."""
    out = np.zeros(len(seen), dtype=np.int8)
    for i, seq in enumerate(seen):
        hit = next((mapping[s] for s in seq if mapping.get(s)), None)
        out[i] = {"+": 1, "-": -1, None: 0}[hit]
    return out


def exact_fraction(prior: AnswerRulePrior, X, y, X_val, y_val, max_error: float = 0.0) -> float:
    """The exact fraction of the family whose validation error is <= max_error.

    A rule's answers depend only on its position and on the map's values at the
    symbols that ever show there, so each position contributes 1/8 times the share
    of the 3^k maps on those k symbols that succeed (enumerated one by one). An
    input the rule never answers gives output 0, read as +1 (restarts.sign), as the
    network's output is read."""
    seen, y_val, total = sightings(prior, X, y, X_val), np.asarray(y_val), 0.0
    for p in NEIGHBOURS:
        symbols = sorted({s for seq in seen[p] for s in seq})
        good = 0
        for values in itertools.product(prior.outcomes, repeat=len(symbols)):
            pred = rule_answers(dict(zip(symbols, values, strict=True)), seen[p])
            good += np.mean(np.where(pred == 0, 1, pred) != y_val) <= max_error
        total += int(good) / 3 ** len(symbols) / len(NEIGHBOURS)
    return float(total)


def frame_size(learner: LearnerProgram) -> int:
    """s for U_s: the number of symbols of the frame program around the learner."""
    return len(build_frame(learner).symbols)


def log10_paper(name: str) -> dict:
    """(a): the exact log10-probability that every one of the P shared weights of the
    learner's compiled filter (in its own architecture) is drawn right from U_s:
    -P log10 |U_s|. Drawing an *equivalent* filter (e.g. permuted hidden units) is
    likelier by at most the number of such symmetries, which this leaves out."""
    learner = get_learner(name)
    s = frame_size(learner)
    compiled = compile_program(build_frame(learner))
    if not np.isin(compiled.weight_values, paper_values(s)).all():
        raise AssertionError(f"{name}: a compiled weight is not in U_{s}")
    P = compiled.parameter_count
    log10_p = -P * math.log10(len(paper_values(s)))
    return {"s": s, "U_s": len(paper_values(s)), "parameters": P, "log10_p": log10_p}


def log10_program(name: str) -> dict:
    """(b): the exact log10-probability of drawing a program equivalent to the learner.

    Turing learners under TuringPrior(s): every defined transition drawn right, any
    renaming of the s - 1 non-start states, any move on a halting transition (the
    head never moves after halting), undefined entries arbitrary (the shipped
    machines never reach them on a valid layout; tests check this for every label
    pattern up to m = 8): (s-1)! 4^halts / choices^defined.
    last-label under AnswerRulePrior: position N and the two symbols that occur
    there (L0, L1) drawn right, the other 8 symbols arbitrary: 1/8 * 1/3^2.
    Other cellular learners (gauss) under the generic guard family: R guards, each
    drawing for each of the 9 positions a subset of the k-symbol alphabet and a
    target: R! / (2^(9k) k)^R, the probability of drawing exactly its rule set.
    """
    learner = get_learner(name)
    if learner.machine is not None:
        machine = learner.machine
        s = machine.n_states
        defined = [t for row in machine.table for t in row if t is not None]
        halts = sum(t.next == HALT for t in defined)
        choices = machine.n_symbols * 4 * (s + 1)
        log10_p = (
            math.lgamma(s) / math.log(10)
            + halts * math.log10(4)
            - len(defined) * math.log10(choices)
        )
        family = f"Turing machines, {s} states over {machine.n_symbols} symbols"
        return {"family": family, "defined_transitions": len(defined), "log10_p": log10_p}
    rules = learner.program.rules
    if all(set(r.when) <= {CENTRE, COMPASS["N"]} and r.when.get(CENTRE) == {"?"} for r in rules):
        log10_p = -math.log10(8) - len(rules) * math.log10(3)
        return {"family": "answer rules", "rules": len(rules), "log10_p": log10_p}
    k, R = len(learner.program.symbols), len(rules)
    log10_p = math.lgamma(R + 1) / math.log(10) - R * (9 * k * math.log10(2) + math.log10(k))
    return {"family": f"guard programs over {k} symbols", "rules": R, "log10_p": log10_p}

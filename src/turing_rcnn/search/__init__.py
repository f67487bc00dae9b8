"""Turing-optimal search (the paper's Corollary 2, Algorithm 2 and Section 5): random
initialisations of the filter (priors), exact counting of what they can find
(counting), restarts kept by validation (restarts), and where they run (backends)."""

from .backends import BACKENDS
from .counting import exact_fraction, log10_paper, log10_program, rule_answers, sightings
from .priors import AnswerRulePrior, Candidate, PaperInit, TuringPrior, paper_values
from .restarts import (
    Algorithm2,
    SearchConfig,
    SearchResult,
    TuringOptimalLearner,
    evaluate,
    predict_with,
    reuse,
    search,
    wilson_interval,
)

__all__ = [
    "BACKENDS",
    "Algorithm2",
    "AnswerRulePrior",
    "Candidate",
    "PaperInit",
    "SearchConfig",
    "SearchResult",
    "TuringOptimalLearner",
    "TuringPrior",
    "evaluate",
    "exact_fraction",
    "log10_paper",
    "log10_program",
    "paper_values",
    "predict_with",
    "reuse",
    "rule_answers",
    "search",
    "sightings",
    "wilson_interval",
]

"""Turing-optimal search (the paper's Corollary 2, Algorithm 2 and Section 5): random
initialisations of the filter (priors), exact counting of what they can find
(counting), restarts kept by validation (restarts), and where they run (backends)."""

from turing_rcnn._lazy import lazy  # names load on first use (PEP 562)

_WHERE = {
    "BACKENDS": ".config",
    "exact_fraction": ".counting",
    "log10_paper": ".counting",
    "log10_program": ".counting",
    "rule_answers": ".counting",
    "sightings": ".counting",
    "AnswerRulePrior": ".priors",
    "Candidate": ".priors",
    "PaperInit": ".priors",
    "TuringPrior": ".priors",
    "paper_values": ".priors",
    "SearchConfig": ".config",
    "Algorithm2": ".restarts",
    "SearchResult": ".restarts",
    "TuringOptimalLearner": ".restarts",
    "evaluate": ".restarts",
    "predict_with": ".restarts",
    "reuse": ".restarts",
    "search": ".restarts",
    "wilson_interval": ".restarts",
}

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

__getattr__, __dir__ = lazy(__name__, _WHERE)

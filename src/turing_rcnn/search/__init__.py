"""Turing-optimal search (the paper's Corollary 2, Algorithm 2 and Section 5): random
initialisations of the filter (priors), exact counting of what they can find
(counting), restarts kept by validation (restarts), and where they run (backends)."""

# Names load on first use (PEP 562), so that `import turing_rcnn` and the CLI's --help
# do not pay for torch and scikit-learn before they are needed.
from importlib import import_module

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


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

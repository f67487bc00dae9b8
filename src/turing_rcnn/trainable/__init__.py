"""The trainable wing: grid tasks, a recurrent filter trained by gradient descent to run
an algorithm on inputs larger than any it saw, and the analysis of what it learned
against the tasks' exact rules (compiled by the core)."""

# Names load on first use (PEP 562), so that `import turing_rcnn` and the CLI's --help
# do not pay for torch and scikit-learn before they are needed.
from importlib import import_module

_WHERE = {
    "compare_with_rule": ".analysis",
    "extract_rule": ".analysis",
    "quantise_weights": ".analysis",
    "settle_times": ".analysis",
    "RecurrentFilter": ".filter",
    "AlgoConfig": ".config",
    "AlgorithmLearner": ".learner",
    "History": ".learner",
    "ALGO_TASKS": ".tasks",
    "Addition": ".tasks",
    "AlgoTask": ".tasks",
    "FloodFill": ".tasks",
    "Maze": ".tasks",
    "PrefixParity": ".tasks",
    "get_algo_task": ".tasks",
}

__all__ = [
    "ALGO_TASKS",
    "Addition",
    "Maze",
    "mazes",
    "AlgoConfig",
    "AlgoTask",
    "AlgorithmLearner",
    "FloodFill",
    "History",
    "PrefixParity",
    "RecurrentFilter",
    "compare_with_rule",
    "extract_rule",
    "get_algo_task",
    "quantise_weights",
    "settle_times",
]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

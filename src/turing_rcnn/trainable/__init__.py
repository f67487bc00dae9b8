"""The trainable wing: grid tasks, a recurrent filter trained by gradient descent to run
an algorithm on inputs larger than any it saw, and the analysis of what it learned
against the tasks' exact rules (compiled by the core)."""

from turing_rcnn._lazy import lazy  # names load on first use (PEP 562)

_WHERE = {
    "compare_with_rule": ".analysis",
    "extract_rule": ".analysis",
    "quantise_weights": ".analysis",
    "settle_times": ".analysis",
    "RecurrentFilter": ".filter",
    "AlgoConfig": ".config",
    "MetaConfig": ".config",
    "MetaLearner": ".meta",
    "MetaRule": ".meta",
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
    "MetaConfig",
    "MetaLearner",
    "MetaRule",
    "PrefixParity",
    "RecurrentFilter",
    "compare_with_rule",
    "extract_rule",
    "get_algo_task",
    "quantise_weights",
    "settle_times",
]

__getattr__, __dir__ = lazy(__name__, _WHERE)

"""The trainable wing: grid tasks, a recurrent filter trained by gradient descent to run
an algorithm on inputs larger than any it saw, and the analysis of what it learned
against the tasks' exact rules (compiled by the core)."""

from . import mazes
from .analysis import compare_with_rule, extract_rule, quantise_weights, settle_times
from .filter import RecurrentFilter
from .learner import AlgoConfig, AlgorithmLearner, History
from .tasks import ALGO_TASKS, Addition, AlgoTask, FloodFill, Maze, PrefixParity, get_algo_task

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

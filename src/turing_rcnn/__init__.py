"""turing-rcnn: recurrent convolutional networks that learn succinct learning algorithms.

Data flows one way: task -> learner program -> compile -> model -> train -> predict.
"""

from .algotrain import AlgoConfig, AlgorithmLearner
from .learners import SGDMLP, GaussianElimination, gauss_reference
from .model import RCNN, RCNNConfig, SharedWeights, augment
from .search import SearchConfig, TuringOptimalLearner
from .tasks import ParityData, ParityTask, parity_labels, spanning_probability

__all__ = [
    "AlgoConfig",
    "AlgorithmLearner",
    "SearchConfig",
    "TuringOptimalLearner",
    "RCNN",
    "RCNNConfig",
    "SharedWeights",
    "augment",
    "GaussianElimination",
    "SGDMLP",
    "gauss_reference",
    "ParityData",
    "ParityTask",
    "parity_labels",
    "spanning_probability",
]
__version__ = "0.1.0"

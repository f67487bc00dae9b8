"""turing-rcnn: recurrent convolutional networks that learn succinct learning algorithms.

Data flows one way: task -> learner program -> compile -> model -> Algorithm 1 ->
predict. The core is flat (model, programs, compile, frame, algorithm1, tasks); each
wing is a subpackage that imports the core: baselines, search, trainable, app.
"""

from .algorithm1 import RCNNLearner, algorithm1
from .baselines import SGDMLP, GaussianElimination
from .compile import CompiledProgram, compile_program
from .frame import build_frame, layers_needed
from .model import RCNN, RCNNConfig, SharedWeights, augment
from .programs.learning import gauss_reference, get_learner
from .search import Algorithm2, SearchConfig, TuringOptimalLearner
from .tasks import ParityData, ParityTask, parity_labels, spanning_probability
from .trainable import AlgoConfig, AlgorithmLearner

__all__ = [
    "RCNN",
    "RCNNConfig",
    "SharedWeights",
    "augment",
    "compile_program",
    "CompiledProgram",
    "build_frame",
    "layers_needed",
    "get_learner",
    "algorithm1",
    "RCNNLearner",
    "GaussianElimination",
    "SGDMLP",
    "gauss_reference",
    "ParityData",
    "ParityTask",
    "parity_labels",
    "spanning_probability",
    "SearchConfig",
    "TuringOptimalLearner",
    "Algorithm2",
    "AlgoConfig",
    "AlgorithmLearner",
]
__version__ = "0.2.0"

"""turing-rcnn: recurrent convolutional networks that learn succinct learning algorithms.

Data flows one way: task -> learner program -> compile -> model -> Algorithm 1 ->
predict. The core is flat (model, programs, compile, frame, algorithm1, tasks); each
wing is a subpackage that imports the core: baselines, search, trainable, app.
"""

from turing_rcnn._lazy import lazy  # names load on first use (PEP 562)

_WHERE = {
    "RCNNLearner": ".algorithm1",
    "algorithm1": ".algorithm1",
    "SGDMLP": ".baselines",
    "GaussianElimination": ".baselines",
    "CompiledProgram": ".compile",
    "compile_program": ".compile",
    "build_frame": ".frame",
    "layers_needed": ".frame",
    "RCNN": ".model",
    "RCNNConfig": ".model",
    "SharedWeights": ".model",
    "augment": ".model",
    "gauss_reference": ".programs.learning",
    "get_learner": ".programs.learning",
    "Algorithm2": ".search",
    "SearchConfig": ".search",
    "TuringOptimalLearner": ".search",
    "ParityData": ".tasks",
    "ParityTask": ".tasks",
    "parity_labels": ".tasks",
    "spanning_probability": ".tasks",
    "AlgoConfig": ".trainable",
    "AlgorithmLearner": ".trainable",
}
__version__ = "0.2.0"

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

__getattr__, __dir__ = lazy(__name__, _WHERE)

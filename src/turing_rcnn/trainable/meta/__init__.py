"""SGD learns the LEARNER: a finite-state filter meta-trained over many learning problems,
its rule read off, verified, and run inside the Theorem 1 frame by Algorithm 1.

A filter meta-trains on problems laid out and revealed exactly as the frame hands them
to a learner program, for exactly the frame's layers, so the rule read off it, wrapped
as a LearnerProgram (`MetaRule.learner`), runs in the frame as it ran in training.
Families whose answer depends only on the labels train with the data and test cells
read-only (a prior, said in the docs). The files, in the order a run meets them:

    families.py      the learner families (reference, time bound t(m, d), hint) and
                     random problems drawn from them
    layout.py        the layout, the layer the frame reveals each cell at, and
                     `layer_states`: the one loop that runs a filter or a table on that
                     schedule (training, read-off, verification, bench_meta's departures)
    hints.py         a family's hand-written learner's trace on the schedule (hints)
    teacher.py       a column program found from the answers alone and its trace
                     (--teacher: what SGD fits instead of a hand-written hint)
    learner.py       MetaLearner: Adam on the answer cell (or the hint's trace), freezing
    rule.py          read_rule (every neighbourhood met, merged into guards), MetaRule
    table.py         a rule as a byte-keyed lookup table; run_meta_rule
    verification.py  verify: exhaustive, label patterns, random large, stable, in the frame
"""

from .families import (
    FAMILIES,
    LARGE,
    Family,
    every_label_pattern,
    get_family,
    nearest_neighbour_reference,
    sample,
)
from .hints import hint_start, hint_trace
from .layout import (
    ANSWER,
    INPUTS,
    active_layers,
    filter_states,
    layer_states,
    layers_for,
    layout_codes,
    raw_symbols,
    reveal_layers,
    schedule,
)
from .learner import MetaHistory, MetaLearner, run_filter
from .rule import MetaRule, read_rule
from .table import Table, run_meta_rule
from .verification import SMALL, verify

__all__ = [
    "ANSWER",
    "FAMILIES",
    "INPUTS",
    "LARGE",
    "SMALL",
    "Family",
    "MetaHistory",
    "MetaLearner",
    "MetaRule",
    "Table",
    "active_layers",
    "every_label_pattern",
    "filter_states",
    "get_family",
    "hint_start",
    "hint_trace",
    "layer_states",
    "layers_for",
    "layout_codes",
    "nearest_neighbour_reference",
    "raw_symbols",
    "read_rule",
    "reveal_layers",
    "run_filter",
    "run_meta_rule",
    "sample",
    "schedule",
    "verify",
]

"""Training sweeps: N seeds x named settings of the trainable filter, each run trained,
tested and (finite state) extracted and verified, on the search's backends
(in-process, process pool, Ray), resumable, summarised as success rates with 95%
Wilson intervals (`turing-rcnn sweep`): config (settings, SweepConfig; no torch),
runs (one run, the driver, the checkpoint), table (rates, text, picture)."""

from turing_rcnn._lazy import lazy  # names load on first use (PEP 562)

_WHERE = {
    "SETTINGS": ".config",
    "Setting": ".config",
    "SweepConfig": ".config",
    "run": ".runs",
    "run_one": ".runs",
    "sweep": ".runs",
    "as_text": ".table",
    "plot": ".table",
    "summarise": ".table",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy(__name__, _WHERE)

"""What a network can run: cellular rules and Turing machines, each with a plain
reference simulator that tests hold the compiled network against. No torch here."""

from .cellular import COMPASS, CellularProgram, Guard, Shift
from .turing import TMResult, Transition, TuringMachine

__all__ = [
    "COMPASS",
    "CellularProgram",
    "Guard",
    "Shift",
    "TMResult",
    "Transition",
    "TuringMachine",
]

"""From a trained discrete filter to an exact rule: read the table, write a
CellularProgram, compile it, run it in the RCNN.

A DiscreteFilter's cell update is a function of its 3x3 neighbourhood of (symbol,
input) pairs, so a table of those neighbourhoods IS the learned algorithm. The rule's
alphabet is the border '#' and one symbol "s<state>i<input>" per (state, input code);
input codes number the distinct input vectors of the task (an input never changes, so
a cell only ever moves between symbols of its own input code). Every neighbourhood met
while running the network on the given inputs becomes a Guard (where it changes the
state); positions that never vary (the rows above and below a 1-row grid) are left
out. The table is complete where it is small: on a 1-row grid every (W, C, E) triple,
and for a filter that reads the cross (cell and 4 neighbours; `neighbourhood="cross"`)
every (N, W, C, E, S) is asked of the network, whether a run meets it or not, so the
rule IS the network's cell update on every grid; its entries are then merged exactly
into guards over symbol sets (`merge`). On 2-D grids with the 3x3 square, only the
neighbourhoods met on the given inputs are read; those never met keep their state in
the rule: verify.py finds out whether that matters.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .. import guard, integrity
from ..programs.cellular import COMPASS, CellularProgram, Guard
from .config import MAX_SYMBOLS
from .filter import DiscreteFilter

_POSITIONS = list(COMPASS)  # row-major: NW N NE W C E SW S SE
BORDER = "#"
UNREAD = -2  # a table row's state and code at a position the filter does not read
ANY = "*"  # in a rule file: every symbol (a position the rule does not read)
MAX_TABLE = 2_000_000  # neighbourhoods a complete cross table may ask of the network
# What a rule file may hold (Rule.from_json): a cell's states, input codes (and input
# channels), guards, and neighbourhoods its guards' symbol sets expand to in all (twice
# MAX_TABLE: what extract can write, with room).
MAX_STATES, MAX_CODES, MAX_GUARDS, MAX_ENTRIES = MAX_SYMBOLS, 16, 1_000_000, 4_000_000
MIN_ACCURACY = 0.05  # the least accuracy at its training size of a filter extract reads
RULE_FIELDS = {"task", "states", "inputs", "symbols", "border", "guards", "readout"}


@dataclass
class Rule:
    """An extracted rule and what it needs to run on the task's inputs.

    program: the CellularProgram; inputs: the input vector of each input code (so a
    task input becomes the initial symbols s0i<code>); task: the task's name."""

    program: CellularProgram
    inputs: np.ndarray  # (codes, channels)
    task: str
    states: int

    def symbol(self, state: int, code: int) -> str:
        return f"s{state}i{code}"

    def state_code(self, name: str) -> tuple[int, int]:
        """(state, input code) of a symbol name made by `symbol`; (-1, -1) for the border."""
        if name == self.program.border:
            return -1, -1
        state, code = name[1:].split("i")
        return int(state), int(code)

    def initial(self, x: torch.Tensor) -> np.ndarray:
        """Task inputs (B, C, H, W) -> (B, H, W) indices of the initial symbols."""
        codes = input_codes(x, self.inputs)
        names = np.array([self.program.index[self.symbol(0, c)] for c in range(len(self.inputs))])
        return names[codes]

    def answers(self, grid: np.ndarray) -> np.ndarray:
        """Symbol indices -> {0, 1} predictions (B, 1, H, W)."""
        return (self.program.readout_values()[grid] > 0).astype(np.float32)[:, None]

    def to_json(self) -> dict:
        """The rule as a JSON object; a guard's set holding every symbol (a position the
        rule does not read) is written ANY."""
        every = set(self.program.symbols)
        guards = [
            {
                "when": {_name(p): ANY if s >= every else sorted(s) for p, s in g.when.items()},
                "then": g.then,
            }
            for g in self.program.guards
        ]
        return {
            "task": self.task,
            "states": self.states,
            "inputs": self.inputs.tolist(),
            "symbols": self.program.symbols,
            "border": self.program.border,
            "guards": guards,
            "readout": self.program.readout,
            "name": self.program.name,
        }

    @classmethod
    def from_json(cls, blob: dict) -> Rule:
        """A rule from its JSON (to_json), every field checked first: types, sizes within
        MAX_STATES, MAX_CODES, MAX_GUARDS and MAX_ENTRIES (so nothing big is built)."""
        _check_blob(blob)
        try:
            _check_names(blob)
            every = frozenset(blob["symbols"])  # one set shared by every ANY (not a copy each)
            guards = [
                Guard({p: every if v == ANY else v for p, v in g["when"].items()}, g["then"])
                for g in blob["guards"]
            ]
            program = CellularProgram(
                blob["symbols"],
                blob["border"],
                guards,
                blob["readout"],
                name=blob.get("name", "extracted rule"),
            )
            return cls(
                program,
                np.asarray(blob["inputs"], dtype=np.float32),
                blob["task"],
                blob["states"],
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"not a rule file: {err!r} missing or malformed") from None

    def save(self, path: str) -> None:
        """The rule as JSON, sealed by its content hash (integrity.py)."""
        guard.write_text(path, sealed_json(self.to_json()))

    @classmethod
    def load(cls, path: str, sealed: bool = True) -> Rule:
        """A rule saved by save(); a ValueError naming what is wrong with any other file
        (`sealed`: its content hash must be there and match; False: integrity.reseal)."""
        return load_json(path, cls.from_json, "rule", "not a valid rule", sealed)


def sealed_json(blob: dict) -> str:
    """JSON text of `blob` with its content hash (integrity.HASH_KEY) added."""
    blob = blob | {integrity.HASH_KEY: integrity.content_hash(blob)}
    return json.dumps(blob, separators=(",", ":")) + "\n"


def load_json(path: str, from_json, what: str, invalid: str, sealed: bool = True):
    """from_json(the JSON in the file `path`), read within integrity's bounds; a
    ValueError naming the file, saying 'cannot read a <what>' for a file that is not
    JSON text (or too big, or too deep) and `invalid` for JSON from_json refuses; then,
    if `sealed`, the content hash is checked (Rule.load, meta.MetaRule.load)."""
    blob = integrity.read_json(path, what)
    seal = blob.pop(integrity.HASH_KEY, None) if isinstance(blob, dict) else None
    try:
        value = from_json(blob)
    except ValueError as err:
        raise ValueError(f"{path}: {invalid} ({err})") from None
    if sealed:
        integrity.check_seal(path, seal, integrity.content_hash(blob))
    return value


def _whole(value, name: str, low: int, high: int) -> int:
    """`value` if it is a JSON integer in low..high (not 2.0, not true); else a ValueError."""
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number in {low}..{high:,}, got {value!r}")
    return value


def _is_number(v) -> bool:
    """A JSON number that is finite in float32 (inputs are float32; 1e300 would be inf)."""
    return type(v) in (int, float) and abs(v) < 1e38


def _check_blob(blob) -> None:
    """The fields of a rule's JSON, their types and sizes, before anything is built:
    at most MAX_STATES states and MAX_CODES input codes, then the guards."""
    if not isinstance(blob, dict):
        raise ValueError(f"not a rule file: a JSON object is needed, got {type(blob).__name__}")
    missing = sorted(RULE_FIELDS - set(blob))
    if missing:
        raise ValueError(f"not a rule file: {missing} missing")
    _whole(blob["states"], "states", 1, MAX_STATES)
    inputs = blob["inputs"]
    if not isinstance(inputs, list) or not 1 <= len(inputs) <= MAX_CODES:
        raise ValueError(f"inputs must be a list of 1..{MAX_CODES} input vectors")
    width = len(inputs[0]) if isinstance(inputs[0], list) else -1
    if not 1 <= width <= MAX_CODES or not all(
        isinstance(v, list) and len(v) == width and all(map(_is_number, v)) for v in inputs
    ):
        raise ValueError("inputs must be input vectors of one length, of finite float32 numbers")
    if not isinstance(blob["task"], str) or not isinstance(blob.get("name", ""), str):
        raise ValueError("task and name must be strings")
    symbols, border = blob["symbols"], blob["border"]
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise ValueError("symbols must be a list of names")
    if not isinstance(border, str):
        raise ValueError("border must be a symbol name")
    readout = blob["readout"]
    if not isinstance(readout, dict) or not all(map(_is_number, readout.values())):
        raise ValueError("readout must map symbols to finite numbers")
    _check_guards(blob["guards"], len(set(symbols)))


def _check_guards(guards, alphabet: int) -> None:
    """A rule file's guards: at most MAX_GUARDS, each {'when': {position: symbol or
    list}, 'then': symbol}, and their symbol sets' products (counted, not expanded)
    within MAX_ENTRIES in all; a position at which every guard names all `alphabet`
    symbols (one the rule does not read: Table does not expand it) counts once."""
    if not isinstance(guards, list) or len(guards) > MAX_GUARDS:
        raise ValueError(f"guards must be a list of at most {MAX_GUARDS:,} guards")
    for i, g in enumerate(guards):
        if not isinstance(g, dict) or set(g) != {"when", "then"} or not isinstance(g["then"], str):
            raise ValueError(f"guard {i} must be an object with 'when' and a 'then' symbol")
        when = g["when"]
        if not isinstance(when, dict) or not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))
            for v in when.values()
        ):
            raise ValueError(f"guard {i}: 'when' must map positions to symbols or lists of them")
    sizes = [
        {
            p: alphabet if v == ANY else 1 if isinstance(v, str) else len(set(v))
            for p, v in g["when"].items()
        }
        for g in guards
    ]
    free = set.intersection(*(set(s) for s in sizes)) if sizes else set()
    free = {p for p in free if all(s[p] == alphabet for s in sizes)}
    entries = 0
    for i, size in enumerate(sizes):
        entries += math.prod(n for p, n in size.items() if p not in free)
        if entries > MAX_ENTRIES:
            raise ValueError(
                f"guard {i} (symbol sets of {' x '.join(map(str, size.values()))}) brings the "
                f"rule's table past {MAX_ENTRIES:,} neighbourhoods (extract.MAX_ENTRIES)"
            )


def _check_names(blob: dict) -> None:
    """The symbols are the border and s<state>i<code> for every state below `states` and
    code of `inputs` (each first symbol s0i<code> present), and no guard changes a cell's
    input code: what verify's checks, and its every-length argument, rely on."""
    states, codes = blob["states"], len(blob["inputs"])
    pattern = re.compile(r"s(\d+)i(\d+)")
    for name in blob["symbols"]:
        match = pattern.fullmatch(name)
        if name != blob["border"] and not (
            match and int(match[1]) < states and int(match[2]) < codes
        ):
            raise ValueError(f"symbol {name!r} is not s<state>i<code> for {states} states")
    names = set(blob["symbols"])  # a set: linear in the rule's size
    missing = [f"s0i{c}" for c in range(codes) if f"s0i{c}" not in names]
    if missing:
        raise ValueError(f"the first symbols {missing} are missing")
    for g in blob["guards"]:
        centre = g["when"].get("C")
        if centre is None:
            raise ValueError("every guard must name the centre cell C")
        centre = centre if isinstance(centre, list) else [centre]
        if any(c.split("i")[-1] != g["then"].split("i")[-1] for c in centre):
            raise ValueError(f"a guard changes a cell's input code: {centre} -> {g['then']!r}")


def _name(position) -> str:
    return next(name for name, p in COMPASS.items() if p == position)


def table_entries(program: CellularProgram) -> int:
    """The neighbourhoods a rule's guards change (a merged guard: the product of its
    symbol sets; a position where every guard names every symbol, one the rule does not
    read, counted once), i.e. its table's size where the state changes."""
    free = free_positions(program)
    return sum(
        int(np.prod([len(s) for p, s in g.when.items() if p not in free])) for g in program.guards
    )


def free_positions(program: CellularProgram) -> set:
    """The positions at which every guard names every symbol of the program: the rule
    does not read them (inside the Theorem 1 frame they still say "a learner symbol")."""
    alphabet = set(program.symbols)
    named = {p for g in program.guards for p in g.when}
    return {p for p in named if all(set(g.when.get(p, ())) >= alphabet for g in program.guards)}


def input_codes(x: torch.Tensor, inputs: np.ndarray) -> np.ndarray:
    """(B, H, W) code of each cell's input vector; a ValueError for an unknown one."""
    cells = np.asarray(x, dtype=np.float32).transpose(0, 2, 3, 1)  # (B, H, W, C)
    match = (cells[..., None, :] == inputs).all(-1)  # (B, H, W, codes)
    if not match.any(-1).all():
        raise ValueError("an input vector the rule has no code for")
    return match.argmax(-1)


def _states(net: DiscreteFilter, x: torch.Tensor, iterations: int) -> list[np.ndarray]:
    """The symbol of every cell after 0..iterations steps."""
    with torch.no_grad():
        state, recalled = net.initial_state(x), net.recall(x)
        out = [state.argmax(1).numpy()]
        for _ in range(iterations):
            state = net.step(state, recalled)
            out.append(state.argmax(1).numpy())
    return out


def _next_symbol(net: DiscreteFilter, states: np.ndarray, codes: np.ndarray, inputs) -> np.ndarray:
    """The network's next state for (n, 9) neighbourhoods of states and input codes
    (-1: beyond the grid, a zero state and a zero input)."""
    k, n = net.symbols, len(states)
    one_hot = np.zeros((n, k, 3, 3), dtype=np.float32)
    vec = np.zeros((n, inputs.shape[1], 3, 3), dtype=np.float32)
    for j in range(9):
        r, c = divmod(j, 3)
        inside = states[:, j] >= 0
        one_hot[inside, states[inside, j], r, c] = 1.0
        vec[inside, :, r, c] = inputs[codes[inside, j]]
    with torch.no_grad():  # the network's own step on the patch; its centre's answer
        state, x = torch.as_tensor(one_hot), torch.as_tensor(vec)
        return net.logits(state, net.recall(x))[:, :, 1, 1].argmax(1).numpy()


def _neighbourhoods(grid: np.ndarray) -> np.ndarray:
    """(B, H, W) -> (B*H*W, 9) values of every 3x3 neighbourhood, -1 beyond the grid."""
    padded = np.pad(grid, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    H, W = grid.shape[1:]
    return np.stack(
        [padded[:, r : r + H, c : c + W] for r in range(3) for c in range(3)], -1
    ).reshape(-1, 9)


def input_vectors(xs: list) -> np.ndarray:
    """The distinct input vectors of the cells of (B, C, H, W) batches: the input codes."""
    flat = [x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]).numpy() for x in xs]
    return np.unique(np.concatenate(flat), axis=0)


def neighbourhood_keys(learner, xs: list, inputs: np.ndarray) -> np.ndarray:
    """Every distinct 3x3 neighbourhood of (state, input code) a finite-state learner meets
    at any iteration of its runs on `xs`, as sorted int64 keys (9 digits, -1 beyond the
    grid stored as 0)."""
    net = learner.net_
    base = (net.symbols + 1) * (len(inputs) + 1)
    keys = np.zeros(0, dtype=np.int64)
    for x in xs:
        codes = _neighbourhoods(input_codes(x, inputs)) + 1
        for grid in _states(net, x, learner.iterations_for(x)):
            digits = (_neighbourhoods(grid) + 1) * (len(inputs) + 1) + codes
            keys = np.union1d(keys, np.unique(digits @ (base ** np.arange(8, -1, -1))))
    return keys


def extract(learner, xs: list, complete_one_row: bool = True) -> Rule:
    """The rule of a fitted learner with a DiscreteFilter, from runs on the inputs `xs`
    (a list of (B, C, H, W) batches, any sizes; each run for the task's budget)."""
    net = _finite_state(learner)
    xs = [learner.task_.check_inputs(x)[0] for x in xs]
    inputs = input_vectors(xs)
    one_row = all(x.shape[2] == 1 for x in xs)
    complete_cross = net.cross and not one_row
    if complete_cross:
        count = net.symbols * len(inputs) * (net.symbols * len(inputs) + 1) ** 4
        if count > MAX_TABLE:
            raise ValueError(
                f"a cross table of {net.symbols} symbols x {len(inputs)} input codes has "
                f"{count:,} neighbourhoods (at most {MAX_TABLE:,} are read): use fewer symbols"
            )
    if one_row and complete_one_row:  # every (W, C, E) triple, N and S beyond the grid
        rows = _every_neighbourhood(net.symbols, len(inputs), (3, 5))
    elif complete_cross:  # every (N, W, C, E, S): the corners are never read
        rows = _every_neighbourhood(net.symbols, len(inputs), (1, 3, 5, 7))
    else:  # every neighbourhood met, as one int64 key: 9 digits of (state, code)
        base = (net.symbols + 1) * (len(inputs) + 1)
        keys = neighbourhood_keys(learner, xs, inputs)
        digits = (keys[:, None] // base ** np.arange(8, -1, -1)) % base
        rows = np.concatenate([digits // (len(inputs) + 1) - 1, digits % (len(inputs) + 1) - 1], 1)
    nxt = _next_symbol(net, rows[:, :9], rows[:, 9:], inputs)
    if one_row and complete_one_row:
        keep = _reachable_one_row(rows, nxt)
        rows, nxt = rows[keep], nxt[keep]
    return _program(net, rows, nxt, inputs, learner.config_.task, merged=complete_cross)


def _finite_state(learner) -> DiscreteFilter:
    """A fitted learner's DiscreteFilter; a ValueError for a continuous state."""
    check_is_fitted(learner)
    if not isinstance(learner.net_, DiscreteFilter):
        raise ValueError("extract needs a learner trained with a finite state (--symbols k)")
    return learner.net_


def check_trained(learner, x, y) -> float:
    """The learner's accuracy on (x, y), inputs of its training size; a ValueError when
    it is below MIN_ACCURACY: an untrained filter's table is noise, not a rule."""
    _finite_state(learner)
    accuracy = learner.score(x, y)
    if accuracy < MIN_ACCURACY:
        raise ValueError(
            f"the filter answers {accuracy:.1%} of {len(x)} inputs of its training size right "
            f"(below {MIN_ACCURACY:.0%}, extract.MIN_ACCURACY): it has no rule worth reading "
            "off; train it longer (--max-steps, --max-minutes)"
        )
    return accuracy


def _every_neighbourhood(k: int, codes: int, around: tuple[int, ...]) -> np.ndarray:
    """Table rows (9 states, 9 codes; -1 beyond the grid) of every neighbourhood whose
    centre is a (state, code) pair and whose positions `around` are a pair or the
    border; the other positions are beyond the grid (rows above and below a 1-row grid)
    or not read (a cross filter's corners)."""
    pairs = [(-1, -1)] + [(s, c) for s in range(k) for c in range(codes)]
    choices = [pairs[1:] if j == 4 else pairs if j in around else [(-1, -1)] for j in range(9)]
    rows = [[p[0] for p in hood] + [p[1] for p in hood] for hood in itertools.product(*choices)]
    return np.array(rows, dtype=np.int64)


def _reachable_one_row(rows: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Which (W, C, E) entries of a complete 1-row table a run from a task input can
    meet (see reachable_triples); dropping the others changes nothing on any run."""
    pairs = np.stack([rows[:, 3:6], rows[:, 12:15]], 2).tolist()
    triples = [tuple(tuple(p) for p in t) for t in pairs]  # ((state, code) x 3)
    step = {t: (int(n), t[1][1]) for t, n in zip(triples, nxt.tolist(), strict=True)}
    first = {t[1] for t in triples if t[1][0] == 0}  # every cell starts in state 0
    reached = reachable_triples(step, first, (-1, -1))
    return np.array([t in reached for t in triples])


def _program(
    net: DiscreteFilter, rows, nxt, inputs, task: str, every_position=False, merged=False
) -> Rule:
    """The rule of table rows (neighbourhood states and codes; UNREAD at a position the
    filter does not read: a guard there names every symbol) -> next states. Positions
    whose symbol never varies are left out unless `every_position` (a rule run inside
    the Theorem 1 frame must name them all: frame symbols must not match); `merged`:
    the entries merged exactly into fewer guards (see merge)."""
    k = net.symbols
    names = [BORDER] + [f"s{s}i{c}" for s in range(k) for c in range(len(inputs))]

    def name(state: int, code: int) -> str:
        return BORDER if state < 0 else f"s{state}i{code}"

    varying = [
        j
        for j in range(9)
        if every_position or j == 4 or len({name(r[j], r[9 + j]) for r in rows}) > 1
    ]
    guards = []
    for row, target in zip(rows.tolist(), nxt.tolist(), strict=True):
        if target != row[4]:
            when = {
                _POSITIONS[j]: names if row[j] == UNREAD else name(row[j], row[9 + j])
                for j in varying
            }
            guards.append(Guard(when, name(target, row[13])))
    if merged:
        guards = [Guard(when, then) for when, then in merge(guards)]
    with torch.no_grad():
        eye = torch.eye(k)[:, :, None, None]
        positive = (net.out(eye)[:, 0, 0, 0] > 0).numpy()
    readout = {name(s, c): 1.0 for s in range(k) for c in range(len(inputs)) if positive[s]}
    program = CellularProgram(names, BORDER, guards, readout, name=f"{task} rule (extracted)")
    return Rule(program, inputs, task, k)


def merge(guards: list[Guard]) -> list[tuple[dict, str]]:
    """Table entries merged into fewer guards with symbol sets, exactly: two guards with
    the same target and the same sets at every position but one become one guard with
    the union there (it fires on exactly the neighbourhoods either fired on), to a fixed
    point. Positions are never dropped: in the frame, a position a guard does not name
    would also match frame symbols. Returns (when, then) pairs."""
    rows = [({p: frozenset(v) for p, v in g.when.items()}, g.then) for g in guards]
    positions = sorted({p for when, _ in rows for p in when})
    merged = True
    while merged:
        merged = False
        for p in positions:
            groups: dict = {}
            for when, then in rows:
                rest = tuple((q, when[q]) for q in positions if q != p)
                groups.setdefault((rest, then), []).append(when[p])
            if len(groups) < len(rows):
                merged = True
                rows = [
                    (dict(rest) | {p: frozenset().union(*sets)}, then)
                    for (rest, then), sets in groups.items()
                ]
    return [({p: sorted(when[p]) for p in positions}, then) for when, then in rows]


def reachable_triples(step: dict, first: set, border) -> set:
    """Every (left, cell, right) a 1-row run can meet, over-approximated: the closure,
    over windows of 5 cells, of the triples of every initial row (cells from `first`,
    the border at both ends). `step[(a, b, c)]` is b's next symbol. A triple outside
    the closure occurs in no run of any length, so entries for it can be dropped and
    fixed points made of it ignored."""
    reached = {(a, b, c) for b in first for a in first | {border} for c in first | {border}}
    reached &= set(step)
    grown = True
    while grown:  # to a fixed point: a new triple also widens its neighbours' windows
        by_tail, by_head = {}, {}
        for a, b, c in reached:
            by_tail.setdefault((b, c), []).append(a)
            by_head.setdefault((a, b), []).append(c)
        new = set()
        for w, x, y in reached:
            lefts = [border] if w == border else [step[(v, w, x)] for v in by_tail[(w, x)]]
            rights = [border] if y == border else [step[(x, y, z)] for z in by_head[(x, y)]]
            new |= {(a, step[(w, x, y)], c) for a in lefts for c in rights}
        grown = not new <= reached
        reached |= new
    return reached

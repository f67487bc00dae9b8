"""Majority invented from the answers alone: a SAT solver (python-sat's CaDiCaL, the
`invent` extra) asked for a SHORT column program whose answers are right, with
counterexamples (issue 29). Its programs are the teachers of `meta-train --teacher`.

The space (meta/teacher.py's ColumnProgram): a label or answer cell reads north, itself
and south as symbols; --guards guards, each followed by its sign mirror, first match
wins. Three priors, stated because they decide the result:
  * a guard reads the cell and ONE neighbour (the other's set is every symbol);
  * conservation: each state carries a charge -1, 0 or +1 (learned; an unchanged label
    its sign) and every update the encoded runs meet moves charge through a learned flux
    between neighbours (q(new) - q(old) = flux(north, cell) - flux(cell, south), none
    from the border or into the answer cell): no update creates or destroys charge, and
    a cell carries at most one label's worth (not asked at the edge of the wave that
    switches cells on, nor of updates the runs do not meet);
  * the column stands still from layer min(L, 2 m + 6) (a stability certificate, cheaper
    than asking the answer at every layer to 2 L; 2 m + 6 is the hand-written `settle`'s
    settling time plus one: a bound, not a state or trace of it).
Beyond these, the constraints are the answers: on each label pattern given (both
schedules) the answer cell's readout, once the column stands still, is the majority
(ties +1). Start: every pattern to m = 3; each round the program is run on
every pattern to m = 12 and 300 random ones at m = 16, 24, 32, 64, and three patterns it
gets wrong at the smallest failing m are added (--pick M: two of them at the largest m
<= M that fails instead). A program right on all of them is saved.

    python bench/bench_majority_invent.py --seeds 0 2   # 70 and 132 s; seed 1 found none in 14 min
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import RESULTS, Progress, bench_parser, write_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--guards", type=int, default=5, help="guards (each with its mirror)")
    parser.add_argument("--pick", type=int, default=0, help="counterexamples also at m <= this")
    parser.add_argument("--rounds", type=int, default=200, help="rounds per seed at most")
    parser.add_argument(
        "--still-from", choices=("2m+6", "L"), default="2m+6",
        help="the layer from which the column must stand still: 2 m + 6, or the frame's L",
    )  # fmt: skip
    parser.add_argument("--out", default="meta_majority_invent", help="results name (.json)")
    args = parser.parse_args(argv)
    if not 1 <= args.guards <= 12 or args.pick < 0 or args.rounds < 1 or min(args.seeds) < 0:
        parser.error("--guards in 1..12, --pick >= 0, --rounds >= 1, --seeds >= 0")
    return args


K = 6  # states


def symbol(s, c):
    """Bench Space cells (state s, code c: 1/2/3 are already the unchanged symbols) as
    ColumnProgram symbols (teacher.cell_symbols; the border state K: 0)."""
    from turing_rcnn.trainable.meta.teacher import cell_symbols

    return np.where(s == K, 0, cell_symbols(s, c, c == 3))


class Encoding:
    """The SAT encoding: guard sets A[g][position][symbol], new states O[g][state], the
    readout R[state], charges and fluxes; runs of given label patterns unrolled."""

    def __init__(self, space, guards: int, still_from: str = "2m+6"):
        from pysat.solvers import Solver

        from turing_rcnn.trainable.meta.teacher import flip_symbols, symbols

        self.space, self.G, self.n, self.s = space, guards, 0, Solver(name="cadical153")
        self.still_from = still_from
        self.nsym = symbols(K)
        self.flip = flip_symbols(K)
        self.R = [self.new() for _ in range(K)]
        self.A = [[[self.new() for _ in range(self.nsym)] for _ in range(3)] for _ in range(guards)]
        self.O = [[self.new() for _ in range(K)] for _ in range(guards)]
        for g in range(guards):
            self.one(self.O[g])
            side = self.new()  # the neighbour it reads: north (true) or south
            for x in range(self.nsym):
                self.s.add_clause([-side, self.A[g][0][x]])
                self.s.add_clause([side, self.A[g][2][x]])
        self.T, self.memo, self.fixed = {}, {}, set()
        self.Q = {K - 1: {0: None}}
        for a in range(1, K - 1, 2):
            lits = {x: self.new() for x in (-1, 0, 1)}
            self.one(list(lits.values()))
            self.Q[a], self.Q[a + 1] = lits, {-x: v for x, v in lits.items()}
        answers = [3] + [5 + 2 * (s - 1) for s in range(1, K)]
        self.F = {}
        for a in range(self.nsym):
            for b in range(self.nsym):
                self.F[a, b] = {x: self.new() for x in (-1, 0, 1)}
                self.one(list(self.F[a, b].values()))
                if a == 0 or b in answers:
                    self.s.add_clause([self.F[a, b][0]])

    def new(self) -> int:
        self.n += 1
        return self.n

    def one(self, lits) -> None:
        self.s.add_clause(list(lits))
        for i in range(len(lits)):
            for j in range(i + 1, len(lits)):
                self.s.add_clause([-lits[i], -lits[j]])

    def _match(self, g: int, syms) -> int:
        v, lits = self.new(), [self.A[g][p][x] for p, x in enumerate(syms)]
        for lit in lits:
            self.s.add_clause([-v, lit])
        self.s.add_clause([v] + [-lit for lit in lits])
        return v

    def values(self, syms: tuple, keep: int) -> dict:
        """{new state: literal} of the program at a cell reading `syms`."""
        if (syms, keep) in self.T:
            return self.T[syms, keep]
        fs, flipped = self.space.flip_state, tuple(int(self.flip[x]) for x in syms)
        seq = []
        for g in range(self.G):
            seq.append((self._match(g, syms), {v: self.O[g][v] for v in range(K)}))
            seq.append((self._match(g, flipped), {int(fs[v]): self.O[g][v] for v in range(K)}))
        T = {v: self.new() for v in range(K)}
        for a in range(K):
            for b in range(a + 1, K):
                self.s.add_clause([-T[a], -T[b]])
        none = None  # no guard matched yet
        for hit, out in seq:
            first, rest = self.new(), self.new()
            pre = [] if none is None else [-none]
            self.s.add_clause([-first, hit])
            self.s.add_clause([first, -hit] + pre)
            self.s.add_clause([-rest, -hit])
            self.s.add_clause([rest, hit] + pre)
            if none is not None:
                self.s.add_clause([-first, none])
                self.s.add_clause([-rest, none])
            for v, o in out.items():
                self.s.add_clause([-first, -o, T[v]])
            none = rest
        self.s.add_clause([-none, T[keep]])
        self.T[syms, keep] = T
        self._conserve(syms, T)
        return T

    def _conserve(self, syms: tuple, T: dict) -> None:
        a, b, c = syms
        if not (b in (1, 2) or (b >= 4 and b % 2 == 0)):
            return  # the answer cell carries no charge
        sign = {1: 1, 2: -1}.get(b, 0)
        qb = {sign: None} if b in (1, 2) else self.Q[(b - 4) // 2 + 1]
        for v, tv in T.items():
            qv = self.Q[v] if v else {sign: None}
            for x, lx in qv.items():
                for y, ly in qb.items():
                    for f1, l1 in self.F[a, b].items():
                        for f2, l2 in self.F[b, c].items():
                            if x - y != f1 - f2:
                                given = [lit for lit in (lx, ly) if lit is not None]
                                self.s.add_clause([-tv] + [-g for g in given] + [-l1, -l2])

    def pattern(self, y, d: int) -> None:
        """Constrain the run on labels y (schedule d) to stand still and answer right."""
        from bench_majority_search import _majority, reference_answers

        from turing_rcnn.trainable.meta.layout import active_layers, layers_for

        m = len(y)
        active = active_layers(m, d)[:, d]
        stop = layers_for(_majority(), m, 1)  # L at d = 1
        if self.still_from == "2m+6":
            stop = min(stop, 2 * m + 6)
        codes = np.zeros(m + 3, dtype=int)
        codes[1 : m + 1] = np.where(np.asarray(y) == 1, 1, 2)
        codes[m + 1] = 3
        state = [[(0, None)] for _ in range(m + 3)]
        state[0] = state[-1] = [(K, None)]

        def cases(i):
            for a, la in state[i - 1]:
                for b, lb in state[i]:
                    for c, lc in state[i + 1]:
                        syms = tuple(
                            int(x) for x in symbol(np.array([a, b, c]), codes[i - 1 : i + 2])
                        )
                        yield [-x for x in (la, lb, lc) if x is not None], b, syms

        def key(i):
            return (*(tuple(state[j]) for j in (i - 1, i, i + 1)), *codes[i - 1 : i + 2].tolist())

        for layer in range(stop):
            new = list(state)
            for i in range(1, m + 2):
                if active[i - 1] > layer:
                    continue
                if key(i) in self.memo:
                    new[i] = self.memo[key(i)]
                    continue
                outs = {}
                for pre, b, syms in cases(i):
                    for v, t in self.values(syms, min(b, K - 1)).items():
                        outs.setdefault(v, self.new())
                        self.s.add_clause(pre + [-t, outs[v]])
                lits = list(outs.values())
                for a in range(len(lits)):
                    for b in range(a + 1, len(lits)):
                        self.s.add_clause([-lits[a], -lits[b]])
                new[i] = self.memo[key(i)] = list(outs.items())
            state = new
        for i in range(1, m + 2):  # a fixed point from here on
            if key(i) in self.fixed:
                continue
            self.fixed.add(key(i))
            for pre, b, syms in cases(i):
                tl = self.values(syms, min(b, K - 1))
                self.s.add_clause(pre + ([tl[b]] if b in tl else []))
        want = reference_answers(np.asarray(y)[None])[0]
        for s, lit in state[m + 1]:
            self.s.add_clause(
                ([-lit] if lit is not None else []) + [self.R[s] if want == 1 else -self.R[s]]
            )

    def program(self, found_by: str):
        """The model's program, or None if unsatisfiable."""
        from turing_rcnn.trainable.meta.teacher import ColumnProgram

        if not self.s.solve():
            return None
        model = {v for v in self.s.get_model() if v > 0}
        guards = []
        for g in range(self.G):
            sets = [[x for x in range(self.nsym) if self.A[g][p][x] in model] for p in range(3)]
            out = next(v for v in range(K) if self.O[g][v] in model)
            guards.append((*sets, out))
        readout = [1 if self.R[s] in model else -1 for s in range(K)]
        return ColumnProgram(K, guards, readout, found_by)


def column_table(space, program) -> tuple[np.ndarray, np.ndarray]:
    """The program as a bench Space table and readout (to run bench_majority_search's
    checks on it)."""
    p = space.parts
    syms = [symbol(p[i], p[i + 3]) for i in range(3)]
    table = program.step(*syms, space.keep)
    table[p[1] == K] = space.keep[p[1] == K]
    return table, np.array([*program.readout, 1])


def failures(space, program, rng, pick: int) -> list:
    """Label patterns (m, y, d) the program gets wrong: the smallest failing m's (every
    pattern to 12, then 300 random at 16, 24, 32, 64), and with `pick` those at the
    largest failing m <= pick."""
    from bench_majority_search import patterns, reference_answers

    table, readout = column_table(space, program)
    found, big = [], []
    for m in range(1, 13):
        y, want = patterns(m)
        for d in (1, 2):
            bad = ~(space.answers(table, readout, y, d) == want).all(0)
            rows = [(m, y[i], d) for i in np.flatnonzero(bad)]
            if m <= pick:
                big = rows or big
            if not found:
                found += rows
    for m in (16, 24, 32, 64):
        if found:
            break
        y = np.where(rng.random((300, m)) < 0.5, 1, -1)
        want = reference_answers(y)
        for d in (1, 2):
            bad = ~(space.answers(table, readout, y, d) == want).all(0)
            found += [(m, y[i], d) for i in np.flatnonzero(bad)]
    if not found:
        return []
    chosen = [found[i] for i in rng.permutation(len(found))[:3]]
    if big and big[0][0] > found[0][0]:
        chosen = chosen[:1] + [big[i] for i in rng.permutation(len(big))[:2]]
    return chosen


def invent(seed: int, guards: int, pick: int, rounds: int, line, still_from: str = "2m+6") -> dict:
    from bench_majority_search import Space, entries, fitness, large, patterns

    space, rng = Space(K), np.random.default_rng(seed)
    enc, start = Encoding(space, guards, still_from), time.perf_counter()
    given = 0
    for m in range(1, 4):
        for y in patterns(m)[0]:
            for d in (1, 2):
                enc.pattern(y, d)
                given += 1
    how = f"SAT with counterexamples, from the answers alone (bench_majority_invent.py, seed {seed}"
    how += f", --guards {guards}" + (f", --still-from {still_from}" if still_from != "2m+6" else "")
    how += f", --pick {pick})" if pick else ")"
    for r in range(rounds):
        program = enc.program(how)
        if program is None:
            return {"seed": seed, "found": False, "unsatisfiable": True, "rounds": r}
        wrong = failures(space, program, rng, pick)
        line.stage(
            f"seed {seed}: round {r}, {given} patterns given, wrong from m = "
            f"{wrong[0][0] if wrong else '-'}"
        )
        if not wrong:
            table, readout = column_table(space, program)
            out = {
                "seed": seed,
                "found": True,
                "rounds": r,
                "patterns_given": given,
                "seconds": round(time.perf_counter() - start, 1),
                "levels_exact": fitness(space, table, readout)[0],
                "random_500": large(space, table, readout, np.random.default_rng(seed)),
            }
            out["entries_asked"], out["entries_changing"] = entries(space, table, readout)
            out["program"] = program
            return out
        for _, y, d in wrong:
            enc.pattern(y, d)
            given += 1
    return {"seed": seed, "found": False, "rounds": rounds}


def main(argv=None) -> int:
    args = parse_args(argv)
    runs = []
    with Progress(
        "bench_majority_invent", len(args.seeds), not args.no_progress, every=2.0
    ) as line:
        for seed in args.seeds:
            run = invent(seed, args.guards, args.pick, args.rounds, line, args.still_from)
            program = run.pop("program", None)
            if program is not None:  # saved at once: the next seed may take long
                still = "" if args.still_from == "2m+6" else "-L"
                path = RESULTS / "majority_invented" / f"sat{still}-s{seed}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                program.save(str(path))
                run["program_file"] = f"{path.parent.name}/{path.name}"
            runs.append(run)
            line.advance()
            print(
                f"seed {seed}: "
                + (
                    f"found after {run['rounds']} rounds, {run['seconds']} s, exact to m = "
                    f"{run['levels_exact']}, random {run['random_500']}"
                    if run["found"]
                    else "not found"
                ),
                flush=True,
            )
    payload = {
        "guards": args.guards,
        "pick": args.pick,
        "runs": runs,
        "command": "python bench/bench_majority_invent.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    print(write_json(f"{args.out}.json", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())

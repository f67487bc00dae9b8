"""Majority from the answers alone by evolution over finite rule tables (issue 29's
discrete-search route), beside a hand-written rule in the same space that shows the
space holds a learner right on every pattern checked.

The space: a cell of the label column, and the answer cell below it, reads only its
column (north, itself, south: states and input codes), k states; the table is
sign-symmetric (swapping the labels' signs swaps states 1<->2, 3<->4, ...); cells change
on the frame's schedule (meta.layout.active_layers) and the answer, a readout of the
answer cell's state, must be right at every layer from L(m, 1) to 2 L(m, 4).
The search: a (1+1) evolution with neutral drift. A mutation sets an entry met in the
last run (or, with probability --group, every entry that agrees with it at all but a
few random positions) to a random state, or to "keep"; it is kept when the fitness is no
worse. Fitness, from the answers alone: how many m = 1, 2, ... have every label pattern
answered right at every layer, then the share right at the next two m, then fewer
entries that change a state (a loose tie-break: one in five worse ones passes).
The reference, `settle`, is hand-written and nothing trains on it: labels settle from
the answer cell up, an unsettled label on the settled top of the other sign cancels
with it, labels fall into gaps; the answer cell reads the settled sign (none: +1).

    python bench/bench_majority_search.py --seeds 0 1 --evaluations 150000 --jobs 2   # about 20 min
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import lru_cache

import numpy as np
from _common import Progress, bench_parser, write_json

CODES = 4  # a cell's input code here: 0 beyond the grid, 1 label +1, 2 label -1, 3 answer
MAX_M = 12  # every label pattern up to this m


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--evaluations", type=int, default=100_000, help="budget per seed")
    parser.add_argument("--states", type=int, default=6, help="k (the settle rule needs 6)")
    parser.add_argument("--group", type=float, default=0.3, help="share of group mutations")
    parser.add_argument("--jobs", type=int, default=1, help="seeds searched at once")
    parser.add_argument("--out", default="meta_majority_search", help="results name (.json)")
    args = parser.parse_args(argv)
    if not 4 <= args.states <= 16 or args.states % 2:
        parser.error(f"--states: an even k in 4..16, got {args.states}")
    if args.evaluations < 1 or not 0 <= args.group <= 1 or args.jobs < 1 or min(args.seeds) < 0:
        parser.error("--evaluations >= 1, --group in [0, 1], --jobs >= 1, --seeds >= 0")
    return args


class Space:
    """Tables over (states, codes) of (north, centre, south), run on the frame's schedule."""

    def __init__(self, k: int):
        self.k, self.border = k, k  # the border's state
        self.size = (k + 1) ** 3 * CODES**3
        i = np.arange(self.size)
        s, c = i // CODES**3, i % CODES**3
        self.parts = [s // (k + 1) ** 2, s // (k + 1) % (k + 1), s % (k + 1)]
        self.parts += [c // CODES**2, c // CODES % CODES, c % CODES]  # sN sC sS cN cC cS
        self.keep = np.minimum(self.parts[1], k - 1)  # the identity table
        flip_state = np.arange(k + 1)
        for a in range(1, k - 1, 2):
            flip_state[a], flip_state[a + 1] = a + 1, a
        flip_code = np.array([0, 2, 1, 3])
        p = self.parts
        self.flip = self.key(*[flip_state[x] for x in p[:3]], *[flip_code[x] for x in p[3:]])
        self.flip_state = flip_state

    def key(self, sN, sC, sS, cN, cC, cS):
        k1 = self.k + 1
        return (((sN * k1 + sC) * k1 + sS) * CODES + cN) * CODES**2 + cC * CODES + cS

    def answers(self, table, readout, y, d, met=None) -> np.ndarray:
        """(layers, P) answers at layers lo..hi for label patterns y (P, m); `met`: mark
        the entries the run asks."""
        from turing_rcnn.trainable.meta.layout import active_layers, layers_for

        P, m = y.shape
        # the label column's schedule is d = 1's or, for every d >= 2, d = 2's
        active, family = active_layers(m, d)[:, d], _majority()
        lo, hi = layers_for(family, m, 1), 2 * layers_for(family, m, 4)
        codes = np.zeros((P, m + 3), dtype=np.int64)
        codes[:, 1 : m + 1] = np.where(y == 1, 1, 2)
        codes[:, m + 1] = 3
        state = np.zeros((P, m + 3), dtype=np.int64)
        state[:, [0, -1]] = self.border
        around = (codes[:, :-2] * CODES + codes[:, 1:-1]) * CODES + codes[:, 2:]
        k1, out = self.k + 1, []
        for layer in range(hi + 1):
            if layer >= lo:
                out.append(readout[state[:, m + 1]])
            if layer == hi:
                break
            index = ((state[:, :-2] * k1 + state[:, 1:-1]) * k1 + state[:, 2:]) * CODES**3
            index += around
            live = active <= layer
            if met is not None:
                met[index[:, live].ravel()] = True
            state[:, 1:-1] = np.where(live, table[index], state[:, 1:-1])
        return np.array(out)

    def right(self, table, readout, y, want, met=None) -> float:
        """The share of label patterns y answered `want` at every layer, on both schedules."""
        return min(
            float((self.answers(table, readout, y, d, met) == want).all(0).mean()) for d in (1, 2)
        )


@lru_cache(maxsize=1)
def _majority():
    from turing_rcnn.trainable.meta.families import get_family

    return get_family("majority")


def reference_answers(y: np.ndarray) -> np.ndarray:
    """The family's reference answers (majority, ties +1) for label patterns y (P, m)."""
    reference, none = _majority().reference, np.zeros((y.shape[1], 0))
    return np.array([reference(none, labels, none[:1])[0] for labels in y])


@lru_cache(maxsize=MAX_M)
def patterns(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Every label pattern of m labels (families.every_label_pattern) and its answers,
    made once: the fitness asks for them at every evaluation."""
    from turing_rcnn.trainable.meta.families import every_label_pattern

    y = every_label_pattern(m, 1, np.random.default_rng(0))[1].astype(np.int64)
    return y, reference_answers(y)


def settle(space: Space) -> tuple[np.ndarray, np.ndarray]:
    """The hand-written reference, in the searched space and its symmetry: 0 a label not
    yet settled (its sign: the input code), 1/2 a falling +1/-1, 3/4 a settled +1/-1,
    5 empty (k = 6; the swap of signs exchanges 1/2 and 3/4)."""
    if space.k != 6:
        raise ValueError("settle is a 6-state rule")
    table, p = space.keep.copy(), space.parts
    sN, sC, sS, cN, cC, cS = p

    def unsettled(s, c):  # the sign of a label that has not settled, else 0
        initial = np.where(s == 0, np.select([c == 1, c == 2], [1, -1], 0), 0)
        return initial + (s == 1).astype(int) - (s == 2)

    def settled(s):
        return (s == 3).astype(int) - (s == 4)

    u, uN, top = unsettled(sC, cC), unsettled(sN, cN), settled(sS)
    label, answer, bottom = np.isin(cC, (1, 2)), cC == 3, cS == 3
    rules = [  # (where, new state), the first that holds
        (label & (u != 0) & (bottom | (top == u)), np.where(u > 0, 3, 4)),  # settles
        (label & (u != 0) & (top == -u), 5),  # cancels with the settled top
        (label & (u != 0) & (sS == 5), 5),  # falls out
        (label & (settled(sC) != 0) & (uN == -settled(sC)), 5),  # the top, cancelled
        (label & (sC == 5) & (uN != 0), np.where(uN > 0, 1, 2)),  # falls in
        (answer & (sC < space.k), np.select([settled(sN) > 0, settled(sN) < 0], [3, 4], 5)),
    ]
    done = np.zeros(space.size, dtype=bool)
    for where, new in rules:
        where = where & ~done
        table[where] = np.broadcast_to(new, table.shape)[where]
        done |= where
    if not np.array_equal(table[space.flip], space.flip_state[table]):
        raise RuntimeError("settle is not sign-symmetric")  # a bug here, not a user error
    readout = np.ones(space.k + 1, dtype=np.int64)
    readout[4] = -1  # the answer cell: 3 settled +1, 4 settled -1, 5 nothing left (a tie)
    return table, readout


def fitness(space: Space, table, readout, met=None) -> tuple:
    """(how many m = 1, 2, ... have every label pattern right, the share right at the
    two m after those)."""
    exact, shares = 0, []
    for m in range(1, MAX_M + 1):
        share = space.right(table, readout, *patterns(m), met)
        if share < 1 or shares:
            shares.append(share)
            if len(shares) == 2:
                break
        else:
            exact = m
    return exact, round(sum(shares), 6)


def entries(space: Space, table, readout) -> tuple[int, int]:
    """(entries the runs on every label pattern to MAX_M ask, those that change a state)."""
    met = np.zeros(space.size, dtype=bool)
    for m in range(1, MAX_M + 1):
        space.right(table, readout, *patterns(m), met)
    return int(met.sum()), int((table[met] != space.keep[met]).sum())


def mutate(space: Space, table, entries, value, keep: bool) -> None:
    """Set `entries` to `value` (or each to its own state, `keep`) and their sign-swapped
    entries to the swapped states, in place: one write per swapped pair, and an entry
    that is its own swap only to a state the swap leaves alone (the table stays
    symmetric)."""
    values = space.keep[entries] if keep else np.full(len(entries), value)
    swap = space.flip[entries] < entries
    entries = np.where(swap, space.flip[entries], entries)
    values = np.where(swap, space.flip_state[values], values)
    entries, first = np.unique(entries, return_index=True)
    values = values[first]
    fit = (space.flip[entries] != entries) | (space.flip_state[values] == values)
    table[entries[fit]] = values[fit]
    table[space.flip[entries[fit]]] = space.flip_state[values[fit]]


def evolve(k: int, seed: int, budget: int, group: float) -> dict:
    """The (1+1) evolution of the module docstring, `budget` evaluations; its best table's
    figures and when each level was first reached."""
    space, rng = Space(k), np.random.default_rng(seed)
    table, readout = space.keep.copy(), np.ones(k + 1, dtype=np.int64)
    met = np.zeros(space.size, dtype=bool)
    best = fitness(space, table, readout, met)
    changing = 0
    start, evaluations, reached = time.perf_counter(), 0, {}
    while evaluations < budget and best[0] < MAX_M:
        new_table, new_readout = table.copy(), readout.copy()
        asked = np.flatnonzero(met)
        for _ in range(int(rng.geometric(0.5))):
            if rng.random() < 0.05:
                new_readout[rng.integers(0, k)] *= -1
                continue
            entry = asked[rng.integers(0, len(asked))]
            keep, value = rng.random() < 0.3, rng.integers(0, k)
            chosen = np.array([entry])
            if rng.random() < group:  # every entry agreeing with it but at a few positions
                free = rng.random(6) < np.array([0.4, 0.1, 0.4, 0.5, 0.1, 0.5])
                same = np.ones(space.size, dtype=bool)
                for part, loose in zip(space.parts, free, strict=True):
                    if not loose:
                        same &= part == part[entry]
                chosen = np.flatnonzero(same)
            mutate(space, new_table, chosen, value, keep)
        new_met = np.zeros(space.size, dtype=bool)
        now = fitness(space, new_table, new_readout, new_met)
        evaluations += 1
        new_changing = int((new_table[new_met] != space.keep[new_met]).sum())
        if now > best or (now == best and (new_changing <= changing or rng.random() < 0.2)):
            if now[0] > best[0]:
                reached[now[0]] = round(time.perf_counter() - start, 1)
            table, readout, best, met, changing = new_table, new_readout, now, new_met, new_changing
    out = {
        "seed": seed,
        "levels_exact": best[0],
        "share_right_next_two_m": best[1],
        "evaluations": evaluations,
        "seconds": round(time.perf_counter() - start, 1),
        "seconds_to_level": reached,
    }
    out["entries_asked"], out["entries_changing"] = entries(space, table, readout)
    if best[0] == MAX_M:
        out["random_500"] = large(space, table, readout, rng)
    return out


def large(space: Space, table, readout, rng) -> dict:
    """The share right on 500 random label patterns at m = 16, 32, 64."""
    out = {}
    for m in (16, 32, 64):
        y = np.where(rng.random((500, m)) < 0.5, 1, -1)
        out[m] = space.right(table, readout, y, reference_answers(y))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    from concurrent.futures import ProcessPoolExecutor

    total = len(args.seeds) + 1
    with Progress("bench_majority_search", total, not args.no_progress, every=2.0) as line:
        line.stage("the hand-written settle rule")
        space = Space(6)
        table, readout = settle(space)
        levels = fitness(space, table, readout)
        reference = {
            "levels_exact": levels[0],
            "random_500": large(space, table, readout, np.random.default_rng(0)),
        }
        reference["entries_asked"], reference["entries_changing"] = entries(space, table, readout)
        line.advance()
        line.stage(
            f"evolving, {len(args.seeds)} seeds x {args.evaluations} tables, {args.jobs} at once"
        )
        with ProcessPoolExecutor(args.jobs) as pool:
            jobs = [
                pool.submit(evolve, args.states, s, args.evaluations, args.group)
                for s in args.seeds
            ]
            found = []
            for job in jobs:
                found.append(job.result())
                line.advance()
    payload = {
        "space": f"k = {args.states} states; a label or answer cell reads north, itself, south "
        "(states and input codes); sign-symmetric; the frame's schedule; answers at every "
        "layer L(m, 1)..2 L(m, 4), d = 1 and d >= 2 schedules; entries counted on every label "
        "pattern to m = 12",
        "settle_hand_written": reference,
        "search": {"evaluations": args.evaluations, "group": args.group, "runs": found},
        "command": "python bench/bench_majority_search.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    path = write_json(f"{args.out}.json", payload)
    print(f"settle (hand-written): exact to m = {levels[0]}, random {reference['random_500']}")
    for run in found:
        print(
            f"seed {run['seed']}: every label pattern right to m = {run['levels_exact']} "
            f"after {run['evaluations']} evaluations ({run['seconds']:.0f} s)"
        )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

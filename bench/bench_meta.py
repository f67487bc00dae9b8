"""SGD learns the learner: meta-train a finite-state filter per learner family and seed,
read its rule off, verify it (meta.verify: exhaustive small problems, every label
pattern to m = 12, random to m = 64, the answer stays put, then Algorithm 1 in the
compiled Theorem 1 frame), and for filters that do not validate perfectly, their
accuracy against m (and, for majority, against the margin |#(+1) - #(-1)|).
Writes meta.json and meta.png (accuracy against m at d = 4; a run of gauss alone: its
accuracy against d at m = 8 and m = d + 10, answer only and with hints, see plot_gauss);
the rules that verify go to meta_rules/ beside them.

    python bench/bench_meta.py --families last-label first-label majority --seeds 0 1 2
    python bench/bench_meta.py --families majority --hints --lr 0.01 --out meta_hints
    python bench/bench_meta.py --families gauss --hints --lr 0.01 --hidden 64 --max-d 6 \
        --max-minutes 8 --out meta_gauss_hints
    BENCH_REFRESH=1 python bench/bench_meta.py --plot-gauss bench/results/meta_gauss_hints.json \
        bench/results/meta_hard.json --out meta_gauss_hints   # its figure, no training
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from _common import RESULTS, Progress, bench_parser, pyplot, write_json

from turing_rcnn.trainable.config import META_HINTS, MetaConfig

if TYPE_CHECKING:
    from turing_rcnn.trainable.meta import MetaLearner, MetaRule

# torch and turing_rcnn.trainable.meta load where they are used (after the arguments)
BY_D_M = 8  # accuracy_table's m for the accuracy against d
BY_D = (1, 2, 4, 8)
BY_SIZE_D = (4, 6, 8, 12, 16)  # at m = d + 10: the moonshot's sizes


def accuracy_table(model: MetaLearner, rng) -> dict:
    """The filter's accuracy at m = 2..32 (d = 4) on 256 random problems each; for
    families that read the data also at d = 1..8 (m = 8); for majority by margin at
    m = 8 and 16."""
    from turing_rcnn.trainable.meta import sample

    out = {"by_m": {}}
    for m in (2, 4, 8, 16, 32):
        X, y, x, want = sample(model.family_, 256, m, 4, rng)
        out["by_m"][m] = float((model.answers(X, y, x) == want).mean())
    if model.family_.reads_data:  # and against d, at m = 8
        out["by_d"] = {}
        for d in BY_D:
            X, y, x, want = sample(model.family_, 256, BY_D_M, d, rng)
            out["by_d"][d] = float((model.answers(X, y, x) == want).mean())
    if model.family_.name == "gauss":  # the moonshot's sizes: to d = 16, m = d + 10
        out["by_size"] = model.size_accuracy([(d + 10, d) for d in BY_SIZE_D], 256, 7)
    if model.family_.name == "majority":
        out["by_margin"] = {}
        for m in (8, 16):
            X, y, x, want = sample(model.family_, 2000, m, 2, rng)
            right = model.answers(X, y, x) == want
            margin = np.abs((y == 1).sum(1) - (y == -1).sum(1))
            out["by_margin"][m] = {
                int(k): float(right[margin == k].mean()) for k in np.unique(margin)
            }
    return out


def hint_symbols(family) -> dict[int, str]:
    """Each hint state k > 0 -> the hint symbol it stands for (filter.hint_states, with
    the hint's top-left start symbols among the starts, as meta.hint_trace has them)."""
    from turing_rcnn.trainable.filter import hint_states
    from turing_rcnn.trainable.meta import INPUTS
    from turing_rcnn.trainable.meta.hints import _hint

    hint = _hint(family)
    states = hint_states(hint.program, INPUTS + list(hint.start.values()))
    return {int(k): s for s, k in zip(hint.program.symbols, states, strict=True) if k > 0}


def departures(model: MetaLearner, sizes, count: int = 100, seed: int = 9) -> dict:
    """Where a hint-trained filter's free run first leaves the hint's trace, per (m, d)
    (`count` random problems): the share that leave it, the median layer, and whether
    the hint's neighbourhood there (each cell's state and input code) was met in the
    hint's runs at the training sizes: its whole 3x3, or the 3 cells the hand-written
    rule reads (C, N, W for GF(2) elimination). The commonest first departures are named:
    (C, N, W) hint symbols -> the hint's next symbol, the filter's."""
    import torch

    from turing_rcnn.trainable.extract import _neighbourhoods
    from turing_rcnn.trainable.meta import (
        INPUTS,
        filter_states,
        hint_trace,
        layers_for,
        layout_codes,
        sample,
        schedule,
    )

    family, net, cfg = model.family_, model.net_, model.config_
    symbol = hint_symbols(family)
    rng, near = np.random.default_rng(seed), [1, 3, 4]  # N, W, C in row-major order

    def hoods(trace, codes, layer):  # (B*H*W, 9) of state * 8 + code (-1 beyond the grid)
        both = np.where(trace[layer] >= 0, trace[layer] * len(INPUTS) + codes, -1)
        return _neighbourhoods(both)

    seen9, seen3 = set(), set()
    for m in range(1, cfg.max_m + 1):
        for d in range(1, cfg.max_d + 1):
            X, y, x, _ = sample(family, 64, m, d, rng)
            codes, L = layout_codes(X, y, x), layers_for(family, m, d)
            trace = hint_trace(family, codes, L)
            fires = schedule(codes).reshape(-1).numpy()
            for layer in range(L):
                rows = hoods(trace, codes, layer)[fires <= layer]
                seen9 |= {r.tobytes() for r in np.unique(rows.astype(np.int16), axis=0)}
                seen3 |= {r.tobytes() for r in np.unique(rows[:, near].astype(np.int16), axis=0)}
    out = {}
    for m, d in sizes:
        X, y, x, _ = sample(family, count, m, d, rng)
        codes, L = layout_codes(X, y, x), layers_for(family, m, d)
        trace = hint_trace(family, codes, L)
        first, where = np.full(count, -1), {}
        with torch.no_grad():
            for layer, state in filter_states(net, codes, L):
                if layer == 0:
                    continue
                before, got = layer - 1, state.argmax(1).numpy()  # a step from `before`
                for b in np.flatnonzero((got != trace[layer]).any((1, 2)) & (first < 0)):
                    first[b] = before
                    r, c = np.argwhere(got[b] != trace[layer, b])[0]
                    row = hoods(trace[:, b : b + 1], codes[b : b + 1], before)
                    at = r * codes.shape[2] + c
                    where[b] = (row[at], got[b, r, c], trace[layer, b, r, c])
        left = first >= 0

        def name(v: int) -> str:  # a neighbourhood entry: state * 8 + code
            k, code = divmod(int(v), len(INPUTS))
            return "#" if v < 0 else INPUTS[code] if k == 0 else symbol[k]

        def held(k: int) -> str:  # a state a cell moves to
            return "its start" if k == 0 else symbol[int(k)]

        common = collections.Counter(
            (*(name(row[j]) for j in (4, 1, 3)), held(want), held(have))
            for row, have, want in where.values()
        )
        out[f"{m}x{d}"] = {
            "left_trace": float(left.mean()),
            "median_layer": float(np.median(first[left])) if left.any() else None,
            "layers": L,
            "hood_met": sum(r.astype(np.int16).tobytes() in seen9 for r, _, _ in where.values()),
            "cnw_met": sum(
                r[near].astype(np.int16).tobytes() in seen3 for r, _, _ in where.values()
            ),
            "commonest": [
                {"C N W": list(k[:3]), "hint": k[3], "filter": k[4], "count": n}
                for k, n in common.most_common(5)
            ],
        }
    return out


def hint_agreement(rule: MetaRule) -> dict:
    """How many entries of a learned table the family's hand-written rule (its hint)
    agrees with: each entry's neighbourhood (state k of input code c) is read as the
    hint's symbols (state 0: the layout symbol INPUTS[c]; k > 0: the hint symbol with
    hint state k), the hint program steps that 3x3 grid, and its centre is compared
    with the entry's target (a position the rule does not read holds the hint's border).
    Entries naming a state the hint has no symbol for: 'other'."""
    from turing_rcnn.trainable.meta import FAMILIES, INPUTS, Table
    from turing_rcnn.trainable.meta.hints import _hint

    hint, program = _hint(FAMILIES[rule.family]).program, rule.rule.program
    extra, table = hint_symbols(FAMILIES[rule.family]), Table(program)

    def name(index: int) -> str | None:
        symbol = program.symbols[index]
        if symbol == "#":
            return hint.border
        k, c = rule.rule.state_code(symbol)
        return INPUTS[c] if k == 0 else extra.get(k)

    out = {"entries": len(table.keys), "agree": 0, "disagree": 0, "other": 0}
    for row, target in zip(table.rows, table.targets, strict=True):
        names = [name(i) for i in row]
        if None in names or name(target) is None:
            out["other"] += 1
            continue
        cells = [[hint.border] * 3 for _ in range(3)]  # a position the rule does not read:
        for (dr, dc), n in zip(table.positions, names, strict=True):  # the hint's border
            cells[1 + dr][1 + dc] = n
        grid = hint.encode(cells)
        same = hint.symbols[hint.step(grid)[1, 1]] == name(target)
        out["agree" if same else "disagree"] += 1
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--families", nargs="+", default=["last-label", "first-label", "majority"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-minutes", type=float, default=3.0, help="training budget per run")
    parser.add_argument("--hints", action="store_true", help="supervise with the hint's trace")
    parser.add_argument("--lr", type=float, default=MetaConfig.lr, help="Adam's learning rate")
    parser.add_argument("--symbols", type=int, help="k (default: MetaConfig's, or the hint's)")
    parser.add_argument("--hidden", type=int, default=MetaConfig.hidden, help="hidden units")
    parser.add_argument("--max-d", type=int, default=MetaConfig.max_d, help="trained at d <= this")
    parser.add_argument("--max-m", type=int, default=MetaConfig.max_m, help="trained at m <= this")
    parser.add_argument(
        "--neighbourhood",
        default=MetaConfig.neighbourhood,
        choices=MetaConfig.__dataclass_fields__["neighbourhood"].metadata.get("choices"),
        help="what a cell reads (MetaConfig.neighbourhood)",
    )
    parser.add_argument("--out", default="meta", help="results name (.json, .png)")
    parser.add_argument("--baselines", action="store_true", help="label-only learners' scores")
    parser.add_argument(
        "--table", nargs="+", help="print the results-page tables of these JSON files"
    )
    parser.add_argument(
        "--plot-gauss",
        nargs="+",
        metavar="JSON",
        help="no training: draw the GF(2) rows of these JSON files against d to OUT.png",
    )
    args = parser.parse_args(argv)
    if args.table and args.plot_gauss:
        parser.error("give --table or --plot-gauss, not both")
    args.rows = []  # the runs --table or --plot-gauss reads: a bad file refused before work
    for path in (args.table or []) + (args.plot_gauss or []):
        try:
            args.rows += json.loads(Path(path).read_text())["rows"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            parser.error(f"{path}: not a bench_meta JSON file ({type(err).__name__}: {err})")
    return args


def main() -> None:
    args = parse_args()
    runs = len(args.families) * len(args.seeds)
    quick = args.baselines or args.table or args.plot_gauss
    with Progress("bench_meta", None if quick else runs, not args.no_progress) as bar:
        if args.baselines:
            bar.stage("label-only baselines")
            write_json("meta_baselines.json", {"agreement": baselines(np.random.default_rng(5))})
            return
        if args.table:
            bar.stage("the results-page tables")
            print(markdown(args.rows) + "\n\n" + markdown_gauss(args.rows))
            return
        if args.plot_gauss:
            bar.stage("plotting")
            RESULTS.mkdir(parents=True, exist_ok=True)
            plot_gauss(args.rows, RESULTS / f"{args.out}.png")
            print(f"wrote {RESULTS / args.out}.png")
            return
        bar.stage("importing torch")
        rows = train(args, bar)
    if any(r["learner"] != "gauss" for r in rows):
        plot(rows, RESULTS / f"{args.out}.png")
    if any(r["learner"] == "gauss" for r in rows):  # the GF(2) rows against d
        gauss = "" if all(r["learner"] == "gauss" for r in rows) else "_gauss"
        plot_gauss(rows, RESULTS / f"{args.out}{gauss}.png")


def train(args, bar) -> list[dict]:
    """Meta-train, measure and (where right everywhere) read off and verify each run."""
    import torch

    from turing_rcnn.trainable.meta import MetaLearner, read_rule, verify

    torch.set_num_threads(1)
    rows = []
    for name in args.families:
        for seed in args.seeds:
            here = f"{name}{' (hints)' * args.hints} seed {seed}"
            bar.stage(f"{here}: training")
            symbols = args.symbols or max(MetaConfig.symbols, META_HINTS.get(name, 0) * args.hints)
            cfg = MetaConfig(
                learner=name,
                seed=seed,
                max_minutes=args.max_minutes,
                hints=args.hints,
                lr=args.lr,
                symbols=symbols,
                hidden=args.hidden,
                max_d=args.max_d,
                max_m=args.max_m,
                neighbourhood=args.neighbourhood,
            )
            start = time.perf_counter()
            model = MetaLearner(cfg, progress=False).fit()
            row = {
                "learner": name,
                "hints": cfg.hints,
                "seed": seed,
                "symbols": cfg.symbols,
                "hidden": cfg.hidden,
                "max_m": cfg.max_m,
                "max_d": cfg.max_d,
                "neighbourhood": cfg.neighbourhood,
                "parameters": sum(p.numel() for p in model.net_.parameters()),
                "steps": model.steps_,
                "train_seconds": round(model.train_seconds_, 1),
                "val_accuracy": model.history_.val_accuracy[-1],
                "frozen": sorted(model.frozen_),
            }
            bar.stage(f"{here}: accuracy against m and d")
            row |= accuracy_table(model, np.random.default_rng(100 + seed))
            if cfg.hints and name == "gauss":  # the moonshot's failing cases
                bar.stage(f"{here}: departures from the hint's trace")
                row["departures"] = departures(model, [(d + 10, d) for d in (6, 8, 12, 16)])
            measured = [v for key in ("by_m", "by_d", "by_size") for v in row.get(key, {}).values()]
            write_json(f"{args.out}.json", {"rows": [*rows, row]})  # kept if the read-off is cut
            if min(measured) == 1.0:
                bar.stage(f"{here}: reading off and verifying the rule")
                rule = read_rule(model)
                row["verify"] = verify(rule, seed=seed)
                if cfg.hints:
                    row["hint_agreement"] = hint_agreement(rule)
                if row["verify"]["exact"]:
                    path = RESULTS / "meta_rules" / f"{name}-s{seed}.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    rule.save(str(path))
                    row["rule"] = str(path.name)
            row["seconds"] = round(time.perf_counter() - start, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
            write_json(f"{args.out}.json", {"rows": rows})
            bar.advance()
    return rows


def baselines(rng) -> dict:
    """For the families that read the data: how often a label-only learner (majority,
    first-label, last-label) gives the family's answer, at m = 2, 8, 32 (d = 4; 2 000
    problems each): what a filter that learned only a label statistic would score."""
    from turing_rcnn.trainable.meta import FAMILIES, sample

    out = {}
    for name in ("nearest-neighbour", "gauss"):
        out[name] = {}
        for m in (2, 8, 32):
            X, y, x, want = sample(FAMILIES[name], 2000, m, 4, rng)
            out[name][m] = {
                other: float(
                    np.mean(
                        [
                            FAMILIES[other].reference(X[i], y[i], x[i : i + 1])[0] == want[i]
                            for i in range(len(X))
                        ]
                    )
                )
                for other in ("majority", "first-label", "last-label")
            }
    return out


def markdown(rows: list[dict]) -> str:
    """The table of the runs on docs/results/meta.md (between <!-- meta: begin -->
    and <!-- meta: end -->)."""
    from turing_rcnn.trainable.meta import INPUTS

    out = [
        "| learner | seed | steps | train [s] | filter right at m = 2 / 8 / 32 | frozen cells "
        "| table entries | guards (merged) | (a) exhaustive + label patterns | (b) random "
        "to m = 64 | frame (Algorithm 1) | exact |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        v = r.get("verify") or {}
        a = [v[k] for k in ("exhaustive", "label_patterns") if k in v]
        checks = (
            f"{sum(x['right'] for x in a)}/{sum(x['problems'] for x in a)}" if a else "not read"
        )
        random = f"{v['random']['right']}/{v['random']['problems']}" if v else "-"
        frame = (
            f"{v['frame']['exact']}/{v['frame']['datasets']} datasets" if v.get("frame") else "-"
        )
        by_m = " / ".join(f"{r['by_m'][m]:.3f}" for m in ("2", "8", "32"))
        out.append(
            f"| {r['learner']}{' (hints)' * bool(r.get('hints'))}{_prior(r)} | {r['seed']} "
            f"| {r['steps']} "
            f"| {r['train_seconds']:.0f} | {by_m} "
            f"| {', '.join(INPUTS[c] for c in r['frozen']) or 'none'} | {v.get('entries', '-')} "
            f"| {v.get('guards', '-')} | {checks} | {random} | {frame} "
            f"| {'**yes**' if v.get('exact') else 'no'} |"
        )
    return "\n".join(out)


def markdown_gauss(rows: list[dict]) -> str:
    """The table of the GF(2) runs against d on docs/results/meta.md (between
    <!-- meta-gauss: begin --> and <!-- meta-gauss: end -->): the filter's accuracy at
    m = 8 and at m = d + 10, and for hint-trained filters where their free runs first
    leave the hint's trace."""
    out = [
        "| gauss | seed | d = 1 / 2 / 4 / 8 (m = 8) | d = 4 / 6 / 8 / 12 / 16 (m = d + 10) "
        "| left the trace at d = 8 / 12 / 16 | first departures met in training: 3x3 / C, N, W |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["learner"] != "gauss":
            continue
        by_d = " / ".join(f"{r['by_d'][d]:.3f}" for d in ("1", "2", "4", "8"))
        by_size = " / ".join(f"{v:.3f}" for v in r.get("by_size", {}).values()) or "-"
        left, met = "-", "-"
        if "departures" in r:
            dep = [r["departures"][k] for k in ("18x8", "22x12", "26x16")]
            left = " / ".join(f"{x['left_trace']:.2f}" for x in dep)
            gone = round(dep[-1]["left_trace"] * 100)
            met = f"{dep[-1]['hood_met']} / {dep[-1]['cnw_met']} of {gone} (d = 16)"
        out.append(f"| {route(r)} | {r['seed']} | {by_d} | {by_size} | {left} | {met} |")
    return "\n".join(out)


def plot(rows: list[dict], path) -> None:
    """The filters' accuracy against m (at d = 4), one line per family and seed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ms = sorted({int(m) for row in rows for m in row["by_m"]})
    for row in rows:
        mine = sorted(row["by_m"], key=int)
        ax.plot(
            [int(m) for m in mine],
            [row["by_m"][m] for m in mine],
            marker="o",
            label=f"{row['learner']}{' (hints)' if row.get('hints') else ''} s{row['seed']}",
            alpha=0.7,
        )
    ax.set(
        xscale="log",
        xlabel="m (training examples; trained at m <= 8)",
        ylabel="accuracy of the filter (d = 4)",
        ylim=(0.4, 1.02),
    )
    ax.set_xticks(ms, [str(m) for m in ms])  # the m measured, not 10^k
    ax.set_xticks([], minor=True)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _prior(row: dict) -> str:
    """A run's prior on what a cell reads, with its training sizes, or nothing."""
    if row.get("neighbourhood", "square") == "square":
        return ""
    return f", {row['neighbourhood']}, m <= {row['max_m']}, d <= {row['max_d']}"


def route(row: dict) -> str:
    """A GF(2) run's route: answer only or with hints, and a prior on what a cell reads
    (with the training sizes, which that route changed too)."""
    return ("with hints" if row.get("hints") else "answer only") + _prior(row)


def gauss_series(rows: list[dict]) -> list[dict]:
    """The GF(2) rows as lines against d: per row, its accuracy at m = BY_D_M (`by_d`)
    and at the sizes of `by_size` ("MxD" keys), each {route, seed, m, d: [...], acc: [...]}."""
    out = []
    for r in rows:
        if r["learner"] != "gauss":
            continue
        name = route(r)
        if r.get("by_d"):
            d = sorted(r["by_d"], key=int)
            acc = [r["by_d"][k] for k in d]
            out.append(
                {"route": name, "seed": r["seed"], "m": f"m = {BY_D_M}"}
                | {"d": [int(k) for k in d], "acc": acc}
            )
        if r.get("by_size"):
            sizes = sorted(
                (tuple(map(int, k.split("x"))) for k in r["by_size"]), key=lambda s: s[1]
            )
            offsets = {m - d for m, d in sizes}
            m = f"m = d + {offsets.pop()}" if len(offsets) == 1 else "m as measured"
            acc = [r["by_size"][f"{m_}x{d}"] for m_, d in sizes]
            out.append(
                {"route": name, "seed": r["seed"], "m": m, "d": [d for _, d in sizes], "acc": acc}
            )
    return out


def plot_gauss(rows: list[dict], path) -> None:
    """The GF(2)-elimination filters' accuracy against d: one panel per m (m = 8, and
    m = d + 10), one line per route (answer only / with hints: colour and line style)
    and seed (marker), chance (0.5) dashed."""
    plt = pyplot()
    series = gauss_series(rows)
    panels = list(dict.fromkeys(s["m"] for s in series))
    looks = [("C3", "-."), ("C0", "-"), ("C2", "--"), ("C1", ":")]
    names = sorted({s["route"] for s in series}, key=lambda n: (n != "answer only", n))
    routes = dict(zip(names, looks, strict=False))
    markers = "os^Dv<>p"
    ds = sorted({d for s in series for d in s["d"]})
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * len(panels), 4.2), sharey=True, squeeze=False
    )
    for ax, panel in zip(axes[0], panels, strict=True):
        for s in series:
            if s["m"] != panel:
                continue
            colour, style = routes[s["route"]]
            seeds = sorted({x["seed"] for x in series})
            ax.plot(
                s["d"],
                s["acc"],
                style,
                color=colour,
                marker=markers[seeds.index(s["seed"]) % len(markers)],
                alpha=0.8,
                label=f"{s['route']}, seed {s['seed']}",
            )
        ax.axhline(0.5, color="grey", ls="--", lw=1.2, label="chance (0.5)")
        missing = [
            r for r in routes if not any(s["route"] == r and s["m"] == panel for s in series)
        ]
        if missing:
            ax.text(
                0.03,
                0.04,
                f"{', '.join(missing)}: not measured at {panel}",
                transform=ax.transAxes,
                fontsize=8,
                color="dimgrey",
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(ds, [str(d) for d in ds])
        ax.minorticks_off()
        ax.set(xlim=(ds[0] / 1.15, ds[-1] * 1.15), ylim=(0.4, 1.02))
        ax.set(xlabel="d (bits per example)", title=f"{panel} examples")
        ax.grid(True, alpha=0.3)
    handles = {}  # one legend for both panels, below them
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    order = sorted(handles, key=lambda k: (k.startswith("chance"), not k.startswith("with"), k))
    rows_ = max(1, len({s["seed"] for s in series}))  # a column per route, then chance
    columns = -(-len(order) // rows_)
    blank = plt.Line2D([], [], alpha=0)  # pads the chance column so routes keep theirs
    shown = [handles[k] for k in order] + [blank] * (rows_ * columns - len(order))
    labels = order + [""] * (rows_ * columns - len(order))
    fig.legend(shown, labels, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    axes[0][0].set_ylabel("accuracy of the filter (256 random problems)")
    fig.suptitle("GF(2) elimination meta-trained by SGD: accuracy against d")
    fig.tight_layout(rect=(0, 0.04 + 0.035 * rows_, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""SGD learns the learner: meta-train a finite-state filter per learner family and seed,
read its rule off, verify it (meta.verify: exhaustive small problems, every label
pattern to m = 12, random to m = 64, the answer stays put, then Algorithm 1 in the
compiled Theorem 1 frame), and for filters that do not validate perfectly, their
accuracy against m (and, for majority, against the margin |#(+1) - #(-1)|).
Writes meta.json and meta.png; the rules that verify go to meta_rules/ beside them.

    python bench/bench_meta.py --families last-label first-label majority --seeds 0 1 2
    python bench/bench_meta.py --families majority --hints --lr 0.01 --out meta_hints
    python bench/bench_meta.py --families gauss --hints --lr 0.01 --hidden 64 --max-d 6 \
        --max-minutes 8 --out meta_gauss_hints
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from _common import RESULTS, write_json

from turing_rcnn.trainable.config import META_HINTS, MetaConfig
from turing_rcnn.trainable.extract import _neighbourhoods
from turing_rcnn.trainable.filter import hint_states
from turing_rcnn.trainable.meta import (
    FAMILIES,
    INPUTS,
    MetaLearner,
    MetaRule,
    Table,
    _hint,
    _step,
    hint_trace,
    layers_for,
    layout_codes,
    read_rule,
    sample,
    schedule,
    verify,
)


def accuracy_table(model: MetaLearner, rng) -> dict:
    """The filter's accuracy at m = 2..32 (d = 4) on 256 random problems each; for
    families that read the data also at d = 1..8 (m = 8); for majority by margin at
    m = 8 and 16."""
    out = {"by_m": {}}
    for m in (2, 4, 8, 16, 32):
        X, y, x, want = sample(model.family_, 256, m, 4, rng)
        out["by_m"][m] = float((model.answers(X, y, x) == want).mean())
    if model.family_.reads_data:  # and against d, at m = 8
        out["by_d"] = {}
        for d in (1, 2, 4, 8):
            X, y, x, want = sample(model.family_, 256, 8, d, rng)
            out["by_d"][d] = float((model.answers(X, y, x) == want).mean())
    if model.family_.name == "gauss":  # the moonshot's sizes: to d = 16, m = d + 10
        out["by_size"] = model.size_accuracy([(d + 10, d) for d in (4, 6, 8, 12, 16)], 256, 7)
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
        onehot = F.one_hot(torch.as_tensor(codes), len(INPUTS)).permute(0, 3, 1, 2).float()
        state, recalled, active = net.initial_state(onehot), net.recall(onehot), schedule(codes)
        first, where = np.full(count, -1), {}
        with torch.no_grad():
            for layer in range(L):
                step = _step(net, state, recalled)
                state = torch.where(active[:, None] <= layer, step, state)
                got = state.argmax(1).numpy()
                for b in np.flatnonzero((got != trace[layer + 1]).any((1, 2)) & (first < 0)):
                    first[b] = layer
                    r, c = np.argwhere(got[b] != trace[layer + 1, b])[0]
                    row = hoods(trace[:, b : b + 1], codes[b : b + 1], layer)
                    at = r * codes.shape[2] + c
                    where[b] = (row[at], got[b, r, c], trace[layer + 1, b, r, c])
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
    with the entry's target. Entries naming a state the hint has no symbol for: 'other'."""
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
        grid = hint.encode(np.array(names, dtype=object).reshape(3, 3).tolist())
        same = hint.symbols[hint.step(grid)[1, 1]] == name(target)
        out["agree" if same else "disagree"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["last-label", "first-label", "majority"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-minutes", type=float, default=3.0, help="training budget per run")
    parser.add_argument("--hints", action="store_true", help="supervise with the hint's trace")
    parser.add_argument("--lr", type=float, default=MetaConfig.lr, help="Adam's learning rate")
    parser.add_argument("--symbols", type=int, help="k (default: MetaConfig's, or the hint's)")
    parser.add_argument("--hidden", type=int, default=MetaConfig.hidden, help="hidden units")
    parser.add_argument("--max-d", type=int, default=MetaConfig.max_d, help="trained at d <= this")
    parser.add_argument("--out", default="meta")
    parser.add_argument("--baselines", action="store_true", help="label-only learners' scores")
    parser.add_argument("--table", nargs="+", help="print the README table of these JSON files")
    args = parser.parse_args()
    if args.baselines:
        write_json("meta_baselines.json", {"agreement": baselines(np.random.default_rng(5))})
        return
    if args.table:
        rows = [r for f in args.table for r in json.loads(open(f).read())["rows"]]
        print(markdown(rows) + "\n\n" + markdown_gauss(rows))
        return
    torch.set_num_threads(1)
    rows = []
    for name in args.families:
        for seed in args.seeds:
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
            )
            start = time.perf_counter()
            model = MetaLearner(cfg, progress=False).fit()
            row = {
                "learner": name,
                "hints": cfg.hints,
                "seed": seed,
                "symbols": cfg.symbols,
                "hidden": cfg.hidden,
                "parameters": sum(p.numel() for p in model.net_.parameters()),
                "steps": model.steps_,
                "train_seconds": round(model.train_seconds_, 1),
                "val_accuracy": model.history_.val_accuracy[-1],
                "frozen": sorted(model.frozen_),
            }
            row |= accuracy_table(model, np.random.default_rng(100 + seed))
            if cfg.hints and name == "gauss":  # the moonshot's failing cases
                row["departures"] = departures(model, [(d + 10, d) for d in (6, 8, 12, 16)])
            measured = [v for key in ("by_m", "by_d", "by_size") for v in row.get(key, {}).values()]
            if min(measured) == 1.0:
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
    plot(rows, RESULTS / f"{args.out}.png")


def baselines(rng) -> dict:
    """For the families that read the data: how often a label-only learner (majority,
    first-label, last-label) gives the family's answer, at m = 2, 8, 32 (d = 4; 2 000
    problems each): what a filter that learned only a label statistic would score."""
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
    """The README's table of the runs (between <!-- meta: begin --> and <!-- meta: end -->)."""
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
            f"| {r['learner']}{' (hints)' * bool(r.get('hints'))} | {r['seed']} | {r['steps']} "
            f"| {r['train_seconds']:.0f} | {by_m} "
            f"| {', '.join(INPUTS[c] for c in r['frozen']) or 'none'} | {v.get('entries', '-')} "
            f"| {v.get('guards', '-')} | {checks} | {random} | {frame} "
            f"| {'**yes**' if v.get('exact') else 'no'} |"
        )
    return "\n".join(out)


def markdown_gauss(rows: list[dict]) -> str:
    """The README's table of the GF(2) runs against d (between <!-- meta-gauss: begin -->
    and <!-- meta-gauss: end -->): the filter's accuracy at m = 8 and at m = d + 10, and
    for hint-trained filters where their free runs first leave the hint's trace."""
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
        label = "with hints" if r.get("hints") else "answer only"
        out.append(f"| {label} | {r['seed']} | {by_d} | {by_size} | {left} | {met} |")
    return "\n".join(out)


def plot(rows: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for row in rows:
        ms = sorted(row["by_m"], key=int)
        ax.plot(
            [int(m) for m in ms],
            [row["by_m"][m] for m in ms],
            marker="o",
            label=f"{row['learner']}{' (hints)' if row.get('hints') else ''} s{row['seed']}",
            alpha=0.7,
        )
    ax.set(
        xscale="log",
        xlabel="m (training examples; trained at m <= 8)",
        ylabel="accuracy of the filter",
        ylim=(0.4, 1.02),
    )
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()

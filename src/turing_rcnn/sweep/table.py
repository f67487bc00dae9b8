"""A sweep's table (per setting: how often training validated, how often its rule is
exact and proved, each with a 95% Wilson interval; minutes per run) and its picture
(accuracy against test size, one thin line per seed)."""

from __future__ import annotations

import statistics

from .. import guard
from ..search.restarts import wilson_interval
from .config import SETTINGS


def rate(hits: int, n: int) -> dict:
    """hits of n as a rate with its 95% Wilson interval."""
    low, high = wilson_interval(hits, n)
    rate = round(hits / n, 4) if n else 0.0
    return {"hits": hits, "runs": n, "rate": rate, "low": round(low, 4), "high": round(high, 4)}


def summarise(rows: list[dict]) -> list[dict]:
    """One line per setting, in the order the rows come."""
    lines = []
    for name in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == name]
        minutes = [r["minutes"] for r in mine]
        line = {
            "setting": name,
            "seeds": len(mine),
            "validated": rate(sum(r["validated"] for r in mine), len(mine)),
            "exact": None,
            "proved": None,
            "median_minutes": round(statistics.median(minutes), 2),
            "max_minutes": round(max(minutes), 2),
            "mean_accuracy": {
                size: round(statistics.fmean(r["accuracy"][size] for r in mine), 3)
                for size in mine[0]["accuracy"]
            },
        }
        if all(r["exact"] is not None for r in mine):
            line["exact"] = rate(sum(r["exact"] for r in mine), len(mine))
            line["proved"] = rate(sum(bool(r.get("proved")) for r in mine), len(mine))
        lines.append(line)
    return lines


def _shown(r: dict | None) -> str:
    if r is None:
        return "-"
    return f"{r['hits']}/{r['runs']} ({r['rate']:.2f}, {r['low']:.2f}-{r['high']:.2f})"


def as_text(report: dict) -> str:
    """The table as a person reads it (rates: hits/runs (rate, 95% Wilson interval))."""
    head = ("setting", "seeds", "validated", "rule exact", "proved", "min/run (median, max)")
    body = [
        (
            t["setting"],
            str(t["seeds"]),
            _shown(t["validated"]),
            _shown(t["exact"]),
            _shown(t["proved"]),
            f"{t['median_minutes']:.2f}, {t['max_minutes']:.2f}",
        )
        for t in report["table"]
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    text = [
        "  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
        for row in [head, *body]
    ]
    accuracy = [
        f"{t['setting']}: mean accuracy "
        + ", ".join(f"{size}: {a:.3f}" for size, a in t["mean_accuracy"].items())
        for t in report["table"]
    ]
    files = [f"{k}: {report[k]}" for k in ("out", "checkpoint", "picture") if report.get(k)]
    return "\n".join([*text, "", *accuracy, "", *files])


def as_markdown(table: list[dict]) -> str:
    """The table as a Markdown table (the results pages hold it; a test compares)."""
    out = [
        "| setting | seeds | validated | rule exact | proved | mean accuracy (test size: acc.) "
        "| minutes per run (median, max) |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in table:
        accuracy = ", ".join(f"{size}: {a:.3f}" for size, a in t["mean_accuracy"].items())
        out.append(
            f"| {t['setting']} | {t['seeds']} | {_shown(t['validated'])} | {_shown(t['exact'])} "
            f"| {_shown(t['proved'])} | {accuracy} "
            f"| {t['median_minutes']:.2f}, {t['max_minutes']:.2f} |"
        )
    return "\n".join(out)


def plot(rows: list[dict], path: str) -> str:
    """Accuracy against test size, one panel per setting, one thin line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["setting"] for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        mine = [r for r in rows if r["setting"] == name]
        for r in mine:
            sizes = [int(s) for s in r["accuracy"]]
            ax.plot(sizes, list(r["accuracy"].values()), "-o", lw=0.7, ms=2.5, alpha=0.6)
        ax.set_xscale("log", base=2)
        ax.set_xticks(SETTINGS[name].test_sizes, [str(s) for s in SETTINGS[name].test_sizes])
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("test size (bits or grid side)")
        ax.set_ylabel("whole-input accuracy")
        right = sum(min(r["accuracy"].values()) == 1.0 for r in mine)
        ax.set_title(f"{name}: {right} of {len(mine)} seeds right at every size", fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with guard.atomic_path(path, replace=True) as tmp:  # the sweep's own: redrawn on resume
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path

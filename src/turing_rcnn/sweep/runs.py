"""A sweep's runs: each trains one seed of one setting, tests it and, for a
finite-state filter, extracts and verifies its rule; the driver sends them to a
backend (search/backends.py: in this process, a process pool or Ray), writes every
run's files under one folder and journals each finished run (journal.py), so a killed
sweep resumes without redoing what finished."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import guard, journal
from ..progress import bar
from ..search.backends import one_thread, run_chunks
from .config import SETTINGS, SweepConfig

FILES = ("model.pt", "rule.json")  # what a run may leave in its folder


def run_one(name: str, seed: int, overrides: dict, verify: bool) -> dict:
    """Train seed `seed` of setting `name`, test it at the setting's sizes (fresh
    inputs seeded by the seed) and, with `verify`, read its rule off and verify it
    (verify.verify with its quick random sizes). One torch thread. The row carries the
    run's files as base64 (files: name -> text), so that a Ray worker on another
    machine needs no shared disk."""
    from ..trainable import AlgorithmLearner
    from ..trainable.extract import extract
    from ..trainable.verify import verify as verify_rule

    setting = SETTINGS[name]
    start = time.perf_counter()
    with one_thread(), tempfile.TemporaryDirectory() as tmp:
        learner = AlgorithmLearner(setting.config(seed, **overrides), progress=False).fit()
        history = learner.history_
        long = history.val_accuracy_long or history.val_accuracy  # (given data: one set)
        scores = zip(history.val_accuracy, long, strict=True)
        row = {
            "setting": name,
            "seed": seed,
            "steps": learner.steps_,
            "train_seconds": round(learner.train_seconds_, 1),
            "validated": any(a == 1.0 and b == 1.0 for a, b in scores),
            "accuracy": {},
        }
        rng = np.random.default_rng(10_000 + seed)
        for size in setting.test_sizes:
            x, y = learner.task_.sample(setting.test_count, size, rng)
            row["accuracy"][str(size)] = learner.score(x, y)
        learner.save(os.path.join(tmp, "model.pt"))
        row["exact"] = row["proved"] = None
        if verify and setting.finite_state:
            size = learner.config_.train_size
            sizes = (size, learner.task_.larger(size))
            rule = extract(learner, [learner.task_.sample(200, s, rng)[0] for s in sizes])
            rule.save(os.path.join(tmp, "rule.json"))
            report = verify_rule(rule, seed=seed, quick=True)
            row["exact"] = bool(report["exact"])
            proved = report.get("proved_every_length")
            row["proved"] = None if proved is None else bool(proved)
            row["verify_seconds"] = report["seconds"]
        paths = {f: Path(tmp, f) for f in FILES}
        row["files"] = {
            f: base64.b64encode(p.read_bytes()).decode() for f, p in paths.items() if p.exists()
        }
    row["minutes"] = round((time.perf_counter() - start) / 60, 3)
    return row


def run(config: SweepConfig, progress: bool = True) -> dict:
    """The sweep, its table (also out/table.json) and picture (out/sweep.png)."""
    from .table import plot, summarise

    rows = sweep(config, progress)
    report = {
        "table": summarise(rows),
        "runs": len(rows),
        "out": config.out,
        "checkpoint": os.path.join(config.out, "sweep.jsonl"),
        "picture": plot(rows, os.path.join(config.out, "sweep.png")),
    }
    table = os.path.join(config.out, "table.json")
    guard.write_text(table, json.dumps(report, indent=1) + "\n", replace=True)
    return report


def run_folder(out: str, name: str, seed: int) -> str:
    return os.path.join(out, name, f"seed-{seed}")


def _check_out(out: str) -> None:
    """A user error unless --out is a folder (or can be made) whose sweep files, where
    they exist, are regular files (never a FIFO or device to read or rename onto)."""
    kind = guard.what_is(out)
    if os.path.lexists(out) and not (kind or "").endswith("a folder"):
        raise ValueError(f"--out {out} is {kind or 'a file'}, not a folder")
    for name in ("sweep.jsonl", "table.json", "sweep.png"):
        inside = guard.what_is(os.path.join(out, name)) if kind else None
        if inside:
            raise ValueError(f"--out {out}: {name} is {inside}, not a regular file")
    guard.need_folder(os.path.join(out, "sweep.jsonl") if kind else out)


def journal_header(config: SweepConfig) -> dict:
    """The checkpoint's first line: what its rows depend on, and their fingerprint."""
    fields = config.fingerprint_fields()
    return {"fingerprint": journal.fingerprint(fields), "sweep": fields}


def sweep(config: SweepConfig, progress: bool = True) -> list[dict]:
    """Every (setting, seed) run of the config, finished ones read from the checkpoint
    `out/sweep.jsonl`; returns the rows in (setting, seed) order."""
    out = config.out
    _check_out(out)
    if config.backend == "ray" and config.address:
        from ..search.backends import reachable

        reachable(config.address)
    checkpoint = os.path.join(out, "sweep.jsonl")
    if os.path.isdir(out) and os.listdir(out) and not os.path.lexists(checkpoint):
        raise ValueError(
            f"--out {out} holds files but no sweep.jsonl: not a sweep's folder; choose a new "
            "or empty folder (nothing written)"
        )
    os.makedirs(out, exist_ok=True)
    header = journal_header(config)
    differs = "its settings, budgets or verification differ; only the seeds may change"
    done = {}
    for number, row in journal.open_journal(checkpoint, header, "sweep", differs):
        try:
            key = _check_row(row, config.verify)
        except ValueError as err:
            raise ValueError(f"checkpoint {checkpoint} line {number}: {err}") from None
        done[key] = row
    seeds = range(config.first_seed, config.first_seed + config.seeds)
    wanted = [(name, seed) for name in config.settings for seed in seeds]
    todo = [key for key in wanted if key not in done]
    for name, seed in todo:  # where each run's files will go: checked before any work
        folder = run_folder(out, name, seed)
        for path in (os.path.dirname(folder), folder):
            if os.path.lexists(path) and not os.path.isdir(path):
                raise ValueError(f"--out {out}: {path} is {guard.what_is(path) or 'a file'}, "
                                 "not a folder")  # fmt: skip
        for path in (os.path.join(folder, f) for f in FILES if os.path.isdir(folder)):
            if guard.what_is(path):
                raise ValueError(f"--out {out}: {path} is {guard.what_is(path)}, not a file")
    jobs = [(name, seed, config.overrides(), config.verify) for name, seed in todo]
    desc = f"sweep ({config.backend}, {len(todo)} of {len(wanted)} runs to go)"
    with (
        journal.locked(checkpoint, "sweep"),
        bar(desc, len(wanted), progress, unit="run", initial=len(wanted) - len(todo)) as line,
    ):
        for j, row in run_chunks(run_one, jobs, config.backend, config.workers, config.address):
            folder = run_folder(out, row["setting"], row["seed"])
            os.makedirs(folder, exist_ok=True)
            for name, blob in row.pop("files").items():
                path = os.path.join(folder, name)  # a run's own: replaced on resume
                with guard.atomic_path(path, replace=True) as tmp, open(tmp, "wb") as f:
                    f.write(base64.b64decode(blob))
            journal.append(checkpoint, row)
            done[todo[j]] = row
            line.update(1)
    return [done[key] for key in wanted]


ROW_FIELDS = {"setting", "seed", "steps", "train_seconds", "validated", "accuracy", "exact"}
ROW_FIELDS |= {"minutes"}
# (rows are parsed by integrity.parse_json: NaN, Infinity and 1e309 never get here)


def _check_row(row, verify: bool) -> tuple[str, int]:
    """(setting, seed) of a checkpoint row, after checking its fields and types (exact
    is true or false exactly when the sweep verifies that setting's rules)."""
    if not isinstance(row, dict) or not ROW_FIELDS <= set(row):
        raise ValueError(f"a row is a JSON object with the fields {sorted(ROW_FIELDS)}")
    name, seed = row["setting"], row["seed"]
    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}")
    if type(seed) is not int or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(row["validated"], bool) or row["exact"] not in (None, True, False):
        raise ValueError("validated must be true or false; exact true, false or null")
    if row.get("proved") not in (None, True, False):
        raise ValueError("proved must be true, false or null")
    verified = verify and SETTINGS[name].finite_state
    if (row["exact"] is None) == verified:
        said = "true or false (its rule is verified)" if verified else "null (not verified)"
        raise ValueError(f"exact must be {said} for {name}, got {row['exact']!r}")
    if type(row["steps"]) is not int or row["steps"] < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {row['steps']!r}")
    seconds = row["train_seconds"]
    if type(seconds) not in (int, float) or not 0 <= seconds < 1e9:
        raise ValueError(f"train_seconds must be a finite time >= 0, got {seconds!r}")
    accuracy, sizes = row["accuracy"], {str(s) for s in SETTINGS[name].test_sizes}
    if (
        not isinstance(accuracy, dict)
        or set(accuracy) != sizes
        or not all(type(v) in (int, float) and 0 <= v <= 1 for v in accuracy.values())
    ):
        raise ValueError(
            f"accuracy must map the test sizes {sorted(sizes, key=int)} to numbers in [0, 1]"
        )
    minutes = row["minutes"]
    if type(minutes) not in (int, float) or not 0 <= minutes < 1e6:
        raise ValueError(f"minutes must be a finite number >= 0, got {minutes!r}")
    return name, seed

"""Hostile files we read: rules, learned learners, models and checkpoints that are huge,
deeply nested, explode when expanded, hold floats where integers belong or numbers
JSON should not have, were changed by a byte, or predate content hashes; and shipped
files changed on disk. Each is refused with one line naming the problem (exit code 2
on the command line, a ValueError in the API), without a traceback, within seconds,
and every file in the folder stays as it was (test_bad_input.py's contract)."""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import refused

from turing_rcnn import AlgoConfig, AlgorithmLearner, SearchConfig, integrity, pretrained
from turing_rcnn.programs.cellular import MAX_CHECKED, CellularProgram, Guard
from turing_rcnn.search.restarts import _check_problem, _fingerprint
from turing_rcnn.sweep import SweepConfig
from turing_rcnn.sweep.runs import journal_header
from turing_rcnn.tasks import search_problem
from turing_rcnn.trainable.extract import MAX_ENTRIES, Rule
from turing_rcnn.trainable.meta import MetaLearner, MetaRule

SWEEP = ["--settings", "addition-k3", "--seeds", "1", "--max-steps", "4", "--no-verify"]


def _shipped_json(kind: str, name: str) -> dict:
    return json.loads(Path(pretrained.resolve(name, kind)).read_text())


def _unsealed(blob: dict) -> dict:
    return {k: v for k, v in blob.items() if k != integrity.HASH_KEY}


def _retarget(rule: dict) -> None:
    """One table entry's target changed to another state of the same input code: a rule
    as valid as before, but not the one that was saved."""
    for g in rule["guards"]:
        state, code = g["then"][1:].split("i")
        other = f"s{(int(state) + 1) % rule['states']}i{code}"
        if other in rule["symbols"] and other != g["then"]:
            g["then"] = other
            return
    raise AssertionError("no entry to retarget")


def _big_rule(overlap: bool) -> dict:
    """A rule of 40 000 guards over (W, C, E), one with a symbol set (so not a plain
    table); with `overlap`, half of them name (N, C, S) instead, and those whose
    centre some (W, C, E) guard also names clash with it (they share only C)."""
    symbols = ["#"] + [f"s{s}i{c}" for s in range(128) for c in range(2)]
    triples = itertools.product(symbols[1:], symbols[1:40], symbols[1:20])
    guards = [
        {"when": {"W": [w], "C": [c], "E": [e]}, "then": "s0i" + c.split("i")[1]}
        for w, c, e in itertools.islice(triples, 40_000)
    ]
    guards[0]["when"]["W"] = [guards[0]["when"]["W"][0], "#"]
    if overlap:
        for g in guards[20_000:]:
            when = g["when"]
            g["when"] = {"N": when["W"], "C": [when["C"][0].replace("i0", "i1")], "S": when["E"]}
            g["then"] = "s0i" + g["when"]["C"][0].split("i")[1]
    blob = {"task": "prefix-parity", "states": 128, "inputs": [[0.0], [1.0]]}
    return blob | {"symbols": symbols, "border": "#", "guards": guards, "readout": {}}


def _exploding_rule() -> dict:
    """One guard with 12 symbols at each of 8 positions: 12^8 = 429,981,696 entries."""
    symbols = ["#"] + [f"s{s}i0" for s in range(12)]
    when = {p: symbols[1:] for p in ("NW", "N", "NE", "W", "E", "SW", "S", "SE")}
    guard = {"when": when | {"C": ["s0i0"]}, "then": "s1i0"}
    blob = {"task": "prefix-parity", "states": 12, "inputs": [[0.0]], "symbols": symbols}
    return blob | {"border": "#", "guards": [guard], "readout": {}}


def _flip_weight_byte(data: bytes) -> bytes:
    """A .pt file (a zip) with one byte of its first weight tensor flipped."""
    info = next(i for i in zipfile.ZipFile(io.BytesIO(data)).infolist() if "/data/0" in i.filename)
    name, extra = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    at = info.header_offset + 30 + name + extra + 5
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


def _search_header() -> str:
    cfg = SearchConfig()
    problem = _check_problem(search_problem("last-bit", 3, 5, 8, 1000, cfg.seed)[:4])
    return json.dumps({"fingerprint": _fingerprint(cfg, [problem]), "config": {}}) + "\n"


def _sparse(path: Path, size: int) -> None:
    """A file of `size` zero bytes that takes no disk space."""
    with open(path, "wb") as f:
        f.truncate(size)


RULE = [  # (file, what is wrong with it) -> `verify FILE` must say
    ("huge.json", "more than the 64 MB such a file may hold"),
    ("deep.json", "nested more than 64 levels deep"),
    ("deep-object.json", "nested more than 64 levels deep"),
    ("deep-100.json", "nested more than 64 levels deep"),
    ("big-overlap.json", "overlapping guards"),
    ("exploding.json", f"past {MAX_ENTRIES:,} neighbourhoods"),
    ("states-float.json", "states must be a whole number in 1..128, got 3.0"),
    ("states-half.json", "states must be a whole number in 1..128, got 2.5"),
    ("states-bool.json", "states must be a whole number in 1..128, got True"),
    ("states-negative.json", "states must be a whole number in 1..128, got -1"),
    ("states-huge.json", "states must be a whole number in 1..128, got 1000000"),
    ("states-1e309.json", "the number 1e309 is beyond float range"),
    ("states-digits.json", "an integer of 5000 digits"),
    ("readout-nan.json", "NaN is not a number we accept"),
    ("inputs-infinity.json", "Infinity is not a number we accept"),
    ("inputs-minus-infinity.json", "-Infinity is not a number we accept"),
    (
        "inputs-strings.json",
        "inputs must be input vectors of one length, of finite float32 numbers",
    ),
    ("inputs-ragged.json", "inputs must be input vectors of one length, of finite float32 numbers"),
    ("inputs-1e300.json", "inputs must be input vectors of one length, of finite float32"),
    ("inputs-empty.json", "inputs must be a list of 1..16 input vectors"),
    ("inputs-100-codes.json", "inputs must be a list of 1..16 input vectors"),
    ("readout-string.json", "readout must map symbols to finite numbers"),
    ("symbols-string.json", "symbols must be a list of names"),
    ("guards-object.json", "guards must be a list of at most 1,000,000 guards"),
    ("guard-extra-key.json", "guard 0 must be an object with 'when' and a 'then' symbol"),
    ("guard-then-number.json", "guard 0 must be an object with 'when' and a 'then' symbol"),
    ("guard-when-numbers.json", "guard 0: 'when' must map positions to symbols"),
    ("retargeted.json", "its content hash does not match: the file was changed or damaged"),
    ("extra-field.json", "its content hash does not match"),
    ("hash-zero.json", "its content hash does not match"),
    ("hash-number.json", "its content hash does not match"),
    ("hashless.json", "has no content hash (saved before turing-rcnn sealed its files)"),
    ("fifo.json", "is not a regular file (a FIFO), so not a rule"),
    ("link-to-fifo.json", "is not a regular file (a symbolic link to a FIFO), so not a rule"),
    ("empty.json", "cannot read a rule (Expecting value"),
]
CASES = [(f"verify {f}", ["verify", f"{{tmp}}/{f}"], msg) for f, msg in RULE]
CASES.append(
    (
        "verify a 60 MB rule over --max-memory",
        ["verify", "{tmp}/large.json", "--max-memory", "1"],
        "reading the rule",
    )
)

LEARNER = [
    ("deep.json", "cannot read a learned learner (JSON nested more than 64 levels deep)"),
    ("learner-huge.json", "more than the 64 MB such a file may hold"),
    ("learner-retargeted.json", "its content hash does not match"),
    ("learner-hashless.json", "has no content hash"),
    ("learner-states-float.json", "states must be a whole number in 1..128, got 6.0"),
    ("learner-nan.json", "NaN is not a number we accept"),
    ("learner-exploding.json", f"past {MAX_ENTRIES:,} neighbourhoods"),
    ("fifo.json", "is not a regular file (a FIFO), so not a learner"),
]
CASES += [
    (f"meta-train --load {f}", ["meta-train", "--load", f"{{tmp}}/{f}"], m) for f, m in LEARNER
]

MODEL = [
    ("flipped.pt", "its content hash does not match: the file was changed or damaged"),
    ("hashless.pt", f"add one with: {integrity.REHASH}"),
    ("hash-zero.pt", "its content hash does not match"),
    ("complex.pt", "its weights must be real floats"),
    ("int.pt", "its weights must be real floats"),
    ("steps-negative.pt", "its steps must be a whole number >= 0, got -5"),
    ("steps-float.pt", "its steps must be a whole number >= 0, got 3.5"),
    ("steps-bool.pt", "its steps must be a whole number >= 0, got True"),
    ("seconds-inf.pt", "its train_seconds must be a finite time >= 0, got inf"),
    ("seconds-nan.pt", "its train_seconds must be a finite time >= 0, got nan"),
    ("seconds-negative.pt", "its train_seconds must be a finite time >= 0"),
    ("history-inf.pt", "its history's seconds must be a list of finite numbers"),
    ("history-step.pt", "its history's steps must be whole numbers >= 0"),
    ("huge.pt", "a model file may hold (learner.MAX_MODEL_BYTES)"),
    ("fifo.pt", "is not a regular file (a FIFO), so not a filter"),
    ("broken-link.pt", "is not a regular file (a broken symbolic link), so not a filter"),
]
CASES += [(f"train-algo --load {f}", ["train-algo", "--load", f"{{tmp}}/{f}"], m) for f, m in MODEL]
CASES += [
    (f"extract --load {f}", ["extract", "--load", f"{{tmp}}/{f}", "--out", "{tmp}/n.json"], m)
    for f, m in [MODEL[0], MODEL[1], MODEL[3], MODEL[5], ("untrained.pt", "train it longer")]
]
CASES.append(
    (
        "extract an untrained filter names its accuracy",
        ["extract", "--load", "{tmp}/untrained.pt", "--out", "{tmp}/n.json"],
        "the filter answers 0.0% of 200 inputs of its training size right (below 5%",
    )
)

CHECKPOINT = [
    ("chunk-float.jsonl", "line 2: chunk must be a non-negative integer, got 0.0"),
    ("chunk-digits.jsonl", "line 2: an integer of 40 digits"),
    ("indices-float.jsonl", "line 2: indices must be a list of integers"),
    ("errors-nan.jsonl", "line 2: NaN is not a number we accept"),
    ("errors-1e309.jsonl", "line 2: the number 1e309 is beyond float range"),
    ("row-deep.jsonl", "line 2: JSON nested more than 64 levels deep"),
    ("row-very-deep.jsonl", "line 2: JSON nested more than 64 levels deep"),
]
CASES += [
    (f"search --checkpoint {f}", ["search", "--checkpoint", f"{{tmp}}/{f}"], m)
    for f, m in CHECKPOINT
]
CASES.append(
    (
        "search --checkpoint of 2 GB",
        ["search", "--checkpoint", "{tmp}/huge.jsonl", "--max-memory", "1"],
        "reading checkpoint",
    )
)

SWEEP_ROWS = [  # (name, change to a good row, message)
    ("steps float", {"steps": 3.5}, "steps must be a whole number >= 0, got 3.5"),
    ("steps negative", {"steps": -1}, "steps must be a whole number >= 0, got -1"),
    ("seed float", {"seed": 0.0}, "seed must be a non-negative integer, got 0.0"),
    ("seconds huge", {"train_seconds": 1e300}, "train_seconds must be a finite time >= 0"),
    ("accuracy size missing", {"accuracy": {"16": 1.0}}, "accuracy must map the test sizes"),
    ("proved a string", {"proved": "yes"}, "proved must be true, false or null"),
    ("minutes NaN", {"minutes": "NaN"}, "NaN is not a number we accept"),
    ("minutes Infinity", {"minutes": "Infinity"}, "Infinity is not a number we accept"),
    ("deep", {"accuracy": "DEEP"}, "JSON nested more than 64 levels deep"),
]
CASES += [
    (f"sweep row {n}", ["sweep", *SWEEP, "--out", f"{{tmp}}/sweep-{i}"], f"line 2: {m}")
    for i, (n, _, m) in enumerate(SWEEP_ROWS)
]


def _write_rules(tmp: Path) -> None:
    rule = _shipped_json("rule", "prefix-parity")  # sealed, 3 states
    bare = _unsealed(rule)
    _sparse(tmp / "huge.json", 65 * 10**6)
    _sparse(tmp / "large.json", 60 * 10**6)
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp / "deep-object.json").write_text('{"a":' * 5000 + "1" + "}" * 5000)
    (tmp / "deep-100.json").write_text(
        json.dumps(bare | {"name": "x"})[:-1] + ', "x": ' + "[" * 100 + "]" * 100 + "}"
    )
    (tmp / "big-overlap.json").write_text(json.dumps(_big_rule(overlap=True)))
    (tmp / "exploding.json").write_text(json.dumps(_exploding_rule()))
    changed = {
        "states-float.json": {"states": 3.0},
        "states-half.json": {"states": 2.5},
        "states-bool.json": {"states": True},
        "states-negative.json": {"states": -1},
        "states-huge.json": {"states": 10**6},
        "inputs-strings.json": {"inputs": [["a", "b", "c"]] * len(bare["inputs"])},
        "inputs-ragged.json": {"inputs": [[1.0], [1.0, 2.0]]},
        "inputs-1e300.json": {"inputs": [[1e300] * len(v) for v in bare["inputs"]]},
        "inputs-empty.json": {"inputs": []},
        "inputs-100-codes.json": {"inputs": [[float(i)] for i in range(100)]},
        "readout-string.json": {"readout": {"s1i0": "one"}},
        "symbols-string.json": {"symbols": "s0i0"},
        "guards-object.json": {"guards": {"0": 1}},
        "guard-extra-key.json": {"guards": [bare["guards"][0] | {"also": 1}]},
        "guard-then-number.json": {"guards": [bare["guards"][0] | {"then": 7}]},
        "guard-when-numbers.json": {"guards": [{"when": {"C": [1, 2]}, "then": "s1i0"}]},
    }
    for name, change in changed.items():
        (tmp / name).write_text(json.dumps(rule | change))
    text = json.dumps(bare)
    (tmp / "states-1e309.json").write_text(text.replace('"states": 3', '"states": 1e309'))
    (tmp / "states-digits.json").write_text(text.replace('"states": 3', '"states": ' + "7" * 5000))
    readout = next(iter(bare["readout"]))
    (tmp / "readout-nan.json").write_text(
        text.replace(f'"{readout}": 1.0', f'"{readout}": NaN'),
    )
    vector = json.dumps(bare["inputs"][0])
    for name, literal in (
        ("inputs-infinity.json", "Infinity"),
        ("inputs-minus-infinity.json", "-Infinity"),
    ):
        (tmp / name).write_text(
            text.replace(vector, "[" + literal + vector[vector.index(",") :], 1)
        )
    retargeted = json.loads(json.dumps(rule))
    _retarget(retargeted)
    (tmp / "retargeted.json").write_text(json.dumps(retargeted))
    (tmp / "extra-field.json").write_text(json.dumps(rule | {"note": "mine"}))
    (tmp / "hash-zero.json").write_text(json.dumps(rule | {integrity.HASH_KEY: "0" * 64}))
    (tmp / "hash-number.json").write_text(json.dumps(rule | {integrity.HASH_KEY: 12345}))
    (tmp / "hashless.json").write_text(json.dumps(bare))
    (tmp / "empty.json").write_text("")
    os.mkfifo(tmp / "fifo.json")
    os.symlink(tmp / "fifo.json", tmp / "link-to-fifo.json")


def _write_learners(tmp: Path) -> None:
    learner = _shipped_json("learner", "last-label")
    _sparse(tmp / "learner-huge.json", 65 * 10**6)
    retargeted = json.loads(json.dumps(learner))
    _retarget(retargeted["rule"])
    (tmp / "learner-retargeted.json").write_text(json.dumps(retargeted))
    (tmp / "learner-hashless.json").write_text(json.dumps(_unsealed(learner)))
    floats = learner | {"rule": learner["rule"] | {"states": float(learner["rule"]["states"])}}
    (tmp / "learner-states-float.json").write_text(json.dumps(floats))
    (tmp / "learner-nan.json").write_text(json.dumps(learner).replace(": 1.0", ": NaN", 1))
    exploding = learner | {"rule": _exploding_rule()}
    (tmp / "learner-exploding.json").write_text(json.dumps(exploding))


def _write_models(tmp: Path) -> None:
    good = Path(pretrained.resolve("prefix-parity", "filter"))
    (tmp / "flipped.pt").write_bytes(_flip_weight_byte(good.read_bytes()))
    blob = torch.load(good, weights_only=True)
    state, history = blob["state_dict"], blob["history"]
    first = next(iter(state))
    variants = {
        "hashless.pt": _unsealed(blob),
        "hash-zero.pt": blob | {integrity.HASH_KEY: "0" * 64},
        "complex.pt": blob | {"state_dict": state | {first: state[first].to(torch.complex64)}},
        "int.pt": blob | {"state_dict": state | {first: state[first].to(torch.int64)}},
        "steps-negative.pt": blob | {"steps": -5},
        "steps-float.pt": blob | {"steps": 3.5},
        "steps-bool.pt": blob | {"steps": True},
        "seconds-inf.pt": blob | {"train_seconds": float("inf")},
        "seconds-nan.pt": blob | {"train_seconds": float("nan")},
        "seconds-negative.pt": blob | {"train_seconds": -1.0},
        "history-inf.pt": blob | {"history": history | {"seconds": [float("inf")]}},
        "history-step.pt": blob | {"history": history | {"step": [-1]}},
    }
    for name, b in variants.items():
        torch.save(b, tmp / name)
    _sparse(tmp / "huge.pt", (1 << 30) + 1)
    os.mkfifo(tmp / "fifo.pt")
    os.symlink(tmp / "no-such.pt", tmp / "broken-link.pt")
    config = AlgoConfig(train_size=16, symbols=2, max_steps=1, val_size=5)
    AlgorithmLearner(config, progress=False).fit().save(str(tmp / "untrained.pt"))


def _write_checkpoints(tmp: Path) -> None:
    header = _search_header()
    row = {"chunk": 0, "indices": list(range(32)), "errors": [[0.5]] * 32, "programs": [""] * 32}
    text = json.dumps(row)
    lines = {
        "chunk-float.jsonl": json.dumps(row | {"chunk": 0.0}),
        "chunk-digits.jsonl": text.replace('"chunk": 0', '"chunk": ' + "9" * 40),
        "indices-float.jsonl": json.dumps(row | {"indices": [float(i) for i in range(32)]}),
        "errors-nan.jsonl": text.replace("0.5", "NaN", 1),
        "errors-1e309.jsonl": text.replace("0.5", "1e309", 1),
        "row-deep.jsonl": json.dumps(row | {"programs": [[]] + [""] * 31}).replace(
            "[]", "[" * 80 + "]" * 80, 1
        ),
        "row-very-deep.jsonl": "[" * 50_000 + "]" * 50_000,
    }
    for name, line in lines.items():
        (tmp / name).write_text(header + line + "\n")
    _sparse(tmp / "huge.jsonl", 2 * 10**9)


def _write_sweeps(tmp: Path) -> None:
    config = SweepConfig(settings=("addition-k3",), seeds=1, max_steps=4, verify=False)
    header = json.dumps(journal_header(config)) + "\n"
    row = {"setting": "addition-k3", "seed": 0, "steps": 4, "train_seconds": 0.5}
    row |= {"validated": False, "accuracy": {"16": 0.0, "64": 0.0, "256": 0.0}}
    row |= {"exact": None, "proved": None, "minutes": 0.01}
    for i, (_, change, _) in enumerate(SWEEP_ROWS):
        line = json.dumps(row | change)
        line = line.replace('"NaN"', "NaN").replace('"Infinity"', "Infinity")
        line = line.replace('"DEEP"', "[" * 100 + "]" * 100)
        (tmp / f"sweep-{i}").mkdir()
        (tmp / f"sweep-{i}" / "sweep.jsonl").write_text(header + line + "\n")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Hostile files of every kind, and a new one's place."""
    tmp = tmp_path_factory.mktemp("hostile-files")
    _write_rules(tmp)
    _write_learners(tmp)
    _write_models(tmp)
    _write_checkpoints(tmp)
    _write_sweeps(tmp)
    return tmp


@pytest.mark.parametrize("name, argv, fragment", CASES, ids=[c[0] for c in CASES])
def test_cli_refuses_hostile_files(name, argv, fragment, folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    refused(argv, fragment, folder, capsys)


def _edit_copy(copy: Path, name: str, how: str) -> None:
    path = copy / name
    if how == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    else:  # a file the manifest does not list
        shutil.copy(copy / "rules" / "prefix-parity.json", path)


SHIPPED = [  # (file changed in a copy of the package's files, how, argv)
    ("rules/prefix-parity.json", "flip", ["verify", "prefix-parity"]),
    ("rules/addition.json", "flip", ["verify", "addition", "--quick"]),
    ("filters/prefix-parity.pt", "flip", ["train-algo", "--load", "prefix-parity"]),
    ("filters/addition.pt", "flip", ["extract", "--load", "addition", "--out", "{tmp}/n.json"]),
    ("learners/last-label.json", "flip", ["meta-train", "--load", "last-label"]),
    ("rules/unlisted.json", "add", ["verify", "unlisted"]),
]


@pytest.mark.parametrize("name, how, argv", SHIPPED, ids=[f"{s[1]} {s[0]}" for s in SHIPPED])
def test_a_shipped_file_changed_on_disk_isrefused(name, how, argv, tmp_path, capsys, monkeypatch):
    """The manifest check, on a copy of the shipped files (the package's own are never
    touched): a changed or unlisted file is refused by name."""
    copy = tmp_path / "pretrained"
    shutil.copytree(Path(str(pretrained.ROOT)), copy)
    _edit_copy(copy, name, how)
    monkeypatch.setattr(pretrained, "ROOT", copy)
    monkeypatch.chdir(tmp_path)
    kind = name.split("/")[0].rstrip("s")
    refused(
        argv,
        f"the shipped {kind} {name} does not match the package's MANIFEST.json",
        tmp_path,
        capsys,
    )


def test_the_manifest_lists_every_shipped_file_as_it_is():
    listed = pretrained.manifest()
    for kind in pretrained.KINDS:
        for name in pretrained.names(kind):
            pretrained.resolve(name, kind)  # checks the bytes
    assert len(listed) == sum(len(pretrained.names(k)) for k in pretrained.KINDS)


def test_a_rule_of_40000_guards_loads_in_linear_time(tmp_path):
    """Guards with symbol sets are checked exclusive through their entries, not pair by
    pair: 40 000 guards load in seconds (they took minutes)."""
    rule = Rule.from_json(_big_rule(overlap=False))
    rule.save(str(tmp_path / "big.json"))
    start = time.perf_counter()
    again = Rule.load(str(tmp_path / "big.json"))
    assert time.perf_counter() - start < 5
    assert len(again.program.guards) == 40_000


def _many_guards_past_the_check() -> list[Guard]:
    """1100 guards (too many to check pair by pair) each naming 9 positions of 5 of 6
    symbols, not alike at any position: 1100 x 5^9 entries, too many to expand."""
    symbols = [f"s{i}" for i in range(6)]
    positions = ("NW", "N", "NE", "W", "C", "E", "SW", "S", "SE")
    return [
        Guard(
            {
                p: symbols[: k % 6] + symbols[k % 6 + 1 :]
                for p, k in zip(positions, range(i, i + 9), strict=True)
            },
            "s0",
        )
        for i in range(1100)
    ]


def _deep_value() -> str:
    return "[" * 100_000 + "]" * 100_000


API = [
    ("parse NaN", lambda: integrity.parse_json("[NaN]"), "NaN is not a number"),
    ("parse Infinity", lambda: integrity.parse_json('{"a": Infinity}'), "Infinity is not"),
    ("parse 1e309", lambda: integrity.parse_json("1e309"), "beyond float range"),
    ("parse -1e309", lambda: integrity.parse_json("[-1e309]"), "beyond float range"),
    ("parse 40 digits", lambda: integrity.parse_json("9" * 40), "an integer of 40 digits"),
    ("parse deep", lambda: integrity.parse_json(_deep_value()), "nested more than 64"),
    ("parse depth 65", lambda: integrity.parse_json("[" * 65 + "]" * 65), "nested more than 64"),
    ("parse not UTF-8", lambda: integrity.parse_json(b"[\xc3\x28]"), "not UTF-8"),
    ("rule products", lambda: Rule.from_json(_exploding_rule()), "extract.MAX_ENTRIES"),
    (
        "rule states 2.0",
        lambda: Rule.from_json(_unsealed(_shipped_json("rule", "prefix-parity")) | {"states": 2.0}),
        "states must be a whole number",
    ),
    (
        "learner from_json, states 6.0",
        lambda: MetaRule.from_json(
            {
                "family": "majority",
                "rule": _shipped_json("learner", "majority")["rule"] | {"states": 6.0},
            }
        ),
        "states must be a whole number",
    ),
    (
        "too many entries to check",
        lambda: CellularProgram([f"s{i}" for i in range(6)], "s0", _many_guards_past_the_check()),
        f"at most {MAX_CHECKED:,} sets x entries",
    ),
    ("model folder", lambda: AlgorithmLearner.load(str(Path(__file__).parent)), "is a folder"),
    ("rule missing", lambda: Rule.load("/no/such/rule.json"), "cannot read a rule: no such file"),
    (
        "learner missing",
        lambda: MetaRule.load("/no/such/learner.json"),
        "cannot read a learned learner: no such file",
    ),
]


@pytest.mark.parametrize("name, call, fragment", API, ids=[a[0] for a in API])
def test_api_refuses_hostile_values(name, call, fragment):
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value), str(info.value)
    assert "\n" not in str(info.value) and time.perf_counter() - start < 5


def test_saved_files_carry_their_hash_and_a_resealed_old_file_loads(tmp_path, capsys):
    """Every save writes the content hash; an old file without one is refused until
    `python -m turing_rcnn.integrity FILE` seals it (after every other check)."""
    rule = Rule.load(pretrained.resolve("prefix-parity", "rule"))
    path = tmp_path / "rule.json"
    rule.save(str(path))
    blob = json.loads(path.read_text())
    assert blob[integrity.HASH_KEY] == integrity.content_hash(_unsealed(blob))
    path.write_text(json.dumps(_unsealed(blob)))
    with pytest.raises(ValueError, match="has no content hash"):
        Rule.load(str(path))
    assert integrity.main([str(path)]) == 0
    assert Rule.load(str(path)).to_json() == rule.to_json()
    model = tmp_path / "model.pt"
    blob = torch.load(pretrained.resolve("prefix-parity", "filter"), weights_only=True)
    torch.save(_unsealed(blob), model)
    assert integrity.main([str(model)]) == 0
    assert AlgorithmLearner.load(str(model), progress=False).steps_ == blob["steps"]
    learner = tmp_path / "learner.json"
    MetaRule.load(pretrained.resolve("last-label", "learner")).save(str(learner))
    assert integrity.HASH_KEY in json.loads(learner.read_text())
    (tmp_path / "bad.json").write_text("[NaN]")
    assert integrity.main([str(tmp_path / "bad.json")]) == 2  # refused, not sealed
    err = capsys.readouterr().err
    assert "NaN is not a number" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "bad.json").read_text() == "[NaN]"


def test_a_meta_learner_model_is_sealed(tmp_path):
    from turing_rcnn.trainable.config import MetaConfig

    model = MetaLearner(
        MetaConfig(learner="last-label", max_m=2, max_d=1, max_steps=1, val_size=4), progress=False
    )
    model.fit(checkpoint=str(tmp_path / "meta.pt"))
    blob = torch.load(tmp_path / "meta.pt", weights_only=True)
    assert blob[integrity.HASH_KEY] == integrity.model_hash(blob)


def test_weights_hash_sees_every_byte():
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    meta = {"steps": 1}
    base = integrity.tensors_hash(meta, state)
    flipped = state["w"].clone()
    flipped.view(torch.int32)[1, 2] ^= 1  # the lowest bit of one float
    assert integrity.tensors_hash(meta, {"w": flipped}) != base
    assert integrity.tensors_hash(meta, {"w": state["w"].reshape(3, 2)}) != base  # shape
    assert integrity.tensors_hash({"steps": 2}, state) != base
    assert integrity.tensors_hash(meta, {"w": state["w"].double()}) != base  # dtype


def test_the_linear_exclusivity_check_agrees_with_the_pairwise_one():
    """cellular._clash (grouped by positions, through entries) finds a clash exactly
    when checking every pair does, on random small guard sets."""
    from turing_rcnn.programs.cellular import _clash, _clash_pairwise

    rng = np.random.default_rng(0)
    symbols, positions = list("abcd"), ["N", "W", "C", "E", "S"]
    found = 0
    for _ in range(2000):
        guards = []
        for _ in range(rng.integers(1, 7)):
            named = rng.choice(positions, rng.integers(1, 4), replace=False)
            when = {p: list(rng.choice(symbols, rng.integers(1, 3), replace=False)) for p in named}
            guards.append(Guard(when, "a"))
        pairwise = _clash_pairwise(guards) is not None
        assert (_clash(guards, "guards") is not None) == pairwise
        found += pairwise
    assert 100 < found < 1900  # both outcomes are exercised

"""Hostile input: every bad request is refused clearly, before any work, and nothing
that exists is changed.

CLI cases run `main(argv)` in-process inside a folder of existing files (outputs that
exist, broken model / rule / checkpoint files): each must return exit code 2 with ONE
line on stderr that names the problem (a fragment we look for), no traceback, and
leave every file in the folder as it was. API cases call the public classes with bad
arguments and check the error type and message."""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import refused

from turing_rcnn import (
    SGDMLP,
    AlgoConfig,
    AlgorithmLearner,
    GaussianElimination,
    ParityTask,
    RCNNConfig,
    RCNNLearner,
    SearchConfig,
    compile_program,
    pretrained,
)
from turing_rcnn.app import jobs
from turing_rcnn.app.cli import main
from turing_rcnn.programs import TuringMachine
from turing_rcnn.search.restarts import _check_problem, _fingerprint
from turing_rcnn.tasks import search_problem
from turing_rcnn.trainable import peer
from turing_rcnn.trainable.extract import Rule

COMMANDS = ["demo", "run-tm", "info", "learn", "animate", "train-algo", "extract", "verify"]
COMMANDS += ["search", "meta-train", "data", "evaluate"]
MINIMAL = {  # the fewest arguments each command needs to get past parsing
    "demo": [],
    "run-tm": ["1RB1LB_1LA1RZ"],
    "info": ["1RB1LB_1LA1RZ"],
    "learn": ["--d", "4", "--m", "6"],
    "animate": ["--out", "{tmp}/new.png"],
    "train-algo": [],
    "extract": ["--load", "prefix-parity", "--out", "{tmp}/new.json"],
    "verify": ["prefix-parity"],
    "search": [],
    "meta-train": ["--load", "last-label"],
    "data": ["maze", "--out", "{tmp}/new"],
    "evaluate": ["maze-hints", "--data", "{tmp}/new"],
}
COMMON = [  # (extra flags, what the message must name), for every command
    (["--threads", "-1"], "--threads must be >= 0"),
    (["--max-memory", "0"], "max-memory must be a positive"),
    (["--max-memory", "-5"], "max-memory must be a positive"),
    (["--max-memory", "nan"], "--max-memory"),
    (["--max-memory", "abc"], "--max-memory"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
]
CASES = [(f"{c} {' '.join(x)}", [c, *MINIMAL[c], *x], msg) for c in COMMANDS for x, msg in COMMON]

MACHINES = [
    ("", "malformed machine"),
    ("1RB", "writes symbol 1, not in 0..0"),
    ("1RB1LB_1LA", "state B has 1 transitions, state A has 2"),
    ("1XB1LB_1LA1RZ", "malformed transition '1XB'"),
    ("1RB1LB_1LA1R?", "malformed transition '1R?'"),
    ("abc_def", "malformed transition 'abc'"),
    ("1RB1LB__1LA1RZ", "malformed machine"),
    ("1RB1LB_1LA1RZ_", "malformed machine"),
]
for command in ("run-tm", "info"):
    CASES += [(f"{command} {m!r}", [command, m], msg) for m, msg in MACHINES]
CASES += [
    (f"run-tm {name}", ["run-tm", "1RB1LB_1LA1RZ", *extra], msg)
    for name, extra, msg in [
        ("tape 2", ["--tape", "2"], "tape symbol '2'"),
        ("tape x", ["--tape", "x"], "tape symbol 'x'"),
        ("tape arabic digit", ["--tape", "\u0661"], "is not a digit"),
        ("steps -1", ["--steps", "-1"], "--steps must be >= 0"),
        ("max-steps -1", ["--max-steps", "-1"], "--max-steps must be >= 0"),
        ("steps 1e12", ["--steps", "1e12"], "invalid int value: '1e12'"),
        ("steps 10^10", ["--steps", str(10**10)], "--steps must be <= 1000000000"),
        ("dtype float16", ["--dtype", "float16"], "invalid choice: 'float16'"),
    ]
]
CASES.append(("run-tm no machine", ["run-tm"], "the following arguments are required: MACHINE"))

LEARN = [
    ("no d", ["--m", "6"], "the following arguments are required: --d"),
    ("d 0", ["--d", "0", "--m", "6"], "--d must be >= 1"),
    ("d -3", ["--d", "-3", "--m", "6"], "--d must be >= 1"),
    ("m 0", ["--d", "4", "--m", "0"], "--m must be >= 1"),
    ("d 2000 m 2010", ["--d", "2000", "--m", "2010"], "needs about"),
    ("d 10^6", ["--d", str(10**6), "--m", "6"], "--d must be <= 100000"),
    ("test 0", ["--d", "4", "--m", "6", "--test", "0"], "--test must be >= 1"),
    ("test 10^9", ["--d", "4", "--m", "6", "--test", str(10**9)], "--test must be <="),
    ("test 1e9", ["--d", "4", "--m", "6", "--test", "1e9"], "invalid int value: '1e9'"),
    ("noise 0.5", ["--d", "4", "--m", "6", "--noise", "0.5"], "--noise must be <= 0.499"),
    ("noise -0.1", ["--d", "4", "--m", "6", "--noise", "-0.1"], "--noise must be >= 0"),
    ("noise nan", ["--d", "4", "--m", "6", "--noise", "nan"], "--noise must be a finite"),
    ("noise inf", ["--d", "4", "--m", "6", "--noise", "inf"], "--noise must be a finite"),
    ("k 0", ["--d", "4", "--m", "6", "--k", "0"], "--k must be >= 1"),
    ("k > d", ["--d", "4", "--m", "6", "--k", "9"], "--k must be <= --d"),
    ("seed -1", ["--d", "4", "--m", "6", "--seed", "-1"], "--seed must be >= 0"),
    ("learner", ["--d", "4", "--m", "6", "--learner", "nope"], "invalid choice: 'nope'"),
    ("dtype", ["--d", "4", "--m", "6", "--dtype", "float16"], "invalid choice: 'float16'"),
    ("evaluation", ["--d", "4", "--m", "6", "--evaluation", "x"], "invalid choice: 'x'"),
    ("check -1", ["--d", "4", "--m", "6", "--check", "-1"], "--check must be >= 0"),
    ("device tpu", ["--d", "4", "--m", "6", "--device", "tpu"], "device must be 'cpu'"),
    ("save-run .txt", ["--d", "4", "--m", "6", "--save-run", "{tmp}/x.txt"], "must end in .npz"),
    ("save-run exists", ["--d", "4", "--m", "6", "--save-run", "{tmp}/old.npz"], "exists"),
    ("save-run no folder", ["--d", "4", "--m", "6", "--save-run", "{tmp}/no/x.npz"], "no such"),
    ("save-run folder", ["--d", "4", "--m", "6", "--save-run", "{tmp}/dir.npz"], "is a folder"),
    ("max-memory tiny", ["--d", "4", "--m", "6", "--max-memory", "0.001"], "needs about"),
]
if not torch.cuda.is_available():
    LEARN.append(("device cuda", ["--d", "4", "--m", "6", "--device", "cuda"], "no CUDA device"))
CASES += [(f"learn {n}", ["learn", *a], msg) for n, a, msg in LEARN]

ANIMATE = [
    ("d 0", ["--d", "0"], "--d must be >= 1"),
    ("d 100000", ["--d", "100000"], "--d must be <= 32"),
    ("m 0", ["--m", "0"], "--m must be >= 1"),
    ("out .txt", ["--out", "{tmp}/x.txt"], "must end in .png or .gif"),
    ("out exists", ["--out", "{tmp}/old.png"], "exists"),
    ("out no folder", ["--out", "{tmp}/no/x.png"], "no such folder"),
    ("k > d", ["--k", "9", "--d", "5", "--out", "{tmp}/n.png"], "--k must be <= --d"),
    ("learner", ["--learner", "nope"], "invalid choice: 'nope'"),
    ("seed -1", ["--seed", "-1"], "--seed must be >= 0"),
]
CASES += [(f"animate {n}", ["animate", *a], msg) for n, a, msg in ANIMATE]

MAZE = ["--task", "maze", "--train-size", "9"]
TRAIN = [
    ("task", ["--task", "sorting"], "invalid choice: 'sorting'"),
    ("train-size 1", ["--train-size", "1"], "--train-size must be >= 2"),
    ("train-size 10^5", ["--train-size", "100000"], "--train-size must be <= 4096"),
    ("test-size 1", ["--test-size", "1"], "--test-size must be >= 2"),
    ("test-count 0", ["--test-count", "0"], "--test-count must be >= 1"),
    ("compare-count -1", ["--compare-count", "-1"], "--compare-count must be >= 0"),
    ("lr 0", ["--lr", "0"], "--lr must be >= 1e-09"),
    ("lr nan", ["--lr", "nan"], "--lr must be a finite"),
    ("lr -1", ["--lr", "-1"], "--lr must be >= 1e-09"),
    ("width 8.5 in a file", ["--load", "{tmp}/float.pt"], "whole number"),
    ("alpha 2", ["--alpha", "2"], "--alpha must be <= 1"),
    ("max-minutes -1", ["--max-minutes", "-1"], "--max-minutes must be >= 0.01"),
    ("max-steps 0", ["--max-steps", "0"], "--max-steps must be >= 1"),
    ("symbols 1", ["--symbols", "1"], "symbols must be 0 (continuous) or >= 2"),
    ("symbols -2", ["--symbols", "-2"], "--symbols must be >= 0"),
    ("width 0", ["--width", "0"], "--width must be >= 1"),
    ("hidden 0", ["--hidden", "0"], "--hidden must be >= 1"),
    ("neighbourhood moore", ["--neighbourhood", "moore"], "moore"),
    ("hints for parity", ["--symbols", "2", "--hints"], "hints exist only for maze"),
    ("hints, continuous", [*MAZE, "--hints"], "hints for maze need symbols >= 2"),
    (
        "hints, cycles, 2 symbols",
        ["--task", "maze-cycles", "--train-size", "9", "--symbols", "2", "--hints"],
        "hints for maze-cycles need symbols >= 17",
    ),
    ("hidden 10^8", ["--hidden", str(10**8)], "--hidden must be <= 4096"),
    ("batch-size 0", ["--batch-size", "0"], "--batch-size must be >= 1"),
    ("val-size 1", ["--val-size", "1"], "--val-size must be >= 5"),
    ("eval-every 0", ["--eval-every", "0"], "--eval-every must be >= 1"),
    ("patience 0", ["--patience", "0"], "--patience must be >= 1"),
    ("seed -1", ["--seed", "-1"], "--seed must be >= 0"),
    ("maze size even", ["--task", "maze", "--train-size", "8"], "maze size must be odd"),
    ("load missing", ["--load", "{tmp}/missing.pt"], "no such file"),
    ("load random bytes", ["--load", "{tmp}/random.pt"], "not a model file"),
    ("load truncated", ["--load", "{tmp}/truncated.pt"], "not a model file"),
    ("load folder", ["--load", "{tmp}/dir.npz"], "is a folder, not a filter"),
    ("load foreign dict", ["--load", "{tmp}/foreign.pt"], "not a model file"),
    ("load a tensor", ["--load", "{tmp}/tensor.pt"], "not a model file"),
    ("load pickle payload", ["--load", "{tmp}/pickle.pt"], "not a model file"),
    ("load width mismatch", ["--load", "{tmp}/width.pt"], "do not fit its config"),
    ("load NaN weights", ["--load", "{tmp}/nan.pt"], "NaN or infinite"),
    ("load unknown config key", ["--load", "{tmp}/badkey.pt"], "unknown keys"),
    ("load bad config value", ["--load", "{tmp}/badvalue.pt"], "config is not valid"),
    ("load empty file", ["--load", "{tmp}/empty.pt"], "not a model file"),
    ("out is a file", ["--out", "{tmp}/old.json"], "is a file"),
    ("out has a model", ["--out", "{tmp}/run"], "exists"),
    ("out no parent", ["--out", "{tmp}/no/run"], "no such folder"),
    ("data for flood fill", ["--task", "flood-fill", "--data", "{tmp}/dir.npz"], "takes neither"),
    ("data without inputs", ["--data", "{tmp}/dir.npz"], "dir.npz/inputs.npy: no such file"),
    ("data missing", [*MAZE, "--test-size", "59", "--data", "{tmp}/nope"], "nope"),
    ("test memory", [*MAZE, "--test-size", "99999", "--test-count", "100"], "needs about"),
]
CASES += [(f"train-algo {n}", ["train-algo", *a], msg) for n, a, msg in TRAIN]

EXTRACT = [
    ("load missing", ["--load", "{tmp}/missing.pt", "--out", "{tmp}/n.json"], "no such file"),
    ("load random", ["--load", "{tmp}/random.pt", "--out", "{tmp}/n.json"], "not a model file"),
    ("out .txt", ["--load", "prefix-parity", "--out", "{tmp}/x.txt"], "must end in .json"),
    ("out exists", ["--load", "prefix-parity", "--out", "{tmp}/old.json"], "exists"),
    ("out no folder", ["--load", "prefix-parity", "--out", "{tmp}/no/x.json"], "no such"),
    ("count 0", ["--load", "prefix-parity", "--out", "{tmp}/n.json", "--count", "0"], "--count"),
    ("no out", ["--load", "prefix-parity"], "the following arguments are required: --out"),
    ("continuous", ["--load", "{tmp}/continuous.pt", "--out", "{tmp}/n.json"], "finite state"),
]
CASES += [(f"extract {n}", ["extract", *a], msg) for n, a, msg in EXTRACT]

VERIFY = [
    ("unknown name", ["nope"], "no such file, and no shipped rule"),
    ("random bytes", ["{tmp}/random.json"], "cannot read a rule"),
    ("a list", ["{tmp}/list.json"], "not a rule file"),
    ("missing keys", ["{tmp}/keys.json"], "not a rule file"),
    ("not utf-8", ["{tmp}/latin.json"], "cannot read a rule"),
    ("a folder", ["{tmp}/dir.npz"], "is a folder, not a rule"),
    ("task mismatch", ["prefix-parity", "--task", "addition"], "the rule solves 'prefix-parity'"),
    ("seed -1", ["prefix-parity", "--seed", "-1"], "--seed must be >= 0"),
    ("bad guard", ["{tmp}/badguard.json"], "not a valid rule"),
    ("renamed symbol", ["{tmp}/renamed.json"], "is not s<state>i<code>"),
    ("first symbol gone", ["{tmp}/nofirst.json"], "first symbols"),
    ("code changed", ["{tmp}/code.json"], "changes a cell's input code"),
]
CASES += [(f"verify {n}", ["verify", *a], msg) for n, a, msg in VERIFY]

META = [
    ("learner", ["--learner", "sorting"], "invalid choice: 'sorting'"),
    ("max-m 0", ["--max-m", "0"], "--max-m must be >= 1"),
    ("max-m 100", ["--max-m", "100"], "--max-m must be <= 64"),
    ("max-d 0", ["--max-d", "0"], "--max-d must be >= 1"),
    ("symbols 1", ["--symbols", "1"], "--symbols must be >= 2"),
    ("max-minutes -1", ["--max-minutes", "-1"], "--max-minutes must be >="),
    ("unknown name", ["--load", "nope"], "no such file, and no shipped learner"),
    ("random bytes", ["--load", "{tmp}/random.json"], "cannot read a learned learner"),
    ("a list", ["--load", "{tmp}/list.json"], "not a learned learner"),
    ("missing keys", ["--load", "{tmp}/keys.json"], "not a learned learner"),
    ("not utf-8", ["--load", "{tmp}/latin.json"], "cannot read a learned learner"),
    ("a rule, not a learner", ["--load", "{tmp}/badguard.json"], "not a learned learner"),
    ("out is a file", ["--load", "last-label", "--out", "{tmp}/old.json"], "is a file"),
    ("out holds a model", ["--out", "{tmp}/run"], "exists"),
    ("symbols 129", ["--symbols", "129"], "--symbols must be <= 128"),
    ("hints for 1-NN", ["--learner", "nearest-neighbour", "--hints"], "hints exist only for"),
    ("hints for gauss, 6 symbols", ["--learner", "gauss", "--hints"], "need symbols >= 79"),
    ("hints, 5 symbols", ["--hints", "--symbols", "5"], "hints for majority need symbols >= 6"),
    (
        "beyond memory",
        ["--max-m", "64", "--max-d", "32", "--max-memory", "8"],
        "more than the 8 GB",
    ),
    (
        "load into a new folder",
        ["--load", "{tmp}/list.json", "--out", "{tmp}/fresh"],
        "not a learned",
    ),
]
CASES += [(f"meta-train {n}", ["meta-train", *a], msg) for n, a, msg in META]

SEARCH = [
    ("task", ["--task", "nope"], "invalid choice: 'nope'"),
    ("d 0", ["--d", "0"], "--d must be >= 1"),
    ("d 100", ["--d", "100"], "--d must be <= 64"),
    ("m 0", ["--m", "0"], "--m must be >= 1"),
    ("val 0", ["--val", "0"], "--val must be >= 1"),
    ("val 10^8", ["--val", str(10**8)], "--val must be <= 1000000"),
    ("val 1e8", ["--val", "1e8"], "invalid int value: '1e8'"),
    ("test 0", ["--test", "0"], "--test must be >= 1"),
    ("restarts 0", ["--restarts", "0"], "--restarts must be >= 1"),
    ("restarts 10^12", ["--restarts", str(10**12)], "--restarts must be <= 100000000"),
    ("batch 0", ["--batch", "0"], "--batch must be >= 1"),
    ("size 0", ["--size", "0"], "--size must be >= 1"),
    ("size 30", ["--size", "30"], "--size must be <= 25"),
    ("time -1", ["--time", "-1"], "--time must be >= 0"),
    ("time 10^9", ["--time", str(10**9)], "--time must be <= 100000"),
    ("hidden 0", ["--init", "paper", "--hidden", "0"], "--hidden must be >= 1"),
    ("hidden 10^8", ["--init", "paper", "--hidden", str(10**8)], "--hidden must be <= 4096"),
    ("init", ["--init", "nope"], "invalid choice: 'nope'"),
    ("backend", ["--backend", "nope"], "invalid choice: 'nope'"),
    ("workers 0", ["--workers", "0"], "--workers must be >= 1"),
    ("ray address", ["--backend", "ray", "--address", "nonsense"], "--address must be host:port"),
    ("ray unreachable", ["--backend", "ray", "--address", "127.0.0.1:1"], "no Ray cluster answers"),
    ("checkpoint no folder", ["--checkpoint", "{tmp}/no/c.jsonl"], "no such folder"),
    ("checkpoint folder", ["--checkpoint", "{tmp}/run"], "is a folder"),
    ("checkpoint header", ["--checkpoint", "{tmp}/header.jsonl"], "line 1: not a search"),
    ("checkpoint binary", ["--checkpoint", "{tmp}/binary.jsonl"], "not a text file"),
    ("checkpoint other search", ["--checkpoint", "{tmp}/other.jsonl"], "different search"),
    ("checkpoint row fields", ["--checkpoint", "{tmp}/fields.jsonl"], "line 2: a row has"),
    ("checkpoint row errors", ["--checkpoint", "{tmp}/errors.jsonl"], "line 2: errors must"),
    ("checkpoint row json", ["--checkpoint", "{tmp}/json.jsonl"], "line 3:"),
    ("checkpoint programs", ["--checkpoint", "{tmp}/programs.jsonl"], "line 2: programs"),
    ("memory", ["--m", "10000", "--batch", "4096", "--d", "64"], "needs about"),
]
CASES += [(f"search {n}", ["search", *a], msg) for n, a, msg in SEARCH]

DEMO = [
    ("rcnn-d 0", ["--rcnn-d", "0"], "--rcnn-d must be >= 2"),
    ("rcnn-d 1000", ["--rcnn-d", "1000"], "--rcnn-d must be <= 256"),
    ("seed -1", ["--seed", "-1"], "--seed must be >= 0"),
    ("seed abc", ["--seed", "abc"], "invalid int value: 'abc'"),
]
CASES += [(f"demo {n}", ["demo", *a], msg) for n, a, msg in DEMO]

PEER = [  # the peer's folders: written by data, read by evaluate (more: test_evaluate.py)
    ("data even size", ["data", "maze", "--size", "10", "--out", "{tmp}/new"], "odd"),
    ("data out is a file", ["data", "maze", "--out", "{tmp}/old.json"], "is a file"),
    ("data out not empty", ["data", "maze", "--out", "{tmp}/run"], "not empty"),
    ("data kind", ["data", "mazes", "--out", "{tmp}/new"], "invalid choice: 'mazes'"),
    (
        "data cycles with sums",
        ["data", "prefix-sums", "--cycles", "0.1", "--out", "{tmp}/new"],
        "applies to maze, not prefix-sums",
    ),
    ("evaluate no data", ["evaluate", "maze-hints", "--data", "{tmp}/nope"], "no such folder"),
    (
        "evaluate data a file",
        ["evaluate", "maze-hints", "--data", "{tmp}/old.json"],
        "not a folder",
    ),
    ("evaluate a guess", ["evaluate", "{tmp}/old.npz", "--data", "{tmp}/run"], "give --kind"),
    ("evaluate a bad model", ["evaluate", "{tmp}/random.pt", "--data", "{tmp}/m9"], "not a model"),
    (
        "evaluate predictions a file",
        ["evaluate", "maze-hints", "--data", "{tmp}/run", "--predictions", "{tmp}/old.json"],
        "give a new or empty folder",
    ),
    (
        "evaluate iterations 0",
        ["evaluate", "maze-hints", "--data", "{tmp}/run", "--iterations", "0"],
        "--iterations must be >= 1",
    ),
]
CASES += PEER


def _search_header(**config) -> dict:
    cfg = SearchConfig(**config)
    problem = _check_problem(search_problem("last-bit", 3, 5, 8, 1000, cfg.seed)[:4])
    return {"fingerprint": _fingerprint(cfg, [problem]), "config": {}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Existing outputs and broken inputs of every kind."""
    tmp = tmp_path_factory.mktemp("hostile")
    for name in ("old.npz", "old.png", "old.json"):
        (tmp / name).write_bytes(b"precious")
    (tmp / "dir.npz").mkdir()
    peer.write_mazes(str(tmp / "m9"), 9, 3, seed=0)  # a good folder, for bad models
    (tmp / "run").mkdir()
    (tmp / "run" / "model.pt").write_bytes(b"precious")
    (tmp / "random.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp / "empty.pt").write_bytes(b"")
    good = Path(pretrained.resolve("prefix-parity", "filter"))
    (tmp / "truncated.pt").write_bytes(good.read_bytes()[:1000])
    torch.save({"weights": torch.zeros(3)}, tmp / "foreign.pt")
    torch.save(torch.zeros(3), tmp / "tensor.pt")

    class Payload:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp / "PWNED"),))

    (tmp / "pickle.pt").write_bytes(pickle.dumps(Payload()))
    blob = torch.load(good, weights_only=True)
    variants = {
        "width.pt": blob | {"config": blob["config"] | {"hidden": 7}},
        "nan.pt": blob | {"state_dict": {k: v * np.nan for k, v in blob["state_dict"].items()}},
        "badkey.pt": blob | {"config": blob["config"] | {"evil": 1}},
        "badvalue.pt": blob | {"config": blob["config"] | {"lr": -1.0}},
        "float.pt": blob | {"config": blob["config"] | {"width": 8.5}},
    }
    for name, b in variants.items():
        torch.save(b, tmp / name)
    continuous = AlgorithmLearner(AlgoConfig(train_size=8, max_steps=1), progress=False).fit()
    continuous.save(str(tmp / "continuous.pt"))
    (tmp / "random.json").write_bytes(b"{not json")
    (tmp / "list.json").write_text("[]")
    (tmp / "keys.json").write_text('{"task": "prefix-parity"}')
    (tmp / "latin.json").write_bytes('{"task": "caf\u00e9"}'.encode("latin-1"))
    rule = json.loads(Path(pretrained.resolve("prefix-parity", "rule")).read_text())
    bad = json.loads(json.dumps(rule))
    bad["guards"][0]["then"] = "no-such-symbol"
    (tmp / "badguard.json").write_text(json.dumps(bad))
    text = json.dumps(rule)
    (tmp / "renamed.json").write_text(text.replace('"s1i1"', '"zz"'))
    nofirst = json.loads(text)
    nofirst["symbols"].remove("s0i1")
    (tmp / "nofirst.json").write_text(json.dumps(nofirst))
    code = json.loads(text)
    code["guards"][0]["then"] = code["guards"][0]["then"].split("i")[0] + "i9"
    (tmp / "code.json").write_text(json.dumps(code))
    header = json.dumps(_search_header()) + "\n"
    row = {"chunk": 0, "indices": list(range(32)), "errors": [[0.5]] * 32, "programs": [""] * 32}
    lines = {
        "header.jsonl": "not json\n",
        "other.jsonl": json.dumps({"fingerprint": "0" * 16}) + "\n",
        "fields.jsonl": header + json.dumps({"chunk": 0, "evil": 1}) + "\n",
        "errors.jsonl": header + json.dumps(row | {"errors": [[2.0]] * 32}) + "\n",
        "json.jsonl": header + json.dumps(row) + "\n{cut\n",
        "programs.jsonl": header + json.dumps(row | {"programs": ["EVIL"]}) + "\n",
    }
    for name, text in lines.items():
        (tmp / name).write_text(text)
    (tmp / "binary.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    return tmp


def test_enough_hostile_cases_and_the_readme_counts_them():
    assert len(CASES) + len(API) >= 150
    assert {argv[0] for _, argv, _ in CASES} == set(COMMANDS)
    root = Path(__file__).parents[1]
    text = " ".join((root / "docs" / "reference" / "bad-input.md").read_text().split())
    said = re.search(r"holds (\d+) hostile cases \((\d+) on the command line .*?, (\d+) on", text)
    assert said and tuple(map(int, said.groups())) == (len(CASES) + len(API), len(CASES), len(API))
    import subprocess
    import sys

    round2 = {"outputs": 0, "files": 0, "peer": 0}
    for name in round2:  # the collected tests of each round-2 file, as pytest counts them
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
             "-m", "slow or not slow", str(root / "tests" / f"test_bad_input_{name}.py")],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        round2[name] = int(re.search(rf"test_bad_input_{name}\.py: (\d+)", out).group(1))
        assert f"`test_bad_input_{name}.py` ({round2[name]}:" in text, name
    total = len(CASES) + len(API) + sum(round2.values())
    assert f"Round 2 adds {sum(round2.values())} tests" in text
    assert f"; {total} hostile cases in all" in text
    readme = " ".join((root / "README.md").read_text().split())
    assert f"| {total} hostile cases |" in readme


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the refused pickle file
@pytest.mark.parametrize("name, argv, fragment", CASES, ids=[c[0] for c in CASES])
def test_cli_refuses_cleanly(name, argv, fragment, folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)  # a default output path would land here and be caught
    refused(argv, fragment, folder, capsys)


def _data(d=4, m=6):
    data = ParityTask(d).make(m, n_test=3, seed=0)
    return data.X_train, data.y_train


X, Y = _data()
API = [
    ("X not +-1", lambda: RCNNLearner().fit(X * 2, Y), ValueError, "only -1 and +1"),
    ("X 1-D", lambda: RCNNLearner().fit(X[0], Y), ValueError, "2D array"),
    ("X empty", lambda: RCNNLearner().fit(X[:0], Y[:0]), ValueError, "0 sample"),
    ("X NaN", lambda: RCNNLearner().fit(X * np.nan, Y), ValueError, "NaN"),
    ("y length", lambda: RCNNLearner().fit(X, Y[:-1]), ValueError, "inconsistent"),
    ("y 3 classes", lambda: RCNNLearner().fit(X, np.arange(len(Y)) % 3), ValueError, "binary"),
    ("batch -1", lambda: RCNNLearner(batch_size=-1).fit(X, Y), ValueError, "batch_size"),
    ("batch 2.5", lambda: RCNNLearner(batch_size=2.5).fit(X, Y), ValueError, "batch_size"),
    ("dtype", lambda: RCNNLearner(dtype="float16").fit(X, Y), ValueError, "dtype must be"),
    ("evaluation", lambda: RCNNLearner(evaluation="x").fit(X, Y), ValueError, "evaluation"),
    ("device", lambda: RCNNLearner(device="tpu").fit(X, Y), ValueError, "device must be"),
    ("built for d", lambda: RCNNLearner(d=5).fit(X, Y), ValueError, "built for d = 5"),
    ("built for m", lambda: RCNNLearner(m=9).fit(X, Y), ValueError, "built for m = 9"),
    ("learner", lambda: RCNNLearner("nope").fit(X, Y), ValueError, "nope"),
    ("too big", lambda: RCNNLearner("gauss").fit(*_data(2000, 2010)), ValueError, "needs about"),
    ("predict d", lambda: RCNNLearner().fit(X, Y).predict(X[:, :3]), ValueError, "features"),
    ("predict not +-1", lambda: RCNNLearner().fit(X, Y).predict(X * 0), ValueError, "-1 and +1"),
    ("GE X", lambda: GaussianElimination().fit(X * 3, Y), ValueError, "only -1 and +1"),
    (
        "GE predict d",
        lambda: GaussianElimination().fit(X, Y).predict(X[:, :2]),
        ValueError,
        "features",
    ),
    ("MLP X", lambda: SGDMLP().fit(X * 3, Y), ValueError, "only -1 and +1"),
    ("AlgoConfig size", lambda: AlgoConfig(train_size=1), ValueError, "train_size"),
    ("AlgoConfig lr nan", lambda: AlgoConfig(lr=float("nan")), ValueError, "finite"),
    (
        "AlgoConfig task",
        lambda: AlgoConfig(task="nope"),
        ValueError,
        "AlgoConfig.task must be one of",
    ),
    (
        "AlgoConfig neighbourhood",
        lambda: AlgoConfig(neighbourhood="moore"),
        ValueError,
        "AlgoConfig.neighbourhood must be one of",
    ),
    ("SearchConfig", lambda: SearchConfig(restarts=0), ValueError, "restarts"),
    ("SearchConfig init", lambda: SearchConfig(init="nope"), ValueError, "init"),
    ("RCNNConfig", lambda: RCNNConfig(d=0, m=1), ValueError, "RCNNConfig.d"),
    ("TM parse", lambda: TuringMachine.parse("1RB_"), ValueError, "malformed"),
    ("TM tape", lambda: TuringMachine.parse("1RB1LB_1LA1RZ").run("\u0661"), ValueError, "digit"),
    (
        "readout range",
        lambda: compile_program(TuringMachine.parse("1RB1LB_1LA1RZ").to_cellular()).check_readout(
            2**25
        ),
        ValueError,
        "significand bits",
    ),
    ("ParityTask noise", lambda: ParityTask(4, noise=0.6), ValueError, "noise"),
    ("ParityTask k", lambda: ParityTask(4, k=9), ValueError, "k"),
    ("load missing", lambda: AlgorithmLearner.load("/no/such.pt"), ValueError, "no such"),
    ("rule missing", lambda: Rule.load("/no/such.json"), ValueError, "cannot read"),
    ("shipped name", lambda: pretrained.resolve("nope", "rule"), ValueError, "no shipped"),
    ("memory limit", lambda: jobs.guard.limit(-1).__enter__(), ValueError, "max-memory"),
]


@pytest.mark.parametrize("name, call, error, fragment", API, ids=[a[0] for a in API])
def test_api_refuses_cleanly(name, call, error, fragment):
    with pytest.raises(error, match=None) as info:
        call()
    assert fragment in str(info.value), str(info.value)


def test_checkpoint_torn_line_is_dropped_and_rows_are_checked(tmp_path):
    """A torn last line is cut off (the next row starts on its own line); a row of a
    different chunk split (another --restarts) is recomputed, never trusted."""
    header = json.dumps(_search_header(restarts=8, batch=4)) + "\n"
    foreign = {"chunk": 0, "indices": [0], "errors": [[0.0]], "programs": ["EVIL"]}
    path = tmp_path / "c.jsonl"
    path.write_text(header + json.dumps(foreign) + '\n{"chunk": 1, "ind')
    argv = ["search", "--restarts", "8", "--batch", "4", "--checkpoint", str(path), "--json"]
    assert main([*argv, "--no-progress"]) == 0
    rows = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert [r["chunk"] for r in rows] == [0, 0, 1]  # the foreign row stays, unused
    assert all(r["programs"] != ["EVIL"] for r in rows[1:])
    more = ["search", "--restarts", "12", "--batch", "4", "--checkpoint", str(path), "--json"]
    assert main([*more, "--no-progress"]) == 0  # more restarts extend the same checkpoint
    assert [json.loads(x)["chunk"] for x in path.read_text().splitlines()[1:]] == [0, 0, 1, 2]


def test_light_names_match_the_heavy_definitions():
    from turing_rcnn.algorithm1 import DTYPES
    from turing_rcnn.model import EVALUATIONS
    from turing_rcnn.trainable.config import TASK_NAMES
    from turing_rcnn.trainable.tasks import ALGO_TASKS

    assert jobs.DTYPE_NAMES == tuple(DTYPES)
    assert set(jobs.EVALUATION_NAMES) == set(EVALUATIONS)
    assert set(TASK_NAMES) == set(ALGO_TASKS)


def test_outputs_are_written_whole_and_only_with_force(tmp_path, capsys):
    path = tmp_path / "run.npz"
    argv = ["learn", "--d", "4", "--m", "6", "--test", "5", "--save-run", str(path)]
    assert main([*argv, "--no-progress"]) == 0
    first = path.read_bytes()
    assert main([*argv, "--no-progress"]) == 2 and path.read_bytes() == first
    assert main([*argv, "--seed", "1", "--force", "--no-progress"]) == 0
    assert path.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]  # no temp files left


def test_broken_pipe_is_quiet():
    """`turing-rcnn ... | true`: the reader is gone before the report is written."""
    import subprocess
    import sys

    cmd = f"set -o pipefail; {sys.executable} -m turing_rcnn.app.cli info 1RB1LB_1LA1RZ | true"
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr


def test_run_layers_and_settle_refuse_bad_grids():
    from turing_rcnn.model import run_layers
    from turing_rcnn.programs import TuringMachine

    compiled = compile_program(TuringMachine.parse("1RB1LB_1LA1RZ").to_cellular())
    grid = compiled.encode(np.zeros((1, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="layers must be >= 0"):
        run_layers(compiled.network(layers=1), grid, -5)
    with pytest.raises(ValueError, match=r"\(batch, candidates = 1, rows, cols\) grid"):
        run_layers(compiled.network(layers=1), grid[0], 3)  # (1, 1, 4): not 4-D
    with pytest.raises(ValueError, match=r"\(batch, rows, cols\) grids"):
        compiled.settle(np.zeros((1, 4), dtype=np.int64), 3)
    empty, moved = compiled.settle(np.zeros((0, 2, 4), dtype=np.int64), 3)
    assert empty.shape == (0, 2, 4) and moved == 0


@pytest.mark.parametrize("error", [MemoryError, RecursionError, OverflowError])
def test_a_limit_we_missed_still_ends_in_one_line(error, capsys, monkeypatch):
    """No MemoryError, RecursionError or OverflowError reaches the user as a traceback,
    even from a job whose sizes escaped every check."""

    def job(config, progress=True):
        raise error("deep inside")

    command = main.__globals__["COMMANDS"]["info"]
    monkeypatch.setitem(main.__globals__["COMMANDS"], "info", command.__class__(
        command.config, job, command.help))  # fmt: skip
    assert main(["info", "1RB1LB_1LA1RZ", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert error.__name__ in err and "use smaller sizes" in err

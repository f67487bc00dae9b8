"""Hostile outputs and printing: special files (FIFOs, sockets, links to them, folders,
device-like paths) named as outputs, empty and ending-only paths, two runs racing for
one new output, SIGTERM mid-write, terminal escapes in names read from files, a
closed or full stdout, a C locale, and the --max-memory, --address and negative-number
refusals.

CLI cases run `main(argv)` in-process inside a folder of special files, as in
test_bad_input.py: exit code 2, ONE line on stderr naming the problem, no traceback,
no raw control character, every entry of the folder as it was (a FIFO still a FIFO:
nothing renamed onto it), within 10 s. Nothing here touches /dev: FIFOs and sockets
are made in pytest's tmp_path, and the character device is a stat result faked for
one path."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import refused, snapshot

from turing_rcnn import guard, pretrained
from turing_rcnn.app import cli, viz
from turing_rcnn.app.cli import main
from turing_rcnn.trainable.extract import Rule

EVIL = "\x1b]0;evil\x07\x1b[2J\x9b31m\u202e\x7f"  # retitle, clear, C1 CSI, bidi, DEL
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\x7f", "\x85", "\u2028", "\r")
KINDS = {  # a special file in the folder -> what the message calls it
    "fifo": "is a FIFO",
    "sock": "is a socket",
    "lfifo": "is a symbolic link to a FIFO",
    "lsock": "is a symbolic link to a socket",
    "ldir": "is a symbolic link to a folder",
    "broken": "is a broken symbolic link",
    "dir": "is a folder",
}
ENDINGS = (".npz", ".png", ".json", ".jsonl")
WRITERS = {  # a writer -> (its argv up to the output path, the ending that path needs)
    "learn --save-run": (["learn", "--d", "4", "--m", "6", "--save-run"], ".npz"),
    "animate --out": (["animate", "--out"], ".png"),
    "extract --out": (["extract", "--load", "prefix-parity", "--out"], ".json"),
    "search --checkpoint": (["search", "--checkpoint"], ".jsonl"),
}

CASES = []
for writer, (argv, ending) in WRITERS.items():
    for kind, said in KINDS.items():
        CASES.append((f"{writer} {kind}", [*argv, f"{{tmp}}/{kind}{ending}"], said))
CASES += [  # --force never replaces a special file
    (
        "learn --save-run fifo --force",
        ["learn", "--d", "4", "--m", "6", "--force", "--save-run", "{tmp}/fifo.npz"],
        "is a FIFO",
    ),
    (
        "animate --out sock --force",
        ["animate", "--force", "--out", "{tmp}/sock.png"],
        "is a socket",
    ),
    (
        "extract --out lfifo --force",
        ["extract", "--load", "prefix-parity", "--force", "--out", "{tmp}/lfifo.json"],
        "is a symbolic link to a FIFO",
    ),
    ("animate --out dir --force", ["animate", "--force", "--out", "{tmp}/dir.png"], "is a folder"),
]
FOLDER_WRITERS = [  # outputs that are folders, and files inside them
    ("train-algo --out fifo", ["train-algo", "--out", "{tmp}/fifo.png"], "is a FIFO"),
    ("train-algo --out sock", ["train-algo", "--out", "{tmp}/sock.png"], "is a socket"),
    (
        "train-algo --out broken link",
        ["train-algo", "--out", "{tmp}/broken.png"],
        "is a broken symbolic link",
    ),
    (
        "train-algo --out holds a FIFO model.pt",
        ["train-algo", "--force", "--out", "{tmp}/specials"],
        "model.pt is a FIFO",
    ),
    ("meta-train --out fifo", ["meta-train", "--out", "{tmp}/fifo.json"], "is a FIFO"),
    (
        "meta-train --out holds a socket learner.json",
        ["meta-train", "--force", "--out", "{tmp}/learners"],
        "learner.json is a socket",
    ),
    (
        "meta-train --load, --out holds a FIFO report",
        ["meta-train", "--load", "last-label", "--force", "--out", "{tmp}/reports"],
        "report.json is a FIFO",
    ),
    ("sweep --out fifo", ["sweep", "--out", "{tmp}/fifo.png"], "is a FIFO, not a folder"),
    ("sweep --out sock", ["sweep", "--out", "{tmp}/sock.png"], "is a socket, not a folder"),
    ("sweep --out a file", ["sweep", "--out", "{tmp}/old.json"], "is a file, not a folder"),
    (
        "sweep --out holds a FIFO checkpoint",
        ["sweep", "--out", "{tmp}/sweeps"],
        "sweep.jsonl is a FIFO",
    ),
    (
        "sweep --out holds a socket table",
        ["sweep", "--out", "{tmp}/sweeps2"],
        "table.json is a socket",
    ),
    (
        "sweep --out holds a link to a FIFO",
        ["sweep", "--out", "{tmp}/sweeps3"],
        "sweep.png is a symbolic link to a FIFO",
    ),
]
CASES += FOLDER_WRITERS
CASES += [  # empty strings: never taken for 'no output'
    (
        "learn --save-run ''",
        ["learn", "--d", "4", "--m", "6", "--save-run", ""],
        "--save-run is empty",
    ),
    ("animate --out ''", ["animate", "--out", ""], "--out is empty"),
    ("extract --out ''", ["extract", "--load", "prefix-parity", "--out", ""], "--out is empty"),
    ("train-algo --out ''", ["train-algo", "--out", ""], "--out is empty"),
    ("train-algo --data ''", ["train-algo", "--data", ""], "--data is empty"),
    ("train-algo --load ''", ["train-algo", "--load", ""], "--load is empty"),
    ("meta-train --out ''", ["meta-train", "--out", ""], "--out is empty"),
    ("meta-train --load ''", ["meta-train", "--load", ""], "--load is empty"),
    ("search --checkpoint ''", ["search", "--checkpoint", ""], "--checkpoint is empty"),
    (
        "search --address '' with ray",
        ["search", "--backend", "ray", "--address", ""],
        "--address is empty",
    ),
    ("sweep --out ''", ["sweep", "--out", ""], "--out is empty"),
    ("run-tm --dtype ''", ["run-tm", "1RB1LB_1LA1RZ", "--dtype", ""], "invalid choice: ''"),
]
CASES += [  # a name that is only an ending; a path through a file
    ("animate --out .png", ["animate", "--out", ".png"], "'.png' is only an ending"),
    ("animate --out DIR/.gif", ["animate", "--out", "{tmp}/.gif"], "is only an ending"),
    (
        "extract --out .json",
        ["extract", "--load", "prefix-parity", "--out", ".json"],
        "'.json' is only an ending",
    ),
    (
        "learn --save-run .npz",
        ["learn", "--d", "4", "--m", "6", "--save-run", "{tmp}/.npz"],
        "is only an ending",
    ),
    (
        "animate --out through a file",
        ["animate", "--out", "{tmp}/old.json/x.png"],
        "old.json is a file, not a folder",
    ),
    (
        "train-algo --out inside a file",
        ["train-algo", "--out", "{tmp}/old.json/run"],
        "old.json is a file, not a folder",
    ),
    (
        "meta-train --out inside a FIFO",
        ["meta-train", "--out", "{tmp}/fifo.json/run"],
        "fifo.json is a FIFO, not a folder",
    ),
    (
        "extract --out name too long",
        ["extract", "--load", "prefix-parity", "--out", "{tmp}/" + "x" * 300 + ".json"],
        "File name too long",
    ),
]
TOO_MUCH = "max-memory must be at most 1.15e+09 GB (2^60 bytes"
CASES += [  # --max-memory no machine has: refused, never 'no limit'
    (
        "learn --max-memory 1e308",
        ["learn", "--d", "4", "--m", "6", "--max-memory", "1e308"],
        TOO_MUCH,
    ),
    ("search --max-memory inf", ["search", "--max-memory", "inf"], TOO_MUCH),
    ("demo --max-memory Infinity", ["demo", "--max-memory", "Infinity"], TOO_MUCH),
    ("verify --max-memory 1e10", ["verify", "prefix-parity", "--max-memory", "1e10"], TOO_MUCH),
    ("info --max-memory 1.16e9", ["info", "1RB1LB_1LA1RZ", "--max-memory", "1.16e9"], TOO_MUCH),
    ("run-tm --max-memory 1e19", ["run-tm", "1RB1LB_1LA1RZ", "--max-memory", "1e19"], TOO_MUCH),
    (
        "learn --max-memory 0x10",
        ["learn", "--d", "4", "--m", "6", "--max-memory", "0x10"],
        "not a number of GB: '0x10'",
    ),
]
CASES += [  # --address joins Ray: refused without --backend ray, for search as for sweep
    (
        "search --address, in process",
        ["search", "--address", "127.0.0.1:6379"],
        "--address joins a Ray cluster: give it with --backend ray",
    ),
    (
        "search --address, process pool",
        ["search", "--backend", "process", "--address", "127.0.0.1:1"],
        "--address joins a Ray cluster",
    ),
    (
        "sweep --address, in process",
        ["sweep", "--address", "127.0.0.1:6379"],
        "--address joins a Ray cluster",
    ),
]
NEGATIVE = [  # argparse takes these for flags: say how to give a negative number
    ("learn --seed -1e5", ["learn", "--d", "4", "--m", "6", "--seed", "-1e5"], "--seed=-1e5"),
    ("learn --noise -1e-3", ["learn", "--d", "4", "--m", "6", "--noise", "-1e-3"], "--noise=-1e-3"),
    ("train-algo --lr -1e-3", ["train-algo", "--lr", "-1e-3"], "--lr=-1e-3"),
    ("search --test -1e3", ["search", "--test", "-1e3"], "--test=-1e3"),
    ("animate --d -5e0", ["animate", "--d", "-5e0"], "--d=-5e0"),
    ("run-tm --steps -1e9", ["run-tm", "1RB1LB_1LA1RZ", "--steps", "-1e9"], "--steps=-1e9"),
    ("demo --seed -.5e1", ["demo", "--seed", "-.5e1"], "--seed=-.5e1"),
    (
        "learn --max-memory -inf",
        ["learn", "--d", "4", "--m", "6", "--max-memory", "-inf"],
        "--max-memory=-inf",
    ),
    ("sweep --settings -1e0", ["sweep", "--settings", "-1e0"], "--settings=-1e0"),
]
CASES += [
    (n, a, f"expected one argument (a negative number: use the {f} form")
    for n, a, f in NEGATIVE[:-1]
]
CASES.append((NEGATIVE[-1][0], NEGATIVE[-1][1], "use the --settings=-1e0 form"))
CASES += [  # the form the hint gives: the option's own range message
    ("learn --seed=-5", ["learn", "--d", "4", "--m", "6", "--seed=-5"], "--seed must be >= 0"),
    ("search --test=-1000", ["search", "--test=-1000"], "--test must be >= 1"),
]
CASES += [  # control characters in what is printed: escaped, never sent raw
    (
        "verify, a rule symbol named with escapes",
        ["verify", "{tmp}/evilsym.json"],
        "symbol '\\x1b]0;evil\\x07",
    ),
    (
        "learn --save-run with escapes, no folder",
        ["learn", "--d", "4", "--m", "6", "--save-run", "{tmp}/" + EVIL + "/x.npz"],
        "no such folder",
    ),
    (
        "line separators in a path: escaped, the message whole",
        ["learn", "--d", "4", "--m", "6", "--save-run", "{tmp}/a\x85b\u2028c\rd/x.npz"],
        "a\\x85b\\u2028c\\rd/x.npz: no such folder",
    ),
    (
        "unknown argument with escapes",
        ["learn", "--d", "4", "--m", "6", EVIL],
        "unrecognized arguments: \\x1b]0;evil\\x07",
    ),
    (
        "search --checkpoint FIFO named with escapes",
        ["search", "--checkpoint", "{tmp}/" + EVIL + ".jsonl"],
        "\\x1b[2J\\x9b31m\\u202e\\x7f.jsonl is a FIFO",
    ),
    (
        "animate --out socket named with escapes",
        ["animate", "--out", "{tmp}/" + EVIL + ".png"],
        "\\x1b]0;evil\\x07\\x1b[2J\\x9b31m\\u202e\\x7f.png is a socket",
    ),
]


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    here = os.getcwd()
    os.chdir(path.parent)  # AF_UNIX paths are short: bind the bare name
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path.name)
        sock.close()  # the socket file stays
    finally:
        os.chdir(here)


def _specials(folder: Path, ending: str) -> None:
    _fifo(folder / f"fifo{ending}")
    _socket(folder / f"sock{ending}")
    (folder / f"dir{ending}").mkdir()
    for link, target in (("lfifo", "fifo"), ("lsock", "sock"), ("ldir", "dir")):
        (folder / f"{link}{ending}").symlink_to(f"{target}{ending}")
    (folder / f"broken{ending}").symlink_to(f"nowhere{ending}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Special files of every kind under every output name the commands take."""
    tmp = tmp_path_factory.mktemp("outputs")
    for ending in ENDINGS:
        _specials(tmp, ending)
    (tmp / "old.json").write_bytes(b"precious")
    (tmp / "specials").mkdir()
    _fifo(tmp / "specials" / "model.pt")
    (tmp / "learners").mkdir()
    _socket(tmp / "learners" / "learner.json")
    (tmp / "reports").mkdir()
    _fifo(tmp / "reports" / "report.json")
    for name, make, file in (("sweeps", _fifo, "sweep.jsonl"), ("sweeps2", _socket, "table.json")):
        (tmp / name).mkdir()
        make(tmp / name / file)
    (tmp / "sweeps3").mkdir()
    _fifo(tmp / "sweeps3" / "fifo")
    (tmp / "sweeps3" / "sweep.png").symlink_to("fifo")
    _fifo(tmp / (EVIL + ".jsonl"))
    _socket(tmp / (EVIL + ".png"))
    rule = json.loads(Path(pretrained.resolve("prefix-parity", "rule")).read_text())
    rule["symbols"][1] = "\x1b]0;evil\x07"
    (tmp / "evilsym.json").write_text(json.dumps(rule))
    return tmp


def test_enough_cases():
    assert len(CASES) >= 55
    assert len({name for name, _, _ in CASES}) == len(CASES)
    assert len({tuple(argv) for _, argv, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("name, argv, fragment", CASES, ids=[c[0] for c in CASES])
def test_cli_refuses_outputs_cleanly(name, argv, fragment, folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    refused(argv, fragment, folder, capsys, raw=RAW)


DEVICE = "is a character device, not a regular file"
LINK_TO_DEVICE = "is a symbolic link to a character device"
DEVICE_LIKE = [
    ("animate --out", ["animate", "--out", "{tmp}/tty.png"], DEVICE),
    (
        "learn --save-run --force",
        ["learn", "--d", "4", "--m", "6", "--force", "--save-run", "{tmp}/tty.png.npz"],
        DEVICE,
    ),
    (
        "extract --out --force",
        ["extract", "--load", "prefix-parity", "--force", "--out", "{tmp}/tty.json"],
        DEVICE,
    ),
    ("search --checkpoint", ["search", "--checkpoint", "{tmp}/tty.jsonl"], DEVICE),
    ("animate --out, a link to it", ["animate", "--out", "{tmp}/ltty.png"], LINK_TO_DEVICE),
    (
        "search --checkpoint, a link to it",
        ["search", "--checkpoint", "{tmp}/ltty.jsonl"],
        LINK_TO_DEVICE,
    ),
]


@pytest.mark.parametrize("name, argv, said", DEVICE_LIKE, ids=[c[0] for c in DEVICE_LIKE])
def test_a_character_device_is_refused(name, argv, said, folder, capsys, monkeypatch):
    """A path whose stat says character device (faked for tty.* and the links ltty.*
    to them: tests never touch /dev) is named as one and never replaced, even with
    --force."""
    real_lstat, real_stat = os.lstat, os.stat
    device = os.stat_result((stat.S_IFCHR | 0o666, 0, 0, 1, 0, 0, 0, 0, 0, 0))
    link = os.stat_result((stat.S_IFLNK | 0o777, 0, 0, 1, 0, 0, 7, 0, 0, 0))

    def lstat(path, *args, **kwargs):
        name = os.path.basename(os.fspath(path))
        if name.startswith(("tty.", "ltty.")):
            return device if name.startswith("tty.") else link
        return real_lstat(path, *args, **kwargs)

    def stat_(path, *args, **kwargs):
        name = os.path.basename(os.fspath(path))
        return device if name.startswith(("tty.", "ltty.")) else real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    monkeypatch.setattr(os, "stat", stat_)
    monkeypatch.chdir(folder)
    refused(argv, said, folder, capsys, raw=RAW)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_atomic_write_never_lands_on_a_special_file(kind, folder):
    """The API: even told to replace, a write onto a special file is refused and leaves
    both the special file and no temporary file behind."""
    path = folder / f"{kind}.json"
    before = snapshot(folder)
    with pytest.raises(ValueError, match=KINDS[kind].removeprefix("is ")):
        guard.write_text(str(path), "{}\n", replace=True)
    assert snapshot(folder) == before


def test_what_is_names_every_kind(folder):
    assert guard.what_is(str(folder / "old.json")) is None
    assert guard.what_is(str(folder / "missing.json")) is None
    for kind, said in KINDS.items():
        assert guard.what_is(str(folder / f"{kind}.png")) == said.removeprefix("is ")


def _save_then_wait(content: bytes, barrier: threading.Barrier):
    """A stand-in for viz.save_strip: writes `content` (whole) to the temporary path,
    then waits at `barrier` until both writers are past every check."""

    def save(model, x, path):
        Path(path).write_bytes(content)
        barrier.wait(timeout=60)

    return save


def test_two_writers_of_one_new_output_one_wins(tmp_path, monkeypatch, capsys):
    """Two runs pass the 'exists' check together; at the moment of writing exactly one
    publishes its file, the other exits 2 with one line and leaves the winner's file
    whole; no temporary file stays."""
    barrier = threading.Barrier(2)
    contents = {name: name.encode() * 200_000 for name in ("first", "second")}
    saves = {name: _save_then_wait(c, barrier) for name, c in contents.items()}

    def save_strip(model, x, path):  # each writer (a thread) its own content
        saves[threading.current_thread().name](model, x, path)

    monkeypatch.setattr(viz, "save_strip", save_strip)
    out = tmp_path / "race.png"
    codes = {}

    def run(name):
        argv = ["animate", "--d", "2", "--m", "2", "--out", str(out), "--no-progress"]
        codes[name] = main(argv)

    threads = [threading.Thread(target=run, args=(n,), name=n) for n in contents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    _, err = capsys.readouterr()
    assert sorted(codes.values()) == [0, 2], (codes, err)
    assert err.count("written meanwhile by another run") == 1, err
    assert "Traceback" not in err
    winner = next(n for n, c in codes.items() if c == 0)
    assert out.read_bytes() == contents[winner]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.png"]


def test_a_new_file_is_published_exclusively(tmp_path):
    """guard.outputs: without force a file that appeared meanwhile is never replaced
    (the message offers --force only to commands that take it); a file the job wrote
    itself (a checkpoint saved again) is; with force any regular file is; outside a job
    (the API) an existing file is replaced as before."""
    path = str(tmp_path / "x.json")
    with guard.outputs(force=False):
        guard.write_text(path, "mine\n")
        guard.write_text(path, "mine again\n")  # its own file
    assert Path(path).read_text() == "mine again\n"
    with guard.outputs(force=False), pytest.raises(ValueError, match="or pass --force"):
        guard.write_text(path, "theirs\n")
    with guard.outputs(force=None), pytest.raises(ValueError, match=r"another path \(nothing"):
        guard.write_text(path, "a command without --force\n")
    assert Path(path).read_text() == "mine again\n"
    with guard.outputs(force=True):
        guard.write_text(path, "forced\n")
    guard.write_text(path, "api\n")
    assert Path(path).read_text() == "api\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


SCRIPT = """
import signal, sys
# As in a foreground run: a child of a background job (nohup, &) starts with SIGINT
# ignored, and Python then keeps it ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
from turing_rcnn.app import cli, viz
viz.save_strip = SAVE
sys.exit(cli.main(["animate", "--d", "2", "--m", "2", "--out", sys.argv[1], "--no-progress"]))
"""


@pytest.mark.slow  # in .ci/run (make test stays under 5 min)
@pytest.mark.parametrize(
    "sig, code, said", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_mid_write_leaves_no_temporary_file(sig, code, said, tmp_path):
    """Killed (SIGTERM) or interrupted (SIGINT) while the output is being written: one
    line, exit 143 or 130, and neither the output nor its .tmp- file is left."""
    save = (
        "lambda model, x, path: (open(path, 'wb').write(b'half'), "
        "print('writing', file=sys.stderr, flush=True), __import__('time').sleep(120))"
    )
    out = tmp_path / "killed.png"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.replace("SAVE", save), str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr.readline().strip() == "writing"
        assert any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == code
    finally:
        proc.kill()
    rest = proc.stderr.read()
    assert rest.strip() == f"turing-rcnn: {said}" and "Traceback" not in rest, rest
    assert list(tmp_path.iterdir()) == []


def _evil_rule(folder: Path) -> Path:
    rule = Rule.load(pretrained.resolve("prefix-parity", "rule"))
    rule.program.name = "caf\u00e9 " + EVIL + " \u2713"
    path = folder / "named.json"
    if not path.exists():
        rule.save(str(path))
    return path


def _quick_verify(rule, **kwargs) -> dict:
    """verify's report shape, without its minutes of checks: what is printed is the test."""
    return {"rule": rule.program.name, "task": rule.task, "exact": True, "checks": []}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_rule_name_with_escapes_is_printed_escaped(as_json, tmp_path, monkeypatch, capsys):
    """A rule's name holding terminal escapes (retitle the window, clear the screen)
    reaches stdout as visible text (\\x1b...), in the text report and in --json."""
    import turing_rcnn.trainable.verify as verify

    monkeypatch.setattr(verify, "verify", _quick_verify)
    path = _evil_rule(tmp_path)
    argv = ["verify", str(path), "--no-progress"] + (["--json"] if as_json else [])
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert not any(c in out + err for c in RAW), repr(out)
    if as_json:  # JSON escapes them itself (\u001b); the value read back is the name
        assert json.loads(out)["rule"] == "caf\u00e9 " + EVIL + " \u2713"
    else:
        shown = "caf\u00e9 \\x1b]0;evil\\x07\\x1b[2J\\x9b31m\\u202e\\x7f \u2713"
        assert f"rule: {shown}\n" in out, out


def test_printable_escapes_every_control_character():
    """C0, DEL, C1, bidi overrides and lone surrogates are escaped; newlines (kept)
    and printable characters such as é stay."""
    controls = "".join(
        map(chr, [*range(9), *range(11, 0x20), 0x7F, *range(0x80, 0xA0), 0x202E, 0xDCFF])
    )
    text = cli.printable("a\n" + controls + "caf\u00e9")
    assert all(c.isprintable() or c == "\n" for c in text)
    assert text.startswith("a\n\\x00\\x01") and text.endswith("\\u202e\\udcffcaf\u00e9")
    assert text.count("\n") == 1 and "\\x1b" in text and "\\x9b" in text
    assert cli.printable("tab\there", keep="") == "tab\\there"


class _Full:
    """A stdout on a full disk."""

    encoding = "utf-8"

    def write(self, text):
        raise OSError(28, "No space left on device")

    def flush(self):
        pass


def _closed():
    import io

    stream = io.StringIO()
    stream.close()
    return stream


@pytest.mark.parametrize(
    "stdout, said",
    [(_Full, "No space left on device"), (_closed, "stdout is closed")],
    ids=["full", "closed"],
)
def test_a_report_stdout_cannot_take_is_one_line(stdout, said, monkeypatch, capsys):
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", stdout())
    code = main(["info", "1RB1LB_1LA1RZ", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"turing-rcnn: error: cannot write the report to stdout: {said}"


def _cli(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "turing_rcnn.app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_stdout_closed_at_start_is_one_line():
    """`turing-rcnn info ... >&-`: no report can be written, so exit 2 with one line
    (Python starts with sys.stdout None and print() would drop the report silently)."""
    cmd = f"{sys.executable} -m turing_rcnn.app.cli info 1RB1LB_1LA1RZ --no-progress >&-"
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done
    assert done.stderr.strip() == "turing-rcnn: error: cannot write the report to stdout: " + (
        "stdout is closed"
    )


def test_an_ascii_locale_prints_names_as_escapes(tmp_path):
    """LC_ALL=C with UTF-8 mode off (stdout ASCII): a name with é and a check mark is
    written as \\xe9 and \\u2713, no UnicodeEncodeError."""
    path = _evil_rule(tmp_path)
    script = (
        "import sys; import turing_rcnn.trainable.verify as v; "
        "v.verify = lambda rule, **k: {'rule': rule.program.name, 'checks': []}; "
        "from turing_rcnn.app.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIO"))}
    env |= {"LC_ALL": "C", "PYTHONUTF8": "0"}
    done = subprocess.run(
        [sys.executable, "-c", script, "verify", str(path), "--no-progress"],
        capture_output=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    out = done.stdout.decode("ascii")  # every byte ASCII
    assert "caf\\xe9 \\x1b]0;evil\\x07" in out and "\\u2713" in out
    assert b"Traceback" not in done.stderr


def test_torch_warnings_do_not_precede_a_refusal(tmp_path):
    """A pickle of protocol 4 makes torch.load warn ('Detected pickle protocol 4')
    before it fails: the warning is held, and the refusal is the one line on stderr."""
    import pickle

    path = tmp_path / "protocol4.pt"
    path.write_bytes(pickle.dumps({"weights": 1}, protocol=4))
    done = _cli(["train-algo", "--load", str(path), "--no-progress"])
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Warning" not in done.stderr and "protocol4.pt" in done.stderr


@pytest.mark.parametrize("fails", [False, True], ids=["succeeds", "refuses"])
def test_warnings_are_shown_only_after_a_run_that_succeeds(fails, monkeypatch, capsys):
    import dataclasses
    import warnings

    def job(config, progress=False):
        warnings.warn("a library's warning", UserWarning, stacklevel=1)
        if fails:
            raise ValueError("refused")
        return {"ok": 1}

    command = dataclasses.replace(cli.COMMANDS["info"], job=job)
    monkeypatch.setitem(cli.COMMANDS, "info", command)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        code = main(["info", "1RB1LB_1LA1RZ", "--no-progress"])
    assert code == (2 if fails else 0)
    assert [str(w.message) for w in shown] == ([] if fails else ["a library's warning"])
    err = capsys.readouterr().err
    assert err == ("turing-rcnn: error: refused\n" if fails else "")

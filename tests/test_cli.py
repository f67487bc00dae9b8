import json

import numpy as np
import pytest

from turing_rcnn.app.cli import COMMANDS, build_parser, main


@pytest.mark.slow  # d = 10 in .ci/run (make test stays under 5 min)
@pytest.mark.parametrize("rcnn_d", [10, 32])
def test_demo_json_shows_rcnn_and_ge_exact_and_mlp_struggling(capsys, rcnn_d):
    """The demo's table; the RCNN learns a 10-bit parity here (32 bits, as `make demo`
    runs it, behind the slow marker)."""
    assert main(["demo", "--json", "--rcnn-d", str(rcnn_d)]) == 0
    rows = json.loads(capsys.readouterr().out)
    err = {(r["task"], r["d"], r["learner"]): r["test_error"] for r in rows}
    rcnn = [r for r in rows if r["learner"].startswith("RCNN")]
    assert len(rcnn) == 1 and rcnn[0]["memorisation_exact"] and rcnn[0]["agreement_with_ge"] == 1.0
    assert rcnn[0]["d"] == rcnn_d
    assert rcnn[0]["test_error"] == err[("dense parity", rcnn_d, "GaussianElimination")] == 0.0
    assert err[("dense parity", 32, "GaussianElimination")] == 0.0
    assert err[("3-sparse parity", 20, "GaussianElimination")] == 0.0
    # SGD on a dense 32-bit parity is at chance, with the same 42 examples or 160k fresh ones.
    assert 0.4 < err[("dense parity", 32, "SGD-MLP, same 42 examples")] < 0.6
    assert 0.4 < err[("dense parity", 32, "SGD-MLP, fresh samples")] < 0.6
    # ... but learns the (20, 3)-sparse parity within its budget.
    assert err[("3-sparse parity", 20, "SGD-MLP, fresh samples")] < 0.05


def test_unknown_command_exits_with_usage_error(capsys):
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'no-such-command'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "machine, steps, ones",
    [("1RB1LB_1LA1RZ", 6, 4), ("1RB1RZ_0RC1RB_1LC1LA", 14, 6), ("1RB1RZ_1LB0RC_1LC1LA", 21, 5)],
)
def test_run_tm_json_reports_the_busy_beavers(capsys, machine, steps, ones):
    assert main(["run-tm", machine, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == report["layers"] == steps
    assert report["ones"] == ones and report["halted"] and report["state"] == "Z"
    assert report["network_matches_reference"] is True
    assert report["tape"].count("1") == ones
    assert report["parameters"] > 0 and report["weight_values"] > 0


def test_run_tm_with_tape_steps_and_2d_machine(capsys):
    assert main(["run-tm", "1DB1LB_1UA1RZ", "--steps", "7", "--tape", "01", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["network_matches_reference"] is True and report["layers"] == 7
    assert isinstance(report["head"], list)


def test_info_and_errors(capsys):
    assert main(["info", "1RB1LB_1LA1RZ", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["states"] == 2 and info["symbols"] == 2 and info["parameters"] > 0
    assert main(["run-tm", "1RB1XB"]) == 2
    assert "malformed transition" in capsys.readouterr().err
    assert main(["run-tm", "1RB1LB_1LA1RZ", "--tape", "0a"]) == 2
    assert "tape symbol 'a'" in capsys.readouterr().err


def test_learn_json_and_save_run(capsys, tmp_path):
    path = tmp_path / "run.npz"
    argv = [
        "learn",
        "--d",
        "4",
        "--m",
        "5",
        "--learner",
        "first-label",
        "--test",
        "50",
        "--json",
        "--save-run",
        str(path),
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    for key in (
        "d",
        "m",
        "layers",
        "parameters",
        "weight_values",
        "memorisation_exact",
        "rcnn_error",
        "reference_error",
        "agreement",
        "seconds",
        "c1",
    ):
        assert key in report
    assert report["memorisation_exact"] is True and report["agreement"] == 1.0
    assert report["rcnn_error"] == report["reference_error"]
    run = np.load(path)
    assert np.array_equal(run["y_pred_rcnn"], run["y_pred_reference"])
    assert run["X_train"].shape == (5, 4) and run["X_test"].shape == (50, 4)
    assert main(["learn", "--d", "0", "--m", "2"]) == 2
    assert "d must be" in capsys.readouterr().err


def test_animate_writes_a_picture(capsys, tmp_path):
    out = tmp_path / "grid.png"
    assert main(["animate", "--d", "3", "--m", "3", "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000 and "layers" in capsys.readouterr().out
    gif = tmp_path / "grid.gif"
    assert (
        main(["animate", "--d", "2", "--m", "2", "--learner", "last-label", "--out", str(gif)]) == 0
    )
    assert gif.read_bytes()[:3] == b"GIF"


def test_every_option_and_default_comes_from_the_config_dataclasses():
    from dataclasses import MISSING, fields, is_dataclass

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name, command in COMMANDS.items():
        actions = {a.dest: a for a in sub[name]._actions}
        stack = [command.config]
        while stack:
            config = stack.pop()
            for f in fields(config):
                if is_dataclass(f.default_factory if f.default_factory is not MISSING else None):
                    stack.append(f.default_factory)
                    continue
                assert f.name in actions, (name, f.name)
                if f.default is not MISSING:
                    assert actions[f.name].default == f.default, (name, f.name)
        assert {"json", "no_progress"} <= set(actions)


def test_outputs_are_never_overwritten_and_missing_inputs_are_named(capsys, tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(b"keep me")
    assert main(["learn", "--d", "3", "--m", "3", "--save-run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists" in err and path.read_bytes() == b"keep me"
    picture = tmp_path / "grid.png"
    picture.write_bytes(b"keep me too")
    assert main(["animate", "--out", str(picture)]) == 2
    assert "exists" in capsys.readouterr().err and picture.read_bytes() == b"keep me too"
    assert main(["animate", "--out", str(tmp_path / "grid.jpg")]) == 2
    assert ".png or .gif" in capsys.readouterr().err
    run = tmp_path / "algo"
    run.mkdir()
    (run / "model.pt").write_bytes(b"old model")
    assert main(["train-algo", "--out", str(run), "--max-steps", "1"]) == 2
    assert "model.pt exists" in capsys.readouterr().err
    assert (run / "model.pt").read_bytes() == b"old model"
    assert main(["train-algo", "--load", str(tmp_path / "nothing.pt")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["learn", "--d", "3", "--m", "3", "--save-run", str(tmp_path / "run")]) == 2
    assert "must end in .npz" in capsys.readouterr().err  # np.savez would add .npz
    assert main(["learn", "--d", "3", "--m", "3", "--save-run", str(tmp_path / "no/r.npz")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["search", "--checkpoint", str(tmp_path / "no" / "c.jsonl")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_threads_policy_and_flag(capsys):
    import subprocess
    import sys
    import time

    import torch

    from turing_rcnn import threads

    assert threads.choose(0) == 1  # small work: one thread
    assert threads.choose(1) == 1 and threads.choose(99) == threads.available_cores()
    with pytest.raises(ValueError, match="threads must be >= 0"):
        threads.choose(-1)
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(threads.available_cores())
    ]
    try:
        time.sleep(0.5)
        assert threads.choose(0, flops_per_op=threads.LARGE) == 1  # every core is taken
    finally:
        for p in spinners:
            p.kill()
    before = torch.get_num_threads()
    assert main(["info", "1RB1LB_1LA1RZ", "--threads", "1", "--json"]) == 0
    assert torch.get_num_threads() == before  # restored after the job
    assert main(["info", "1RB1LB_1LA1RZ", "--threads", "-1"]) == 2
    assert "threads must be >= 0" in capsys.readouterr().err

import json

import numpy as np
import pytest

from turing_rcnn.cli import main


def test_demo_json_shows_rcnn_and_ge_exact_and_mlp_struggling(capsys):
    assert main(["demo", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    err = {(r["task"], r["d"], r["learner"]): r["test_error"] for r in rows}
    rcnn = [r for r in rows if r["learner"].startswith("RCNN")]
    assert len(rcnn) == 1 and rcnn[0]["memorisation_exact"] and rcnn[0]["agreement_with_ge"] == 1.0
    assert rcnn[0]["test_error"] == err[("dense parity", rcnn[0]["d"], "GaussianElimination")]
    assert err[("dense parity", 32, "GaussianElimination")] == 0.0
    assert err[("3-sparse parity", 20, "GaussianElimination")] == 0.0
    # SGD on a dense 32-bit parity is at chance, with the same 42 examples or 160k fresh ones.
    assert 0.4 < err[("dense parity", 32, "SGD-MLP, same 42 examples")] < 0.6
    assert 0.4 < err[("dense parity", 32, "SGD-MLP, fresh samples")] < 0.6
    # ... but learns the (20, 3)-sparse parity within its budget.
    assert err[("3-sparse parity", 20, "SGD-MLP, fresh samples")] < 0.05


def test_unknown_command_exits_with_usage_error():
    with pytest.raises(SystemExit):
        main(["no-such-command"])


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
    argv = ["learn", "--d", "4", "--m", "5", "--learner", "first-label", "--test", "50",
            "--json", "--save-run", str(path)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("d", "m", "layers", "parameters", "weight_values", "memorisation_exact",
                "rcnn_error", "reference_error", "agreement", "seconds", "c1"):  # fmt: skip
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

import json

import pytest

from turing_rcnn.cli import main


def test_demo_json_shows_ge_exact_and_mlp_struggling(capsys):
    assert main(["demo", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    err = {(r["task"], r["learner"]): r["test_error"] for r in rows}
    assert err[("dense parity", "GaussianElimination")] == 0.0
    assert err[("3-sparse parity", "GaussianElimination")] == 0.0
    # SGD on a dense 32-bit parity is at chance, with the same 42 examples or 160k fresh ones.
    assert 0.4 < err[("dense parity", "SGD-MLP, same 42 examples")] < 0.6
    assert 0.4 < err[("dense parity", "SGD-MLP, fresh samples")] < 0.6
    # ... but learns the (20, 3)-sparse parity within its budget.
    assert err[("3-sparse parity", "SGD-MLP, fresh samples")] < 0.05


def test_unknown_command_exits_with_usage_error():
    with pytest.raises(SystemExit):
        main(["no-such-command"])

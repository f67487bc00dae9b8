"""The README and docs/ tell the truth about the CLI: the usage lines and the option
reference are generated from the parser, every option says what it does and its
default, and the version is the package's."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from turing_rcnn import __version__
from turing_rcnn.app.cli import _subparsers, build_parser, main, options_markdown, usage_lines

ROOT = Path(__file__).resolve().parents[1]


def test_readme_usage_lines_are_the_parsers():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- cli: begin -->\n```\n(.*?)\n```\n<!-- cli: end -->", readme, re.S)
    assert block, "README lost its generated CLI block"
    assert block.group(1) == usage_lines(), "README's CLI block drifted: regenerate it"


def test_docs_cli_reference_is_the_parsers():
    assert (ROOT / "docs" / "cli.md").read_text().strip() == options_markdown().strip()


def test_every_option_has_help_and_default():
    for name, parser in _subparsers(build_parser()).items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest}: no help"
            if not action.required:
                assert "default" in action.help, f"{name} {action.option_strings}: no default"


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"turing-rcnn {__version__}"


def test_readme_links_stay_inside_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), f"README links to missing {target}"


# ---- the numbers the README states, where they are cheap to recompute ------------------


def _readme() -> str:
    return " ".join((ROOT / "README.md").read_text().split())  # line breaks as spaces


def _shown_json(command: str) -> dict:
    """The "key": value pairs the README shows under `$ turing-rcnn COMMAND` ('...' skipped)."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"$ turing-rcnn {command}")
    block = text[start : text.index("```", start)].split("\n", 1)[1]
    return dict(re.findall(r'"(\w+)": ([^,{}\s][^,{}]*?)(?=,|\}|$)', block))


def _check_shown(command: str, capsys) -> None:
    assert main([*command.split(), "--no-progress"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    shown = {k: v for k, v in _shown_json(command).items() if v.strip() != "..."}
    assert shown, f"nothing to check under {command}"
    for key, value in shown.items():
        assert json.dumps(report[key]) == value.strip(), (key, report[key], value)


def test_readme_run_tm_block(capsys):
    _check_shown("run-tm 1RB1RZ_1LB0RC_1LC1LA --json", capsys)


def test_readme_learn_block(capsys):
    _check_shown("learn --d 8 --m 8 --learner majority --json", capsys)


def test_readme_filter_sizes_and_layers():
    from turing_rcnn.algorithm1 import compiled_frame
    from turing_rcnn.frame import layers_needed
    from turing_rcnn.programs.learning import get_learner

    readme = _readme()
    for name, kind in (("first-label", "TM"), ("last-label", "cellular"), ("majority", "TM")):
        c, learner = compiled_frame(name), get_learner(name)
        layers = " / ".join(str(layers_needed(learner, n, n)) for n in (4, 8, 16))
        row = f"| {name} ({kind}) | 4 / 8 / 16 | {layers} |"
        assert row in readme, row
        assert f"| {c.parameter_count} | {len(c.weight_values)} |" in readme
    bits = [compiled_frame(n).bits_needed for n in ("first-label", "last-label", "majority")]
    gauss = compiled_frame("gauss").bits_needed
    assert f"needs {min(bits)} to {max(bits)} mantissa bits (gauss: {gauss})" in readme
    g = compiled_frame("gauss")
    assert f"The filter: {len(g.program.symbols)} codes, hidden widths {g.hidden}" in readme
    assert f"{g.parameter_count} shared parameters, |U| = {len(g.weight_values)}" in readme
    cells = 43 * (32 + 1 + get_learner("gauss").work_columns)
    demo = f"network {cells} cells x {layers_needed(get_learner('gauss'), 42, 32)} layers"
    assert f"{demo} with ONE shared filter of {g.parameter_count} parameters" in readme
    for d in (16, 32, 64, 128, 256):
        m, learner = d + 10, get_learner("gauss")
        cells = (m + 1) * (d + 1 + learner.work_columns)
        assert f"| {d} | {layers_needed(learner, m, d)} | {cells} |" in readme, d


def test_readme_turing_machine_filter_growth():
    from test_compile import counter_machine

    from turing_rcnn.compile import compile_program

    sizes = []
    for n in (1, 2, 3):  # the family test_compile.py prints
        c = compile_program(counter_machine(n).to_cellular())
        sizes.append((c.parameter_count, len(c.weight_values)))
    readme = _readme()
    assert f"{sizes[0][0]} parameters and |U| = {sizes[0][1]} at 1 state" in readme
    step = (sizes[1][0] - sizes[0][0], sizes[1][1] - sizes[0][1])
    assert step == (sizes[2][0] - sizes[1][0], sizes[2][1] - sizes[1][1])
    assert f"+{step[0]} parameters and +{step[1]} values per state" in readme


def test_readme_meta_table_is_the_bench_results():
    """The meta-training table (SGD learns the learner) is bench_meta's, from its JSON."""
    import importlib.util
    import json
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_meta", ROOT / "bench" / "bench_meta.py"
        )
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    rows = []
    for name in ("meta.json", "meta_hard.json", "meta_hints.json", "meta_gauss_hints.json"):
        rows += json.loads((ROOT / "bench" / "results" / name).read_text())["rows"]
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- meta: begin -->\n(.*?)\n<!-- meta: end -->", readme, re.S)
    assert block and block.group(1) == bench.markdown(rows)
    block = re.search(r"<!-- meta-gauss: begin -->\n(.*?)\n<!-- meta-gauss: end -->", readme, re.S)
    assert block and block.group(1) == bench.markdown_gauss(rows)

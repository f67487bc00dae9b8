"""The README and the documentation site (docs/) tell the truth: the usage lines and
the option reference are generated from the parser, every option says what it does and
its default, the numbers the pages state are the code's and the benchmarks' JSON, the
README stays a front door (short, every command timed or run by a test), and its
Python example runs."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from turing_rcnn import __version__
from turing_rcnn.app.cli import _subparsers, build_parser, main, options_markdown, usage_lines

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_LINES = 250  # the front door fits a screen or two


def pages() -> list[Path]:
    """README.md, every page of the documentation site (not the figures' folder) and the
    examples' README."""
    found = sorted(p for p in DOCS.rglob("*.md") if "figures" not in p.relative_to(DOCS).parts)
    return [ROOT / "README.md", *found, ROOT / "examples" / "README.md"]


def page(name: str) -> str:
    return (DOCS / name).read_text()


def test_usage_lines_are_the_parsers():
    text = page("reference/index.md")
    block = re.search(r"<!-- cli: begin -->\n```\n(.*?)\n```\n<!-- cli: end -->", text, re.S)
    assert block, "docs/reference/index.md lost its generated CLI block"
    assert block.group(1) == usage_lines(), "the CLI block drifted: regenerate it"


def test_docs_cli_reference_is_the_parsers():
    assert (ROOT / "docs" / "cli.md").read_text().strip() == options_markdown().strip()


def test_every_option_has_help_and_default():
    for name, parser in _subparsers(build_parser()).items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest}: no help"
            if not action.required:  # said once: the help's words, or the value
                said = action.help.count("(default:")
                assert said == 1, f"{name} {action.option_strings}: default said {said} times"


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"turing-rcnn {__version__}"


def test_links_stay_inside_the_repository():
    """README's links (GitHub renders them) and the pages' links (mkdocs --strict checks
    them again) name files that exist."""
    for path in pages():
        text = path.read_text()
        assert "../shared" not in text, path
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if not target.startswith("http"):
                assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


# ---- the front door ------------------------------------------------------------------

COMMAND = re.compile(r"^(\$ )?(\w+=\S+ )?(turing-rcnn |python (bench|examples)/|make |ray start)")
TIMED = re.compile(r"(?<![\w-])\d+(\.\d+)?(-\d+(\.\d+)?)?\s*(s|min|minutes|seconds|h|hours)\b")
RUN_BY_TESTS = {  # commands the tests below run exactly as shown
    "$ turing-rcnn run-tm 1RB1RZ_1LB0RC_1LC1LA --json",
    "$ turing-rcnn learn --d 8 --m 8 --learner majority --json",
}


def is_template(command: str) -> bool:
    """A command with a placeholder (RULE, --cycles P, cyclesNN, <head>) or usage syntax: not
    one to copy as it is."""
    words = re.sub(r"^(\$ )?(\w+=\S+ )?", "", command).split()
    return any(
        re.fullmatch(r"[A-Z][A-Z0-9_]*", w) or re.search(r"[a-z][A-Z]{2,}$", w) for w in words
    ) or any(mark in command for mark in ("[--", "...", "<"))


def shown_commands(text: str) -> list[tuple[str, str]]:
    """(command, what follows it) for every command a user can copy from a page: each
    line of a shell block (its trailing comment follows it) and each inline code span
    (the paragraph's next 160 characters, up to the next command, follow it)."""
    found, fenced, lang = [], False, ""
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced, lang = not fenced, line[3:].strip()
        elif fenced and lang in ("", "bash", "sh") and COMMAND.match(line):
            command, _, comment = line.partition("  #")
            found.append((command.strip(), comment))
    prose = " ".join(re.sub(r"```.*?```", "", text, flags=re.S).split())
    spans = [m for m in re.finditer(r"`([^`]+)`", prose) if COMMAND.match(m.group(1))]
    for i, m in enumerate(spans):
        end = min(m.end() + 160, spans[i + 1].start() if i + 1 < len(spans) else len(prose))
        found.append((m.group(1), prose[m.end() : end]))
    return found


def test_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().split("\n")
    assert len(lines) <= README_LINES, f"README has {len(lines)} lines (at most {README_LINES})"
    block = lines[lines.index("```") + 1 : lines.index("```", lines.index("```") + 1)]
    assert [line.split()[:2] for line in block] == [["make", "demo"], ["make", "test"]]


def test_every_command_shown_is_timed_or_run_by_a_test():
    """A command a user can copy finishes in a minute or says how long it takes: its
    comment or the sentence after it carries a measured time, or a test runs it."""
    untimed = [
        f"{path.relative_to(ROOT)}: {command}"
        for path in pages()
        for command, after in shown_commands(path.read_text())
        if command not in RUN_BY_TESTS and not is_template(command) and not TIMED.search(after)
    ]
    assert not untimed, "commands without a time:\n" + "\n".join(untimed)


def test_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's Python block, run as it is (it asserts its own claim)."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_docs_python_examples_run(tmp_path, monkeypatch):
    """Every Python block of the documentation pages runs (in a temporary folder)."""
    monkeypatch.chdir(tmp_path)
    ran = 0
    for path in pages()[1:]:
        for code in re.findall(r"```python\n(.*?)```", path.read_text(), re.S):
            exec(compile(code, str(path), "exec"), {})
            ran += 1
    assert ran >= 4


# ---- the numbers the pages state, where they are cheap to recompute --------------------


def _readme() -> str:
    """README and every page, line breaks as spaces (a number may move between pages)."""
    return " ".join(" ".join(p.read_text().split()) for p in pages())


def _shown_json(command: str) -> dict:
    """The "key": value pairs a page shows under `$ turing-rcnn COMMAND` ('...' skipped)."""
    text = next(t for t in (p.read_text() for p in pages()) if f"$ turing-rcnn {command}" in t)
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
    names = ["meta.json", "meta_hard.json", "meta_hints.json", "meta_gauss_hints.json"]
    names += sorted(p.name for p in (ROOT / "bench" / "results").glob("meta_gauss_nw_s*.json"))
    for name in names:
        rows += json.loads((ROOT / "bench" / "results" / name).read_text())["rows"]
    readme = page("results/meta.md")
    block = re.search(r"<!-- meta: begin -->\n(.*?)\n<!-- meta: end -->", readme, re.S)
    assert block and block.group(1) == bench.markdown(rows)
    block = re.search(r"<!-- meta-gauss: begin -->\n(.*?)\n<!-- meta-gauss: end -->", readme, re.S)
    assert block and block.group(1) == bench.markdown_gauss(rows)


def test_rules_table_is_the_bench_results():
    """Every run in bench_rules' JSON has its row in the rules page's table, with the same
    steps, seconds, table entries, compiled parameters and verdict."""
    import json

    runs = json.loads((ROOT / "bench" / "results" / "rules.json").read_text())["rows"]
    text = page("results/rules.md")
    block = re.search(r"<!-- rules: begin -->\n(.*?)\n<!-- rules: end -->", text, re.S)
    assert block
    lines = block.group(1).split("\n")[2:]  # below the header
    table = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    for run in runs:
        key = [str(run["symbols"]), str(run["seed"]), str(run["steps"])]
        rows = [r for r in table if r[0].startswith(run["task"]) and r[1:4] == key]
        rows = [r for r in rows if abs(int(r[4]) - run["train_seconds"]) <= 0.5]
        assert len(rows) == 1, (run["task"], key)
        row = rows[0]
        assert row[6].startswith(str(run["table_entries"])), (row, run["table_entries"])
        assert row[7] == str(run["compiled_parameters"]), (row, run["compiled_parameters"])
        assert (row[10] == "**yes**") == run["exact"], (row, run["exact"])


def test_sweep_tables_are_the_sweep_results():
    """The rates on the rules and peers pages are the stored sweeps' tables, rendered by
    the package (sweep.table.as_markdown), and each table is what its rows summarise."""
    import json

    from turing_rcnn.sweep.table import as_markdown, summarise

    text = page("results/rules.md") + page("results/peers.md")
    blocks = re.findall(r"<!-- sweep: begin -->\n(.*?)\n<!-- sweep: end -->", text, re.S)
    stored = sorted((ROOT / "bench" / "results" / "sweep").glob("*.json"))
    assert stored and len(blocks) == len(stored)
    for path in stored:
        report = json.loads(path.read_text())
        assert summarise(report["rows"]) == report["table"], path.name
        assert as_markdown(report["table"]) in blocks, path.name


def test_maze_routes_table_is_the_runs():
    """Every answer-only maze run in maze_answer_routes.json has its row on the rules
    page (route, seed, steps, verdict), and no row is there without its run."""
    import json

    runs = json.loads((ROOT / "bench" / "results" / "maze_answer_routes.json").read_text())
    text = page("results/rules.md")
    block = re.search(r"<!-- routes: begin -->\n(.*?)\n<!-- routes: end -->", text, re.S)
    assert block
    table = [
        [c.strip() for c in line.strip("|").split("|")] for line in block.group(1).split("\n")[2:]
    ]
    assert len(table) == len(runs["rows"])
    for run in runs["rows"]:
        rows = [
            r
            for r in table
            if r[0] == run["route_name"] and r[1:3] == [str(run["seed"]), str(run["steps"])]
        ]
        assert len(rows) == 1, (run["route_name"], run["seed"])
        assert (rows[0][7] == "**proved**") == bool(run["proved"])

"""Command-level jobs. Each command has a config dataclass (its options, defaults and
help, read by cli.py) and a job function config -> JSON-ready report; cli -> jobs ->
library, the same way for every command. User errors (bad sizes, paths that exist or
do not, sizes beyond memory: guard.py) raise ValueError before any long work; an
existing output is replaced only with --force, and files are written atomically."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .. import guard, pretrained
from ..guard import check_output, need_folder, refuse_existing
from ..options import option
from ..programs.learning import LEARNERS
from ..progress import bar, heartbeat
from ..search.config import BACKENDS, SearchConfig
from ..tasks import ParityTask, search_problem
from ..trainable.config import SIZES, AlgoConfig, MetaConfig, size_help
from .demo import DemoConfig, run_demo
from .demo import format_table as format_table  # the demo report as text, for cli.py
from .machines import DTYPE_NAMES

# torch, scikit-learn and the network code load inside the jobs, so that --help and
# refusals of bad input come back at once.
LEARNER_NAMES = tuple(sorted(LEARNERS))
EVALUATION_NAMES = ("changes", "dense")  # model.EVALUATIONS


def flops_per_op(config) -> float:
    """The work of one tensor operation a job runs, for threads.choose: only the dense
    evaluation of a learner's grid is large; everything else is small operations."""
    if isinstance(config, LearnConfig) and config.evaluation == "dense":
        from ..algorithm1 import compiled_frame

        return compiled_frame(config.learner).flops_per_cell * (config.d + 2) * (config.m + 1) * 64
    return 0.0


def demo(config: DemoConfig, progress: bool = True) -> list[dict]:
    """The demo's rows (format_table prints them)."""
    return run_demo(config, progress)


@dataclass
class LearnConfig:
    d: int = option(help="input bits", low=1, high=10**5)
    m: int = option(help="training examples", low=1, high=10**5)
    learner: str = option("gauss", "the learner program in the filter", LEARNER_NAMES)
    k: int | None = option(None, "sparse parity of k bits (default: dense)", low=1)
    noise: float = option(0.0, "training label noise rate", low=0.0, high=0.499)
    seed: int = option(0, "seeds the parity and the data", low=0, high=2**63 - 1)
    test: int = option(1000, "test points", low=1, high=10**7)
    dtype: str = option("float32", "network arithmetic (both exact here)", choices=DTYPE_NAMES)
    evaluation: str = option(
        "changes", "changes: cost follows change; dense: every cell", EVALUATION_NAMES
    )
    check: int = option(0, "recompute this many random layers of each pass densely (==)", low=0)
    device: str = option("cpu", "where the network runs (cpu, cuda)")
    save_run: str | None = option(None, "save data and predictions to this .npz file")
    force: bool = option(False, "overwrite an existing --save-run file")


def _check_learn(c: LearnConfig) -> None:
    """learn's refusals, before any work: output path, k, memory, device."""
    from ..frame import check_size
    from ..programs.learning import get_learner

    check_output(c.save_run, "--save-run", (".npz",), c.force)
    if c.k is not None and c.k > c.d:
        raise ValueError(f"--k must be <= --d = {c.d}, got {c.k}")
    batch = min(c.test, 1024 if c.evaluation == "changes" else 64)
    data_bytes = 8.0 * 3 * (c.m + c.test) * (c.d + 1)
    check_size(get_learner(c.learner), c.m, c.d, batch, c.evaluation == "dense", data_bytes)
    guard.check_device(c.device)


def learn(config: LearnConfig, progress: bool = True) -> dict:
    """Algorithm 1 on a parity: the RCNN's test error beside its learner's reference."""
    _check_learn(config)
    import torch

    from ..algorithm1 import RCNNLearner

    c = config

    data = ParityTask(c.d, k=c.k, noise=c.noise).make(c.m, n_test=c.test, seed=c.seed)
    start = time.perf_counter()
    model = RCNNLearner(
        c.learner,
        dtype=c.dtype,
        evaluation=c.evaluation,
        check=c.check,
        device=c.device,
        progress=progress,
    )
    model.fit(data.X_train, data.y_train)
    fit_seconds = time.perf_counter() - start
    pred = model.predict(data.X_test)
    seconds = time.perf_counter() - start
    ref = model.reference_predict(data.X_train, data.y_train, data.X_test)
    t = model.learner_program().time(c.m, c.d)
    if c.save_run:
        with guard.atomic_path(c.save_run) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                X_train=data.X_train,
                y_train=data.y_train,
                X_test=data.X_test,
                y_pred_rcnn=pred,
                y_pred_reference=ref,
            )
    compiled = model.compiled_
    return {
        "task": "parity",
        "d": c.d,
        "m": c.m,
        "k": c.k,
        "noise": c.noise,
        "seed": c.seed,
        "learner": c.learner,
        "layers": model.layers_,
        "c1": model.layers_ / (t + c.m + c.d),
        "grid": list(model.net_.config.grid_shape),
        "parameters": compiled.parameter_count,
        "weight_values": len(compiled.weight_values),
        "flops_per_cell": compiled.flops_per_cell,
        "memorisation_exact": model.memorisation_exact_,
        "rcnn_error": float(np.mean(pred != data.y_test)),
        "reference_error": float(np.mean(ref != data.y_test)),
        "agreement": float(np.mean(pred == ref)),
        "fit_seconds": round(fit_seconds, 4),
        "seconds": round(seconds, 4),
        "evaluation": c.evaluation,
        "threads": torch.get_num_threads(),
    }


@dataclass
class AnimateConfig:
    d: int = option(5, "input bits (a picture per layer: small sizes)", low=1, high=32)
    m: int = option(7, "training examples", low=1, high=64)
    k: int | None = option(None, "sparse parity of k bits (default: dense)", low=1)
    learner: str = option("gauss", "the learner program in the filter", LEARNER_NAMES)
    seed: int = option(0, "seeds the parity and the data", low=0, high=2**63 - 1)
    out: str = option("runs/rcnn.png", "a .png strip or a .gif animation")
    force: bool = option(False, "overwrite an existing --out file")


def animate(config: AnimateConfig, progress: bool = False) -> dict:
    """Picture the grid inside a fitted RCNN on one test point, layer by layer."""
    from ..algorithm1 import RCNNLearner
    from .viz import save_gif, save_strip

    check_output(config.out, "--out", (".png", ".gif"), config.force)
    if config.k is not None and config.k > config.d:
        raise ValueError(f"--k must be <= --d = {config.d}, got {config.k}")
    data = ParityTask(config.d, k=config.k).make(config.m, n_test=1, seed=config.seed)
    with heartbeat(f"animate: Algorithm 1 with {config.learner}", progress):
        model = RCNNLearner(config.learner).fit(data.X_train, data.y_train)
    save = save_gif if config.out.endswith(".gif") else save_strip
    drawing = heartbeat(f"animate: drawing {config.out}", progress)
    with drawing, guard.atomic_path(config.out) as tmp:
        save(model, data.X_test[0], tmp)
    return {
        "wrote": config.out,
        "layers": model.layers_ + 1,
        "grid": list(model.net_.config.grid_shape),
    }


@dataclass
class TrainAlgoConfig:
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    test_size: int | None = option(
        None,
        size_help("test", 1),
        low=2,
        high=10**6,
    )
    test_count: int = option(100, "test inputs per size", low=1, high=10**5)
    compare_count: int = option(
        10, "test inputs run beside the task's compiled exact rule (0: none)", low=0, high=10**4
    )
    data: str | None = option(
        None,
        "also test on a folder in the peer's layout (inputs.npy, solutions.npy: mazes or "
        "prefix sums)",
    )
    train_data: str | None = option(
        None,
        "train on a folder in the peer's layout instead of fresh inputs (its last tenth "
        "validates, not --val-size fresh ones; the training size is the folder's)",
    )
    out: str | None = option(None, "a new folder for model.pt, training.png and report.json")
    load: str | None = option(None, "test a saved model.pt (or a shipped filter's name)")
    force: bool = option(False, "overwrite model.pt, training.png, report.json in --out")


def _out_files(out: str | None, names: tuple[str, ...], force: bool) -> dict[str, str]:
    """The paths of the files a job writes into the folder --out (refused before any work
    if --out is a file, its parent is missing, or a file exists there without --force)."""
    files = {n: os.path.join(out or "", n) for n in names}
    if out:
        kind = guard.what_is(out)
        if os.path.lexists(out) and not (kind or "").endswith("a folder"):
            raise ValueError(f"--out {out} is {kind or 'a file'}; give a folder")
        need_folder(os.path.join(out, names[0]) if os.path.isdir(out) else out)
        refuse_existing(*files.values(), force=force)
    return files


def channels(cfg) -> int:
    """Values per cell a filter holds while it runs (for the memory estimates); the
    peer's net: its state, five convolutions' outputs and the head's."""
    if cfg.net == "deepthinking":
        return 6 * cfg.width + 46
    return (cfg.symbols or cfg.width) + cfg.hidden + 4


def _check_train_algo_memory(
    config: TrainAlgoConfig, cfg, task, test_size: int, training: bool
) -> None:
    """Refuse testing (and training) that would not fit in memory, before any work."""
    per_cell = channels(cfg)
    cells = task.grid_cells(max(test_size, cfg.train_size))
    guard.check_memory(
        5e8 + 4.0 * 4 * per_cell * cells * max(config.test_count, config.compare_count),
        f"testing {config.test_count} inputs of size {test_size} ({cells} cells each)",
    )
    if training:  # training keeps every iteration's activations of a batch
        size, step_cells = cfg.train_size, task.grid_cells(cfg.train_size)
        grad = cfg.batch_size * 4.0 * 3 * per_cell * step_cells * task.train_iterations(size)
        validation = cfg.val_size * 4.0 * 2 * per_cell * task.grid_cells(task.larger(size))
        guard.check_memory(
            5e8 + grad + validation,
            f"training at size {size} ({cfg.batch_size} inputs per step, {cfg.val_size} to "
            "validate)",
        )


def _in_chunks(desc: str, count: int, cells: int, work, progress: bool) -> list:
    """work(start, stop) over `count` inputs of `cells` cells each, in chunks of about
    1 M cells (one chunk up to 1000 inputs, so that small requests draw the same data
    as ever), under a bar counting the inputs: big requests show an ETA."""
    step = max(1000, 2**20 // max(cells, 1))
    parts = []
    with bar(desc, count, progress, unit="input") as line:
        for start in range(0, count, step):
            stop = min(count, start + step)
            parts.append(work(start, stop))
            line.update(stop - start)
    return parts


def _draw(task, count: int, size: int, rng, progress: bool):
    """`count` inputs of this size (tensors x, y), drawn in chunks under a bar."""
    import torch

    def draw(start, stop):
        return task.sample(stop - start, size, rng)

    desc = f"train-algo: drawing inputs of size {size}"
    parts = _in_chunks(desc, count, task.grid_cells(size), draw, progress)
    return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])


def _score(task, x, y, pred, name: str, progress: bool) -> np.ndarray:
    """Per input: is the answer right (task.correct), in chunks under a bar."""

    def score(start, stop):
        return task.correct(x[start:stop], y[start:stop], pred[start:stop])

    desc = f"train-algo: scoring the answers ({name})"
    return np.concatenate(_in_chunks(desc, len(x), x.shape[2] * x.shape[3], score, progress))


def train_algo(config: TrainAlgoConfig, progress: bool = True) -> dict:
    """Train (or load) a RecurrentFilter on a small size; test it on a larger one.

    Tests run each input until its state is a fixed point (or the task's budget) and
    report the iterations used. The report compares the network with the task's
    compiled exact rule (where the task has one) on `compare_count` test inputs."""
    from ..trainable import AlgorithmLearner, compare_with_rule, get_algo_task

    out = config.out
    files = _out_files(out, ("model.pt", "training.png", "report.json"), config.force)
    load = pretrained.resolve(config.load, "filter") if config.load else None
    with heartbeat(f"train-algo: loading {config.load}", progress and bool(load)):
        model = AlgorithmLearner.load(load, progress) if load else None
    cfg = model.config_ if model else config.algo
    task = get_algo_task(cfg.task)
    test_size = task.check_size(config.test_size or SIZES[cfg.task][1])
    _check_train_algo_memory(config, cfg, task, test_size, training=model is None)
    if model is None and cfg.teacher is not None:  # refused before anything is written
        from ..trainable.distill import load_teacher

        load_teacher(cfg.teacher, cfg.task)
    from .evaluate import read_folder

    if model is not None and config.train_data is not None:
        raise ValueError("--train-data trains a new filter; --load loads a trained one")
    data, train = None, None
    if config.data is not None:  # both folders checked and read before training
        data = read_folder(config.data, cfg.task, "--data", 4.0 * 4 * channels(cfg), None, progress)
    if config.train_data is not None:

        def fits(size: int) -> None:  # from the headers, before the mazes are read
            if cfg.train_size not in (SIZES[cfg.task][0], size):
                raise ValueError(
                    f"--train-size {cfg.train_size}, but --train-data holds inputs of size "
                    f"{size}; drop --train-size"
                )
            _check_train_algo_memory(config, replace(cfg, train_size=size), task, test_size, True)

        train = read_folder(config.train_data, cfg.task, "--train-data", 0, None, progress, fits)
        cfg = replace(cfg, train_size=train.size)
    if out:
        os.makedirs(out, exist_ok=True)
    if model is None:
        model = AlgorithmLearner(cfg, progress)
        checkpoint = files["model.pt"] if out else None
        model.fit(train.x, train.y, checkpoint) if train else model.fit(checkpoint=checkpoint)
    rng = np.random.default_rng(10_000 + cfg.seed)
    report = model.summary()
    sizes = sorted({cfg.train_size, test_size})
    tests = {str(size): _draw(task, config.test_count, size, rng, progress) for size in sizes}
    if data is not None:
        tests["data"] = (data.x, data.y)
        if data.notes:  # said, never silent
            report["data_converted"] = data.notes
    for name, (x, y) in tests.items():
        start = time.perf_counter()
        pred, used = model.run_until_settled(x)
        x, y = task.check_inputs(x, y)
        correct = _score(task, x, y, pred, name, progress)
        report[f"accuracy_{name}"] = float(correct.mean())
        report[f"iterations_{name}"] = {
            "mean": float(used.mean()),
            "max": int(used.max()),
            "budget": model.iterations_for(x),
        }
        report[f"test_seconds_{name}"] = round(time.perf_counter() - start, 2)
    if task.program() is not None and config.compare_count:
        x, y = _draw(task, config.compare_count, test_size, rng, progress)
        report["compiled_rule"] = compare_with_rule(model, x, y, progress=progress)
    if out:
        with heartbeat("train-algo: plotting", progress):
            report["plot"] = model.plot(files["training.png"])
        report["checkpoint"] = files["model.pt"]
        guard.write_text(files["report.json"], json.dumps(report, indent=2) + "\n")
    return report


@dataclass
class ExtractConfig:
    load: str = option(help="a trained filter with a finite state: model.pt or a shipped name")
    out: str = option(help="where to write the rule (a new .json file)")
    count: int = option(
        200, "inputs of the training size and of twice it to read the table on", low=1, high=10**5
    )
    seed: int = option(0, "seeds those inputs", low=0, high=2**63 - 1)
    force: bool = option(False, "overwrite an existing --out file")


def extract_rule(config: ExtractConfig, progress: bool = False) -> dict:
    """Read the rule off a trained finite-state filter and write it as JSON."""
    from ..compile import compile_program
    from ..trainable import AlgorithmLearner
    from ..trainable.extract import check_trained, extract, table_entries

    check_output(config.out, "--out", (".json",), config.force)
    with heartbeat(f"extract: loading {config.load}", progress):
        model = AlgorithmLearner.load(pretrained.resolve(config.load, "filter"), progress)
        rng, size = np.random.default_rng(config.seed), model.config_.train_size
        sizes = (size, model.task_.larger(size))
        samples = [model.task_.sample(config.count, s, rng) for s in sizes]
        xs = [x for x, _ in samples]
    with heartbeat("extract: testing the filter at its training size", progress):
        check_trained(model, *samples[0])  # an untrained filter has no rule to read
    start = time.perf_counter()
    with heartbeat("extract: reading the table off the filter", progress):
        rule = extract(model, xs)
        rule.save(config.out)
    with heartbeat("extract: compiling the rule", progress):
        compiled = compile_program(rule.program)
    return {
        "rule": config.out,
        "task": rule.task,
        "states": rule.states,
        "symbols": len(rule.program.symbols),
        "table_entries": table_entries(rule.program),
        "guards": len(rule.program.guards),
        "parameters": compiled.parameter_count,
        "seconds": round(time.perf_counter() - start, 2),
    }


@dataclass
class VerifyConfig:
    rule: str = option(help="a rule .json file or a shipped rule's name", positional=True)
    task: str | None = option(None, "the task it must solve (default: the rule's own)")
    seed: int = option(0, "seeds the random inputs", low=0, high=2**63 - 1)
    quick: bool = option(False, "smaller random inputs (10^4 bits, size-59 mazes, ...)")


def verify_rule(config: VerifyConfig, progress: bool = True) -> dict:
    """Run every verification check (trainable/verify.py); `exact` is true only when all pass."""
    path = pretrained.resolve(config.rule, "rule")  # before loading torch: fast refusals
    from ..trainable.extract import Rule
    from ..trainable.verify import verify

    rule = Rule.load(path)
    if config.task and config.task != rule.task:
        raise ValueError(f"the rule solves {rule.task!r}, not {config.task!r}")
    return verify(rule, seed=config.seed, quick=config.quick, progress=progress)


@dataclass
class MetaTrainConfig:
    meta: MetaConfig = field(default_factory=MetaConfig)
    out: str | None = option(
        None, "a new folder for model.pt, learner.json, training.png and report.json"
    )
    load: str | None = option(
        None, "verify a learned learner (.json, or a shipped name) instead of training"
    )
    force: bool = option(False, "overwrite the files in --out")


def _check_meta_memory(cfg: MetaConfig) -> None:
    """Refuse meta-training that would not fit in memory, before any work: a batch keeps
    every layer's activations (up to 2 L layers at the largest training size), and the
    validation runs val_size problems at twice the largest m."""
    from ..trainable.meta import FAMILIES, layers_for

    family = FAMILIES[cfg.learner]
    channels = cfg.symbols + cfg.hidden + 8
    cells = (cfg.max_m + 1) * (cfg.max_d + 2)
    grad = (
        3 * 4.0 * cfg.batch_size * channels * cells * 2 * layers_for(family, cfg.max_m, cfg.max_d)
    )
    val = 4.0 * cfg.val_size * channels * (2 * cfg.max_m + 1) * (cfg.max_d + 2) * 4
    guard.check_memory(
        5e8 + grad + val,
        f"meta-training at m = {cfg.max_m}, d = {cfg.max_d} ({cfg.batch_size} problems per step)",
    )


def meta_train(config: MetaTrainConfig, progress: bool = True) -> dict:
    """Meta-train a finite-state filter on one learner family's problems, read its rule
    off, verify it (exhaustive, random, stable, then Algorithm 1 in the Theorem 1 frame)
    and write it as learner.json when it is exact; or verify a learned learner (--load)."""
    out = config.out
    files = _out_files(
        out, ("model.pt", "learner.json", "training.png", "report.json"), config.force
    )
    path = pretrained.resolve(config.load, "learner") if config.load else None
    if path is None:
        _check_meta_memory(config.meta)
    from ..trainable.meta import MetaLearner, MetaRule, read_rule, verify

    learned = MetaRule.load(path) if path else None  # before any folder is made
    if out:
        os.makedirs(out, exist_ok=True)
    seed = config.meta.seed
    if learned:
        report = verify(learned, seed=seed, progress=progress)
    else:
        model = MetaLearner(config.meta, progress).fit(files["model.pt"] if out else None)
        report = model.summary()
        if report["val_accuracy"] == 1.0:
            report["filter_large"] = model.size_accuracy(seed=seed, progress=progress)
        if report["val_accuracy"] == 1.0 and min(report["filter_large"].values()) == 1.0:
            rule = read_rule(model, seed=seed, progress=progress)
            report["verify"] = verify(rule, seed=seed, progress=progress)
            if out and report["verify"]["exact"]:
                rule.save(files["learner.json"])
                report["learner"] = files["learner.json"]
        if out:
            with heartbeat("meta-train: plotting", progress):
                report["plot"] = model.plot(files["training.png"])
    if out:
        guard.write_text(files["report.json"], json.dumps(report, indent=2) + "\n")
    return report


@dataclass
class SearchJobConfig:
    search: SearchConfig = field(default_factory=SearchConfig)
    task: str = option("last-bit", "the problem", choices=("last-bit", "constant", "parity"))
    d: int = option(3, "input bits", low=1, high=64)
    m: int = option(5, "training examples", low=1, high=10**4)
    val: int = option(8, "validation examples", low=1, high=10**6)
    test: int = option(1000, "test points", low=1, high=10**7)
    backend: str = option("inprocess", "where the candidates run", choices=BACKENDS)
    workers: int = option(2, "process pool or local Ray CPUs", low=1, high=1024)
    address: str | None = option(None, "join this Ray cluster (default: start a local one)")
    checkpoint: str | None = option(None, "resume from / append to this JSON-lines file")


def run_search(config: SearchJobConfig, progress: bool = True) -> dict:
    """Corollary 2 on one problem: restarts, validation, the chosen program and its
    test error beside both constant predictors; for the answer-rule prior also the
    exact fraction of the family that reaches zero validation error."""
    from ..search import AnswerRulePrior, exact_fraction, predict_with, search, wilson_interval

    c, cfg = config, config.search
    if c.address is not None and c.backend != "ray":
        raise ValueError("--address joins a Ray cluster: give it with --backend ray")
    kind = guard.what_is(c.checkpoint) if c.checkpoint else None
    if kind:  # never read from, appended to or renamed onto
        raise ValueError(f"--checkpoint {c.checkpoint} is {kind}, not a regular file")
    need_folder(c.checkpoint)
    if c.backend == "ray" and c.address:
        from ..search.backends import reachable

        reachable(c.address)
    layers = 3 + c.m + c.d + cfg.time
    cells = (c.m + 1) * (c.d + 2)
    width = sum(cfg.hidden) + 2 if cfg.init == "paper" else 64
    guard.check_memory(
        5e8 + 4.0 * 3 * cfg.batch * cells * width * (layers + c.val) + 8.0 * c.test * c.d * 3,
        f"a batch of {cfg.batch} candidates ({cells} cells x {layers} layers, width {width})",
    )
    X, y, X_val, y_val, X_test, y_test = search_problem(c.task, c.d, c.m, c.val, c.test, cfg.seed)
    result = search(
        cfg, [(X, y, X_val, y_val)], c.backend, c.workers, c.address, c.checkpoint, progress
    )
    best = result.best
    pred = predict_with(cfg, best, X, y, X_test, progress)
    wins = int((result.errors[:, 0] == 0).sum())
    report = {
        "task": c.task,
        "d": c.d,
        "m": c.m,
        "validation": c.val,
        "init": cfg.init,
        "size": cfg.size,
        "time": cfg.time,
        "restarts": cfg.restarts,
        "backend": c.backend,
        "seed": cfg.seed,
        "seconds": round(result.seconds, 2),
        "candidates_per_second": round(cfg.restarts / max(result.seconds, 1e-9), 1),
        "resumed_chunks": result.resumed_chunks,
        "best": best,
        "program": result.programs[best],
        "val_error": float(result.errors[best, 0]),
        "test_error": float(np.mean(pred != y_test)),
        "constant_plus_error": float(np.mean(y_test != 1)),
        "constant_minus_error": float(np.mean(y_test != -1)),
        "zero_val_error_rate": wins / cfg.restarts,
        "zero_val_error_rate_95ci": wilson_interval(wins, cfg.restarts),
    }
    if cfg.init == "answer-rule":
        prior = AnswerRulePrior(cfg.time)
        report["exact_zero_val_error_fraction"] = exact_fraction(prior, X, y, X_val, y_val)
    return report


def run_sweep(config, progress: bool = True) -> dict:
    """N seeds x settings of the trainable filter (sweep/): the table of rates."""
    from ..sweep import run

    return run(config, progress)


def sweep_text(report: dict) -> str:
    from ..sweep.table import as_text

    return as_text(report)

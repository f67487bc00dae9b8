"""Progress on stderr, one helper for every command and library call that takes
`progress`: no silent minutes.

`bar(desc, total)` is a tqdm bar on stderr (count, rate, ETA) that a daemon thread
also redraws every `interval` seconds (4 by default), so a step that runs for minutes
still shows its time ticking; with no total it is a heartbeat: the stage and the time
it has taken (`verify (c) one more layer: 12 s`). It draws at once when made, and
replaces the `start` line (cli.py: shown after 1 s while torch loads, unless a bar or
a refusal came first). `say(text)` writes one
line between bars. Disabled (progress=False, --no-progress): nothing is written and
no thread starts. Never stdout: stdout carries the report (also with --json)."""

from __future__ import annotations

import sys
import threading
import weakref

from tqdm.auto import tqdm

INTERVAL = 4.0  # seconds between redraws when no step ends (the bound is 5)
MININTERVAL = 0.5  # tqdm's least time between redraws as steps end
HEARTBEAT = "{desc}: {elapsed_s:.0f} s"

_start: Bar | None = None  # the line shown until the first bar or say()


class Bar(tqdm):
    """tqdm, redrawn by a daemon thread every `interval` s until closed."""

    def __init__(self, *args, interval: float = INTERVAL, **kwargs):
        self._stop = threading.Event()
        self._beat = None
        super().__init__(*args, **kwargs)
        if not self.disable:  # the thread holds a weak reference: a bar dropped unclosed ends it
            args = (weakref.ref(self), self._stop, interval)
            self._beat = threading.Thread(target=_tick, args=args, daemon=True)
            self._beat.start()

    def close(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            beat = self._beat
            if beat is not None and beat is not threading.current_thread():
                beat.join()
            self._beat = None
        super().close()


def _tick(ref, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        line = ref()
        if line is None:
            return
        if line.delay and line._time() - line.start_t < line.delay:
            del line  # not shown yet (tqdm's delay): a quick error prints only itself
            continue
        try:
            line.refresh()
        except (OSError, ValueError, AttributeError):  # the stream went away, or closing
            return
        del line


def bar(
    desc: str,
    total: int | None = None,
    enabled: bool = True,
    *,
    iterable=None,
    unit: str = "it",
    leave: bool = True,
    interval: float = INTERVAL,
    **kwargs,
) -> Bar:
    """A bar over `total` steps (or `iterable`), or with neither a heartbeat that
    shows the time elapsed; a context manager (tqdm's). Nothing when not enabled."""
    if enabled:
        _end_start()
    if total is None and iterable is None:
        kwargs.setdefault("bar_format", HEARTBEAT)
    kwargs.setdefault("file", sys.stderr)
    return Bar(
        iterable,
        desc=desc,
        total=total,
        disable=not enabled,
        mininterval=MININTERVAL,
        unit=unit,
        leave=leave,
        dynamic_ncols=True,
        interval=interval,
        **kwargs,
    )


def heartbeat(desc: str, enabled: bool = True, interval: float = INTERVAL, leave: bool = True):
    """`desc: N s` on stderr at once and every `interval` s until the `with` ends: for
    one long call with no count."""
    return bar(desc, None, enabled, leave=leave, interval=interval)


def say(text: str, enabled: bool = True) -> None:
    """One line on stderr (bars open stay drawn below it)."""
    if enabled:
        _end_start()
        tqdm.write(text, file=sys.stderr)


def start(desc: str, enabled: bool = True, delay: float = 1.0) -> Bar:
    """A heartbeat that the first bar or say() ends (cli.py: shown after `delay` s if
    nothing else was, while torch and the job's modules load, so that a refusal within
    it prints only its one line); a context manager that ends it in any case."""
    global _start
    _end_start()
    line = bar(desc, None, enabled, leave=False, interval=0.25, delay=delay)
    if enabled:
        _start = line
    return line


def _end_start() -> None:
    global _start
    line, _start = _start, None
    if line is not None:
        line.close()

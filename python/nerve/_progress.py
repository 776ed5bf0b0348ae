"""Keras-style progress output that also behaves in log files.

On a live display (a terminal, or a Jupyter/IPython kernel) the bar is redrawn in place with
'\\r' at most every `interval` seconds. Anywhere else (a file, a pipe, CI logs) the bar writes one
plain line when it finishes, with no control characters, so logs stay readable.
"""
import shutil
import sys
import time

BAR_WIDTH = 20
_DONE, _TODO, _RESET = "\x1b[32m", "\x1b[90m", "\x1b[0m"

# The stream whose last line is a bar still being redrawn; messages must start a new line there.
_unfinished_line_stream = None


def is_live(stream):
    """Whether `stream` shows '\\r' redraws in place: a terminal or a notebook kernel's output."""
    if "ipykernel" in type(stream).__module__:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def print_message(text):
    """Print a callback's message on its own line, even while a bar is being redrawn; nothing
    when there is no sys.stdout (pythonw, some services)."""
    global _unfinished_line_stream
    stream = sys.stdout
    if stream is None:
        return
    if _unfinished_line_stream is stream:
        stream.write("\n")
        _unfinished_line_stream = None
    print(text, file=stream, flush=True)


def format_value(value):
    """A metric as Keras shows it: .4f, or .4e when its magnitude is below 1e-3."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_duration(seconds):
    """An ETA: '7s', '2:05' or '1:02:05'."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def format_rate(seconds, unit):
    """Time per unit: '2s/step', '14ms/step' or '581us/step'."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def format_metrics(logs):
    return "".join(f" - {name}: {format_value(value)}" for name, value in (logs or {}).items())


def can_encode(stream, text):
    """Whether `stream` can write `text`: an ASCII or cp1252 console cannot write box drawing."""
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _bar_char(stream):
    """'━' as Keras draws it, or '=' where the stream cannot encode it (e.g. an ASCII locale)."""
    return "━" if can_encode(stream, "━") else "="


class ProgressBar:
    """One bar over `target` units (None: unknown until finish()).

    verbose=1 draws the Keras bar (redrawn in place on a live display, one final line
    elsewhere); verbose=2 writes only the final `count - elapsed - rate - metrics` line;
    verbose=0 writes nothing. `logs` may be a dict or a zero-argument callable returning one:
    it is only called when something is drawn.
    """

    def __init__(self, target, verbose=1, stream=None, interval=0.05, unit="step"):
        self.target = target
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.live = verbose == 1 and is_live(self.stream)
        self.interval = interval
        self.unit = unit
        self.seen = 0
        self._start = time.perf_counter()
        self._next_draw = 0.0  # draw at the first update, then at most every `interval`
        self._countdown = 0  # updates until the clock is read again
        self._first_update = None  # (time, count): the first step's cost is not representative
        self._last_step_time = None
        self._previous_width = 0
        self._char = _bar_char(self.stream)

    def update(self, current, logs=None):
        """Progress to `current` units done; redraws only on a live display, when due."""
        self.seen = current
        if current == self.target:
            # The final line's rate counts the steps only, not validation or callbacks after.
            self._last_step_time = time.perf_counter()
        if not self.live:
            return
        self._countdown -= 1
        if self._countdown > 0 and current != self.target:
            return
        now = time.perf_counter()
        if now < self._next_draw and current != self.target:
            # Reading the clock costs as much as the rest of a step's bookkeeping: skip about
            # half the steps expected before the next draw.
            per_unit = (now - self._start) / current
            self._countdown = int((self._next_draw - now) / per_unit / 2) if per_unit else 1
            return
        self._next_draw = now + self.interval
        self._draw(current, logs() if callable(logs) else logs, now, final=False)

    def finish(self, logs=None):
        """Write the final line with the elapsed time and `logs` (e.g. validation metrics)."""
        if self.target is None:
            self.target = self.seen
        now = time.perf_counter()
        logs = logs() if callable(logs) else logs
        if self.verbose == 1:
            self._draw(self.target, logs, now, final=True)
        elif self.verbose == 2:
            count = f"{self.target:>{len(str(self.target))}}/{self.target}"
            rate = format_rate(self._final_time_per_unit(now), self.unit)
            self._write(f"{count} - {now - self._start:.0f}s - {rate}{format_metrics(logs)}\n")

    def _final_time_per_unit(self, now):
        return self._time_per_unit(self.target, self._last_step_time or now)

    def _time_per_unit(self, current, now):
        if self._first_update is None:
            self._first_update = (now, current)
        first_time, first_count = self._first_update
        if current > first_count:
            return (now - first_time) / (current - first_count)
        return (now - self._start) / current if current else 0.0

    def _draw(self, current, logs, now, final):
        global _unfinished_line_stream
        per_unit = self._final_time_per_unit(now) if final else self._time_per_unit(current, now)
        if self.target:
            count = f"{current:>{len(str(self.target))}}/{self.target}"
            done = min(BAR_WIDTH, BAR_WIDTH * current // self.target)
            done_part, todo_part = self._char * done, self._char * (BAR_WIDTH - done)
            if self.live:
                done_part = f"{_DONE}{done_part}{_RESET}" if done else ""
                todo_part = f"{_TODO}{todo_part}{_RESET}" if done < BAR_WIDTH else ""
            bar = f"{count} {done_part}{todo_part}"
        else:
            bar = f"{current:7d}/Unknown"
        if final or not self.target:
            clock = f"{now - self._start:.0f}s"
        else:
            clock = format_duration(per_unit * (self.target - current))
        line = f"{bar} {clock} {format_rate(per_unit, self.unit)}{format_metrics(logs)}"
        if not self.live:
            self._write(line + "\n")
            return
        visible = len(line) - (len(done_part) + len(todo_part) - BAR_WIDTH if self.target else 0)
        if not final:
            line, visible = self._fit_terminal(line, visible)
        padding = " " * max(0, self._previous_width - visible)
        self._previous_width = visible
        self._write(f"\r{line}{padding}" + ("\n" if final else ""))
        _unfinished_line_stream = None if final else self.stream

    def _fit_terminal(self, line, visible):
        """Cut a redrawn line to the terminal's width: a wrapped line cannot be redrawn."""
        if not self.stream.isatty():
            return line, visible
        columns = shutil.get_terminal_size().columns - 1
        if visible <= columns or columns < 40:  # (cut only metrics, never the bar's colours)
            return line, visible
        return line[: len(line) - (visible - columns)], columns

    def _write(self, text):
        if self.stream is None:  # no sys.stdout (pythonw, some services): nothing to show
            return
        self.stream.write(text)
        self.stream.flush()

"""The progress bar: Keras's look on a live display, clean lines in logs."""
import contextlib
import io
import re

import pytest

from nerve import _progress
from nerve._progress import ProgressBar, format_duration, format_rate, format_value


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


class AsciiTTY(FakeTTY):
    encoding = "ascii"


def run_bar(stream, steps=50, verbose=1, interval=0.0, final_logs=None):
    bar = ProgressBar(steps, verbose, stream=stream, interval=interval)
    for step in range(1, steps + 1):
        bar.update(step, {"accuracy": 0.75, "loss": 0.5})
    bar.finish(final_logs or {"accuracy": 0.75, "loss": 0.5})
    return stream.getvalue()


LINE = re.compile(r"^50/50 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.7500 - loss: 0\.5000$")


def test_log_output_is_one_clean_line():
    text = run_bar(io.StringIO())
    assert "\r" not in text and "\x1b" not in text
    assert text.endswith("\n") and text.count("\n") == 1
    assert LINE.match(text.rstrip("\n")), text


def test_terminal_output_redraws_in_place_and_ends_with_the_final_line():
    text = run_bar(FakeTTY(), final_logs={"accuracy": 0.75, "loss": 0.5, "val_loss": 0.25})
    assert text.count("\r") == 51 and text.endswith("\n") and text.count("\n") == 1
    final = re.sub(r"\x1b\[\d+m", "", text.split("\r")[-1]).rstrip()
    assert re.match(r"^50/50 ━{20} \d+s \d+(us|ms|s)/step - accuracy: 0\.7500 - loss: 0\.5000 - "
                    r"val_loss: 0\.2500$", final), final
    first = re.sub(r"\x1b\[\d+m", "", text.split("\r")[1])
    assert first.startswith(" 1/50 ━━━━━━━━━━━━━━━━━━━━ 0s "), first  # an ETA while running
    halfway = next(part for part in text.split("\r") if part.startswith("25/50"))
    assert halfway.startswith("25/50 \x1b[32m" + "━" * 10 + "\x1b[0m\x1b[90m" + "━" * 10)


def test_redraws_are_throttled_and_lazy_logs_are_computed_only_to_draw():
    calls = []

    def logs():
        calls.append(1)
        return {"loss": 1.0}

    stream = FakeTTY()
    bar = ProgressBar(1000, stream=stream, interval=60.0)
    for step in range(1, 1001):
        bar.update(step, logs)
    assert stream.getvalue().count("\r") == 2  # the first step and the last
    assert len(calls) == 2


def test_verbose_2_writes_only_the_summary_line():
    stream = io.StringIO()
    bar = ProgressBar(50, 2, stream=stream, interval=0.0)
    bar.update(10, {"loss": 1.0})
    assert stream.getvalue() == ""
    bar.finish({"accuracy": 0.5, "loss": 0.0001})
    assert re.match(r"^50/50 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.5000 - loss: 1\.0000e-04\n$",
                    stream.getvalue()), stream.getvalue()


def test_verbose_0_is_silent():
    assert run_bar(FakeTTY(), verbose=0) == ""


def test_unknown_target_shows_the_count_then_finishes_as_known():
    stream = FakeTTY()
    bar = ProgressBar(None, stream=stream)
    bar.update(7)
    assert re.match(r"^\r      7/Unknown \d+s \d+(us|ms|s)/step$", stream.getvalue())
    bar.finish()
    assert re.search(r"\r7/7 \S+━{20}\S+ \d+s", stream.getvalue())


def test_ascii_stream_gets_an_ascii_bar():
    text = run_bar(AsciiTTY())
    assert "━" not in text and "=" * 20 in re.sub(r"\x1b\[\d+m", "", text)


def test_a_message_during_a_redrawn_bar_starts_a_new_line():
    stream = FakeTTY()
    with contextlib.redirect_stdout(stream):
        bar = ProgressBar(10, interval=0.0)
        bar.update(3, {"loss": 1.0})
        _progress.print_message("Epoch 1: saving model")
        _progress.print_message("second message")
    assert "loss: 1.0000\nEpoch 1: saving model\nsecond message\n" in stream.getvalue()


def test_a_message_in_a_log_adds_no_blank_line():
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        ProgressBar(10).update(3, {"loss": 1.0})
        _progress.print_message("hello")
    assert stream.getvalue() == "hello\n"


@pytest.mark.parametrize("value, text", [(0.75361, "0.7536"), (-2.5, "-2.5000"),
                                         (0.0005, "5.0000e-04"), (0, "0.0000e+00"),
                                         ("n/a", "n/a")])
def test_metric_format_follows_keras(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize("seconds, text", [(7.9, "7s"), (125, "2:05"), (3725, "1:02:05")])
def test_eta_format(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds, text", [(2.2, "2s/step"), (0.0141, "14ms/step"),
                                           (0.000581, "581us/step")])
def test_rate_format(seconds, text):
    assert format_rate(seconds, "step") == text

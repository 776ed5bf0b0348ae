"""`python -m nerve.demo`, shortened to a few epochs."""
import importlib.util
import re
import subprocess
import sys

import pytest

import nerve

pytest.importorskip("sklearn")

REPORT = re.compile(
    r"   test accuracy: (\d+\.\d\d)% \(C\+\+\), (\d+\.\d\d)% \(NumPy reference\)\n"
    r"   training time: C\+\+ \d+\.\d\d s, NumPy reference \d+\.\d\d s, speed-up \d+\.\dx\n")
CONVNET_REPORT = re.compile(
    r"   test accuracy: (\d+\.\d\d)% \(nerve\), (\d+\.\d\d)% \(NumPy im2col loop\)\n"
    r"   training time: nerve \d+\.\d\d s, NumPy im2col loop \d+\.\d\d s, speed-up \d+\.\dx\n")


def test_demo_trains_both_models_on_both_backends(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "nerve.demo", "--out", str(tmp_path), "--cancer-epochs", "10",
         "--digits-epochs", "5", "--convnet-epochs", "3"], capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert "\r" not in output and "\x1b" not in output  # stdout is a pipe here
    assert "Breast cancer (the DEVELOPERS program)" in output
    assert "455 training / 114 test samples, 30 standardised features" in output
    assert "1437 training / 360 test samples, 64 standardised features" in output
    assert re.search(r"^10/10 ━{20} \d+s \d+(us|ms|s)/epoch - accuracy: \d\.\d{4} - loss: ",
                     output, re.MULTILINE)
    reports = REPORT.findall(output)
    assert len(reports) == 2, output
    for fast, slow in reports:
        # Same seed and weights on both backends: the same result, up to one test sample.
        assert abs(float(fast) - float(slow)) < 1.0
        assert float(fast) >= 85.0
    assert "Handwritten digits, a small convnet" in output
    if hasattr(nerve.layers, "Conv2D"):
        assert "1437 training / 360 test images, 8x8 pixels" in output
        (convnet,) = CONVNET_REPORT.findall(output)
        # The same initial weights, different shuffles: both learn, to about the same point.
        assert min(map(float, convnet)) >= 80.0
    else:
        assert "skipped: this nerve has no Conv2D / MaxPooling2D layers" in output
    if importlib.util.find_spec("matplotlib"):
        plot = tmp_path / "nerve-demo-loss.png"
        assert f"Loss curves: {plot}" in output
        assert plot.read_bytes().startswith(b"\x89PNG")


def test_demo_rejects_a_missing_output_directory(tmp_path):
    result = subprocess.run([sys.executable, "-m", "nerve.demo", "--out",
                             str(tmp_path / "missing")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0 and "is not a directory" in result.stderr

"""`python -m nerve.demo`, shortened to a few epochs."""
import importlib.util
import re
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")

ROW = r"   (nerve|plain NumPy loop|PyTorch \S+) +(\d+\.\d\d)% +\d+\.\d\d ms(   nerve \d+\.\dx (faster|slower))?\n"
TABLE = re.compile(r"   +test accuracy   time per epoch\n((?:" + ROW + r")+)")
TORCH_INSTALLED = importlib.util.find_spec("torch") is not None
NOT_INSTALLED = "   PyTorch: not installed (pip install torch adds it to the comparison)"
SHORT = ["--cancer-epochs", "10", "--digits-epochs", "5", "--convnet-epochs", "3"]


def run_demo(out, *arguments):
    return subprocess.run([sys.executable, "-m", "nerve.demo", "--out", str(out), *arguments],
                          capture_output=True, text=True, timeout=300)


def frameworks_and_accuracies(output):
    """[(framework, accuracy %, speed column)] per task table."""
    return [[(name, float(accuracy), speed) for name, accuracy, speed, _ in
             re.findall(ROW, table[0])] for table in TABLE.findall(output)]


def test_demo_trains_each_network_in_each_framework(tmp_path):
    result = run_demo(tmp_path, *SHORT)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    output = result.stdout
    assert "\r" not in output and "\x1b" not in output  # stdout is a pipe here
    assert "Breast-cancer diagnosis (Wisconsin breast cancer data)" in output
    assert "DEVELOPERS" not in output and "reference" not in output
    assert "455 training / 114 test samples: 30 standardised measurements" in output
    assert "1437 training / 360 test samples: 64 standardised pixels" in output
    assert "1437 training / 360 test samples: 8x8x1 images" in output
    assert re.search(r"^10/10 ━{20} \d+s \d+(us|ms|s)/epoch - loss: ", output, re.MULTILINE)
    tables = frameworks_and_accuracies(output)
    expected = ["nerve", "plain NumPy loop"] + (["PyTorch"] if TORCH_INSTALLED else [])
    assert len(tables) == 3, output
    for rows in tables:
        assert [name.split(" ")[0] if name.startswith("PyTorch") else name
                for name, _, _ in rows] == expected
        assert rows[0][2] == "" and all(speed for _, _, speed in rows[1:])
        # The same initial weights, different shuffles: all learn, to about the same point.
        assert min(accuracy for _, accuracy, _ in rows) >= 75.0
    assert (output.count(NOT_INSTALLED) == 3) != TORCH_INSTALLED
    if importlib.util.find_spec("matplotlib"):
        plot = tmp_path / "nerve-demo.png"
        assert f"Speed, accuracy and loss curves: {plot}" in output
        assert plot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(not TORCH_INSTALLED, reason="the test above covered the demo without torch")
def test_demo_without_torch_says_how_to_add_it(tmp_path, monkeypatch, capsys):
    from nerve import demo, demo_frameworks

    monkeypatch.setattr(demo_frameworks, "torch_version", lambda: None)
    demo.main(["--out", str(tmp_path), "--cancer-epochs", "1", "--digits-epochs", "1",
               "--convnet-epochs", "1"])
    output = capsys.readouterr().out
    assert "PyTorch not installed" in output and output.count(NOT_INSTALLED) == 3
    assert [len(rows) for rows in frameworks_and_accuracies(output)] == [2, 2, 2]


def test_demo_rejects_a_missing_output_directory(tmp_path):
    result = run_demo(tmp_path / "missing")
    assert result.returncode != 0 and "is not a directory" in result.stderr


def test_demo_rejects_zero_epochs(tmp_path):
    result = run_demo(tmp_path, "--digits-epochs", "0")
    assert result.returncode == 2 and "--digits-epochs: expected at least 1" in result.stderr

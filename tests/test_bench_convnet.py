"""bench/convnet.py end to end on a tiny stand-in for mnist.npz (NumPy contender only: no torch,
no ../shared), and its table's ratios."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("threadpoolctl")
BENCH = pathlib.Path(__file__).parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import convnet  # noqa: E402


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    np.savez_compressed(tmp_path / "mnist.npz",
                        x_train=rng.integers(0, 256, (300, 28, 28), dtype=np.uint8),
                        y_train=rng.integers(0, 10, 300, dtype=np.uint8),
                        x_test=rng.integers(0, 256, (150, 28, 28), dtype=np.uint8),
                        y_test=rng.integers(0, 10, 150, dtype=np.uint8))
    return tmp_path


def test_load_scales_and_one_hots(mnist_dir):
    x, y, x_test, y_test = convnet.load(str(mnist_dir), 200, 100)
    assert x.shape == (200, 28, 28, 1) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert y.shape == (200, 10) and np.all(y.sum(axis=1) == 1)
    assert x_test.shape == (100, 28, 28, 1) and y_test.shape == (100,)


def test_the_numpy_contender_runs_and_reports(mnist_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCH / "convnet.py"), "--quick", "--data", str(mnist_dir),
         "--libraries", "numpy", "--threads", "1", "--train-images", "256", "--test-images",
         "128", "--json", str(tmp_path / "out.json")], capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "256 training / 128 test images, batch 128, 1 round(s)" in out
    assert "| measure | threads | numpy |" in out
    for label, _, _, _ in convnet.ROWS:
        assert f"| {label} | 1 |" in out
    assert "FMA peak float32 1T" in out and "numpy 2." in out
    assert (tmp_path / "out.json").exists()


def test_table_gives_nerves_advantage_over_each_peer():
    def child(seconds, accuracy, rate, rss):
        return dict(seconds=seconds, cpu_seconds=seconds, accuracy=accuracy, predict_images_per_s=rate,
                    latency_ms=1.0, peak_rss_mib=rss, conv2_gflops=50.0, version="x")

    report = {"settings": {}, "skipped": {}, "results": [{
        "threads": 1, "peak_gflops": 100.0,
        "nerve": [child(2.0, 0.95, 3000, 100), child(4.0, 0.95, 3000, 100),
                  child(3.0, 0.95, 3000, 100)],
        "torch": [child(6.0, 0.94, 1000, 400)] * 3,
        "numpy": [child(9.0, 0.96, 1500, 200)] * 3}]}
    lines = convnet.table(report).splitlines()
    assert lines[0] == ("| measure | threads | nerve | torch | numpy | nerve vs torch "
                        "| nerve vs numpy |")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert rows["train 1 epoch, s"].endswith("| 3.00 | 6.00 | 9.00 | 2.00x | 3.00x |")
    assert rows["test accuracy, %"].endswith("| +1.00 pt | -1.00 pt |")
    assert rows["predict, images/s (batch 128)"].endswith("| 3.00x | 2.00x |")
    assert rows["peak RSS of the epoch, MiB"].endswith("| 4.00x | 2.00x |")
    assert "| 50% | 50% | 50% |" in rows["conv2 forward, % of float32 FMA peak"]

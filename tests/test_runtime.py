"""Threads, instruction-set selection and build facts."""
import os
import subprocess
import sys

import pytest

import nerve


def run_python(code, **env):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, check=True)
    return result.stdout.strip()


def test_build_info_reports_the_build():
    info = nerve.build_info()
    assert info["version"] == nerve.__version__
    assert isinstance(info["openmp"], bool)
    assert set(info["isa_compiled"]) >= {"baseline", "avx2"}
    assert info["isa_selected"] in info["isa_supported"]
    assert info["num_threads"] == nerve.get_num_threads()
    assert info["backend"] in ("cpp", "numpy")


def test_set_num_threads_round_trips_and_validates():
    before = nerve.get_num_threads()
    try:
        nerve.set_num_threads(1)
        assert nerve.get_num_threads() == 1
        nerve.set_num_threads(10_000)  # capped at the CPUs this process may use
        assert 1 <= nerve.get_num_threads() <= os.cpu_count()
    finally:
        nerve.set_num_threads(before)
    with pytest.raises(ValueError, match="n: expected a thread count >= 1"):
        nerve.set_num_threads(0)
    with pytest.raises(TypeError, match="n: expected an int"):
        nerve.set_num_threads(1.5)


def test_omp_num_threads_is_honoured():
    assert run_python("import nerve; print(nerve.get_num_threads())", OMP_NUM_THREADS="1") == "1"


def test_environment_forces_the_baseline_instruction_set():
    code = "import nerve; print(nerve.build_info()['isa_selected'])"
    assert run_python(code, NERVE_ISA="baseline") == "baseline"
    expected = "avx2" if "avx2" in nerve.build_info()["isa_supported"] else "baseline"
    assert run_python(code) == expected


def test_set_isa_rejects_unknown_names():
    with pytest.raises(ValueError, match="name: expected 'baseline' or 'avx2'"):
        nerve._core.set_isa("sse9")


def test_backend_switch_and_context_manager():
    assert nerve.backend_name() == "cpp"
    with nerve.use_backend("numpy") as backend:
        assert nerve.backend_name() == "numpy" and backend is nerve.get_backend()
    assert nerve.backend_name() == "cpp"
    with pytest.raises(ValueError, match="backend: expected one of"):
        nerve.set_backend("torch")
    assert run_python("import nerve; print(nerve.backend_name())", NERVE_BACKEND="numpy") == "numpy"

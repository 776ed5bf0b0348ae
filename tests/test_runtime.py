"""Threads, instruction-set selection and build facts."""
import os
import platform
import subprocess
import sys

import pytest

import nerve


# The instruction sets each architecture compiles (cpp/cpu.h's kAllIsas), the widest last.
COMPILED = {"x86_64": ["baseline", "avx2", "avx512"], "AMD64": ["baseline", "avx2", "avx512"],
            "aarch64": ["baseline", "neon"], "arm64": ["baseline", "neon"]}
COMPILED_HERE = COMPILED.get(platform.machine(), ["baseline"])


def run_python(code, **env):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, check=True)
    return result.stdout.strip()


def test_build_info_reports_the_build():
    info = nerve.build_info()
    assert info["version"] == nerve.__version__
    assert isinstance(info["openmp"], bool)
    assert info["isa_compiled"] == COMPILED_HERE
    assert info["isa_supported"][0] == "baseline"
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


SELECTED = "import nerve; print(nerve.build_info()['isa_selected'])"


@pytest.mark.parametrize("isa", ["baseline", "avx2", "avx512", "neon"])
def test_environment_selects_each_instruction_set_the_cpu_runs(isa):
    if isa not in nerve.build_info()["isa_supported"]:
        pytest.skip(f"this CPU cannot run {isa}")
    assert run_python(SELECTED, NERVE_ISA=isa) == isa


def test_the_widest_supported_instruction_set_is_the_default():
    supported = nerve.build_info()["isa_supported"]
    widest = [isa for isa in reversed(COMPILED_HERE) if isa in supported][0]
    assert run_python(SELECTED, NERVE_ISA="") == widest


def supported_names():
    return ", ".join(f"'{isa}'" for isa in nerve.build_info()["isa_supported"])


def test_a_misspelt_nerve_isa_fails_the_import_with_the_choices():
    result = subprocess.run([sys.executable, "-c", "import nerve"], capture_output=True, text=True,
                            env={**os.environ, "NERVE_ISA": "avx-512"})
    assert result.returncode != 0
    assert "ImportError: NERVE_ISA: expected one of " + supported_names() in result.stderr
    assert "received 'avx-512'" in result.stderr


def test_an_instruction_set_the_cpu_lacks_fails_the_import():
    missing = [isa for isa in COMPILED_HERE if isa not in nerve.build_info()["isa_supported"]]
    if not missing:
        pytest.skip("this CPU runs every instruction set nerve has")
    result = subprocess.run([sys.executable, "-c", "import nerve"], capture_output=True, text=True,
                            env={**os.environ, "NERVE_ISA": missing[0]})
    assert result.returncode != 0
    assert f"this CPU cannot run '{missing[0]}'; it runs {supported_names()}" in result.stderr


def test_set_isa_rejects_unknown_names():
    with pytest.raises(ValueError, match="name: expected one of 'baseline'"):
        nerve._core.set_isa("sse9")


def test_backend_switch_and_context_manager():
    assert nerve.backend_name() == "cpp"
    with nerve.use_backend("numpy") as backend:
        assert nerve.backend_name() == "numpy" and backend is nerve.get_backend()
    assert nerve.backend_name() == "cpp"
    with pytest.raises(ValueError, match="backend: expected one of"):
        nerve.set_backend("torch")
    assert run_python("import nerve; print(nerve.backend_name())", NERVE_BACKEND="numpy") == "numpy"

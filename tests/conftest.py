"""Fixtures shared by the kernel tests: every kernel runs on both dtypes, on 1 and 2 threads
and on every instruction-set path this CPU supports, and is compared with nerve.reference."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from nerve import _core

# The machines are shared and noisy: no per-example deadline; a fixed example budget.
settings.register_profile("nerve", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
# CI (.ci/run sets NERVE_HYPOTHESIS_PROFILE=ci) replays the same examples every run, so a
# landing never hangs on a lucky draw; developers' runs keep exploring new ones.
settings.register_profile("ci", parent=settings.get_profile("nerve"), derandomize=True)
settings.load_profile(os.environ.get("NERVE_HYPOTHESIS_PROFILE", "nerve"))

# Every instruction set a kernel has; the ones this CPU cannot run are skipped with a reason,
# so the report shows which paths a run left untested.
_BUILD = _core.build_info()
ISAS = [pytest.param(isa, marks=pytest.mark.skipif(
            isa not in _BUILD["isa_supported"] or isa not in _BUILD["isa_compiled"],
            reason=f"this CPU or build cannot run the {isa} path"))
        for isa in ("baseline", "avx2", "avx512")]


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    _core.set_num_threads(request.param)
    yield request.param
    _core.reset_num_threads()


@pytest.fixture(params=ISAS)
def isa(request):
    before = _core.get_isa()
    _core.set_isa(request.param)
    yield request.param
    _core.set_isa(before)

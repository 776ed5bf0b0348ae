"""The calls a training step makes into nerve._core, and nerve.ops.matmul on small arrays,
allocate nothing on the C++ heap: no argument check builds a string or a vector, no array is
converted, no dtype object is made. Counted by a malloc / operator new shim preloaded into a
child interpreter, which tells C++ allocations (called from nerve's extension or from
libstdc++ on its behalf) from those of Python and NumPy by the caller's address."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not (shutil.which("cc") or shutil.which("gcc")),
    reason="the counting shim is built with the C compiler and preloaded (Linux, glibc)")

SHIM = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
static volatile int counting;
static uintptr_t starts[16], ends[16];
static int ranges;
static long counted;
void count_from(uintptr_t start, uintptr_t end) {
  if (ranges < 16) { starts[ranges] = start; ends[ranges] = end; ranges++; }
}
void count_start(void) { counted = 0; counting = 1; }
long count_stop(void) { counting = 0; return counted; }
static void note(void* caller) {
  if (!counting) return;
  for (int i = 0; i < ranges; i++)
    if ((uintptr_t)caller >= starts[i] && (uintptr_t)caller < ends[i]) { counted++; return; }
}
#define CALLER __builtin_return_address(0)
void* malloc(size_t n) { note(CALLER); return __libc_malloc(n); }
void* calloc(size_t n, size_t m) { note(CALLER); return __libc_calloc(n, m); }
void* realloc(void* p, size_t n) { note(CALLER); return __libc_realloc(p, n); }
void* aligned_alloc(size_t a, size_t n) { note(CALLER); return __libc_memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n) {
  note(CALLER);
  void* p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void* _Znwm(size_t n) { note(CALLER); return __libc_malloc(n ? n : 1); }
void* _Znam(size_t n) { note(CALLER); return __libc_malloc(n ? n : 1); }
void* _ZnwmSt11align_val_t(size_t n, size_t a) { note(CALLER); return __libc_memalign(a, n ? n : 1); }
"""

# Runs in the child: each case is called a few times to warm up (plans, kernel workspaces),
# then CALLS times while counting; prints {case: allocations per call}.
CHILD = r"""
import ctypes, json, sys
import numpy as np
import nerve
import nerve.ops as ops
from nerve import _core
from nerve.layers import Dense
from nerve.models import Sequential

shim = ctypes.CDLL(sys.argv[1])
for line in open("/proc/self/maps"):
    path = line.split()[-1]
    if ("nerve" in path and "_core" in path) or "libstdc++" in path:
        start, end = (int(v, 16) for v in line.split()[0].split("-"))
        shim.count_from(ctypes.c_size_t(start), ctypes.c_size_t(end))
shim.count_stop.restype = ctypes.c_long

rng = np.random.default_rng(0)
x = rng.standard_normal((60, 8)).astype(np.float32)
y = (rng.random((60, 1)) > 0.5).astype(np.float32)
model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
a = rng.standard_normal((10, 8)).astype(np.float32)
b = rng.standard_normal((8, 10)).astype(np.float32)
c = np.empty((10, 10), np.float32)

CALLS = 50
cases = {
    "fit epoch (6 steps of 10 rows)": lambda: model.fit(x, y, epochs=1, batch_size=10, verbose=0),
    "nerve.ops.matmul 10x8 @ 8x10": lambda: ops.matmul(a, b),
    "nerve.ops.matmul of transposed views": lambda: ops.matmul(b.T, a.T),
    "_core.gemm": lambda: _core.gemm(c, a, b, trans_a=False, alpha=1.0),
    "_core.matmul": lambda: _core.matmul(a, b),
}
result = {}
for name, call in cases.items():
    for _ in range(5):
        call()
    shim.count_start()
    for _ in range(CALLS):
        call()
    result[name] = shim.count_stop() / CALLS
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shim")
    source, library = folder / "count_alloc.c", folder / "count_alloc.so"
    source.write_text(SHIM)
    compiler = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)],
                   check=True, capture_output=True)
    return library


def test_training_steps_and_small_matmuls_allocate_nothing_in_cpp(shim):
    env = dict(os.environ, LD_PRELOAD=str(shim), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), str(shim)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    per_call = json.loads(out.stdout.strip().splitlines()[-1])
    assert per_call == {name: 0.0 for name in per_call}, per_call

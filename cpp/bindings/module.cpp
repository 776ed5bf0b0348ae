// nerve._core: the C++ backend. Runtime settings (threads, instruction set, build facts)
// are bound here; each kernel family registers its own functions.
#include <pybind11/pybind11.h>

#include "checks.h"
#include "cpu.h"
#include "parallel.h"
#include "register.h"

#ifndef NERVE_VERSION
#define NERVE_VERSION "dev"
#endif
#ifndef NERVE_COMPILER
#define NERVE_COMPILER "unknown"
#endif

namespace py = pybind11;
using namespace nerve;

PYBIND11_MODULE(_core, m) {
  m.doc() = "nerve's C++ kernels (see nerve.reference for the NumPy twin of every function)";
  // A NERVE_ISA the CPU cannot run, or a typo, fails the import (pybind11 raises ImportError).
  const std::string isa_error = init_isa_from_environment();
  if (!isa_error.empty()) throw std::runtime_error(isa_error);
  m.attr("__version__") = NERVE_VERSION;  // for the import: build_info() would start threads

  // Raised as a RuntimeWarning; under an "error" filter it is printed instead, since it comes
  // from inside a kernel that cannot stop halfway.
  set_thread_warning_handler([](const char* message) {
    py::gil_scoped_acquire gil;
    if (PyErr_WarnEx(PyExc_RuntimeWarning, message, 1) < 0) PyErr_WriteUnraisable(nullptr);
  });
  m.def("get_num_threads", &get_num_threads,
        "Threads the kernels use on this thread: nerve's count, lowered by an OpenMP limit "
        "set on this thread (threadpoolctl), or 1 when threads cannot be created.");
  m.def("set_num_threads", [](int n) {
    if (n < 1) bind::raise_value("n", "a thread count >= 1", std::to_string(n));
    set_num_threads(n);
  }, py::arg("n"), "Use up to n threads (capped at the CPUs available to this process).");
  m.def("reset_num_threads", [] { set_num_threads(0); },
        "Back to the default: OMP_NUM_THREADS, else the CPU count.");
  m.def("get_isa", [] { return isa_name(active_isa()); }, "Instruction set the kernels run.");
  m.def("set_isa", [](const std::string& name) {
    Isa isa;
    if (!isa_from_name(name, &isa) || !set_isa(isa))
      bind::raise_value("name", "one of " + runnable_isa_names() + " (this CPU's)", "'" + name + "'");
  }, py::arg("name"), "Switch instruction set (for tests and benchmarks).");
  m.def("build_info", [] {
    py::dict info;
    info["version"] = NERVE_VERSION;
    info["compiler"] = NERVE_COMPILER;
    info["openmp"] = openmp_enabled();
    py::list compiled, supported;
    for (Isa isa : kAllIsas) {
      if (isa_compiled(isa)) compiled.append(isa_name(isa));
      if (cpu_supports(isa)) supported.append(isa_name(isa));
    }
    info["isa_compiled"] = compiled;
    info["isa_supported"] = supported;
    info["isa_selected"] = isa_name(active_isa());
    info["num_threads"] = get_num_threads();
    info["available_cpus"] = available_cpus();
    return info;
  }, "Facts about this build and the running configuration.");

  m.def("_fma_peak_probe", [](int64_t iterations, int threads, bool f64) {
    if (iterations < 0) bind::raise_value("iterations", ">= 0", std::to_string(iterations));
    if (threads < 1) bind::raise_value("threads", ">= 1", std::to_string(threads));
    py::gil_scoped_release release;
    return fma_peak_probe(iterations, threads, f64);
  }, py::arg("iterations"), py::arg("threads") = 1, py::arg("f64") = false,
     "Floating-point operations done by independent FMA chains (time it for the peak).");

  bind::register_matmul(m);
  bind::register_activations(m);
  bind::register_loss(m);
  bind::register_optim(m);
  bind::register_conv(m);
  bind::register_normalization(m);
  bind::register_embedding(m);
  bind::register_pooling(m);
}

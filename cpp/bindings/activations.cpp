// Bindings for cpp/activations.h.
#include "checks.h"
#include "register.h"

namespace nerve::bind {
void register_activations(pybind11::module_& m) { (void)m; }
}  // namespace nerve::bind

// Bindings for cpp/optim.h.
#include "checks.h"
#include "register.h"

namespace nerve::bind {
void register_optim(pybind11::module_& m) { (void)m; }
}  // namespace nerve::bind

// Bindings for cpp/loss.h.
#include "checks.h"
#include "register.h"

namespace nerve::bind {
void register_loss(pybind11::module_& m) { (void)m; }
}  // namespace nerve::bind

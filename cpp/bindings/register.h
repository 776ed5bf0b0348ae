// Each family's bindings live in their own file and add themselves to the module here.
#pragma once

#include <pybind11/pybind11.h>

namespace nerve::bind {
void register_matmul(pybind11::module_& m);
void register_activations(pybind11::module_& m);
void register_loss(pybind11::module_& m);
void register_optim(pybind11::module_& m);
void register_conv(pybind11::module_& m);
void register_normalization(pybind11::module_& m);
void register_embedding(pybind11::module_& m);
void register_pooling(pybind11::module_& m);
}  // namespace nerve::bind

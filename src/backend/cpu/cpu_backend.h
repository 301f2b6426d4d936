// The CPU backend: oneDNN primitives for conv, pooling, batch norm, inner product, eltwise and
// softmax; vectorized loops for the rest. dnnl.hpp stays inside backend/cpu/*.cpp.
#pragma once

#include "backend/backend.h"

#include <memory>

namespace convkit::backend::cpu {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace convkit::backend::cpu

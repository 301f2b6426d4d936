// Host memory operations and the OpenMP execution context of the host backends.
#include "backend/cpu/host_backend.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

namespace convkit::backend::cpu {

namespace {
// Elements below which a loop runs on the calling thread (fork/join costs more than the work).
constexpr std::int64_t kParallelElements = 32768;

void check_host(const Tensor& t, const char* op) {
  if (!t.device().is_host())
    fail("host backend {}: the {} tensor lives on {}, which host loops cannot touch", op,
         t.shape().str(), t.device().str());
  if (!t.is_contiguous())
    fail("host backend {}: the {} tensor is not contiguous", op, t.shape().str());
}

void check_same(const Tensor& dst, const Tensor& src, const char* op) {
  if (dst.shape() != src.shape() || dst.dtype() != src.dtype())
    fail("host backend {}: {} {} and {} {} differ", op, name_of(dst.dtype()), dst.shape().str(),
         name_of(src.dtype()), src.shape().str());
  check_host(dst, op);
  check_host(src, op);
}
}  // namespace

Buffer HostBackend::allocate(std::size_t bytes) {
  return Buffer::host(bytes);
}

void HostBackend::fill(const Tensor& dst, float value) {
  check_host(dst, "fill");
  float* d = dst.data<float>();
  std::fill(d, d + dst.numel(), value);
}

void HostBackend::copy(const Tensor& dst, const Tensor& src) {
  check_same(dst, src, "copy");
  std::memcpy(dst.raw(), src.raw(), dst.nbytes());
}

void HostBackend::accumulate(const Tensor& dst, const Tensor& src) {
  check_same(dst, src, "accumulate");
  float* d = dst.data<float>();
  const float* x = src.data<float>();
  const std::int64_t n = dst.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelElements)
  for (std::int64_t j = 0; j < n; ++j) d[j] += x[j];
}

int HostBackend::enter(int threads) {
  const int saved = threads > 0 ? omp_get_max_threads() : 0;
  if (threads > 0 && threads != saved) omp_set_num_threads(threads);
  return saved;
}

int HostBackend::threads() const {
  return omp_get_max_threads();
}

void HostBackend::leave(int saved) {
  if (saved > 0 && saved != omp_get_max_threads()) omp_set_num_threads(saved);
}

}  // namespace convkit::backend::cpu

// HostBackend: what every backend on host memory shares, the "cpu" and the "reference" backend:
// aligned host buffers, fill/copy/accumulate as (OpenMP) loops, and the OpenMP team size as the
// execution context. Kernels are the subclasses' business.
#pragma once

#include "backend/backend.h"

namespace convkit::backend::cpu {

class HostBackend : public Backend {
 public:
  Device device() const override { return Device::host(); }
  Buffer allocate(std::size_t bytes) override;
  void fill(const Tensor& dst, float value) override;
  void copy(const Tensor& dst, const Tensor& src) override;
  void accumulate(const Tensor& dst, const Tensor& src) override;
  // Sets the calling thread's OpenMP team size (oneDNN sizes its kernels' work split from it
  // when a primitive is created, and forks that many threads when it runs); leave() restores it.
  int enter(int threads) override;
  int threads() const override;
  void leave(int saved) override;
};

}  // namespace convkit::backend::cpu

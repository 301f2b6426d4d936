// Device: where a tensor's memory lives. Host memory is what the CPU (and every reference
// kernel) reads and writes directly; a device memory (CUDA, index = the GPU) only its backend
// can touch. Tensors are host tensors unless a backend made them.
#pragma once

#include <cstdint>
#include <string>

namespace convkit {

enum class DeviceKind : std::uint8_t { Host, Cuda };

struct Device {
  DeviceKind kind = DeviceKind::Host;
  int index = 0;  // which device of its kind (0 for the host)

  static constexpr Device host() { return {}; }
  static constexpr Device cuda(int index = 0) { return {DeviceKind::Cuda, index}; }
  constexpr bool is_host() const { return kind == DeviceKind::Host; }
  std::string str() const;  // "host", "cuda:0"
  friend constexpr bool operator==(const Device&, const Device&) = default;
};

}  // namespace convkit

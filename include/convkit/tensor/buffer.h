// Buffer: one block of memory on one device, as a backend allocated it (the memory of a plan's
// arena, of a parameter block). The backend supplies the deleter, so freeing goes back to the
// allocator that made it (aligned_alloc on the host, later cudaFree). Copying a Buffer shares
// the block. Views are tensors tagged with the buffer's device.
#pragma once

#include <convkit/tensor/device.h>
#include <convkit/tensor/tensor.h>

#include <cstddef>
#include <memory>

namespace convkit {

constexpr std::size_t kAlignment = 64;

constexpr std::size_t align_up(std::size_t bytes, std::size_t alignment = kAlignment) {
  return (bytes + alignment - 1) / alignment * alignment;
}

class Buffer {
 public:
  Buffer() = default;
  // Adopts `memory` (`size` bytes on `device`, kAlignment-aligned); its deleter frees it.
  Buffer(std::shared_ptr<std::byte> memory, std::size_t size, Device device);

  // Host memory from the host allocator: kAlignment-aligned, the size rounded up to it, zeroed
  // unless `zeroed` is false.
  static Buffer host(std::size_t bytes, bool zeroed = true);

  std::byte* data() const { return memory_.get(); }
  std::size_t size() const { return size_; }
  Device device() const { return device_; }
  const std::shared_ptr<std::byte>& memory() const { return memory_; }

  // A contiguous view at `offset` bytes (aligned to kAlignment and in range), on this device.
  // Borrowed: the buffer must outlive it.
  Tensor view(std::size_t offset, const Shape& shape, DType dtype = DType::f32) const;

 private:
  std::shared_ptr<std::byte> memory_;
  std::size_t size_ = 0;
  Device device_;
};

}  // namespace convkit

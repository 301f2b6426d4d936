// Buffers (device memory blocks), the host allocator, arenas and device names.
#include <convkit/tensor/arena.h>
#include <convkit/tensor/buffer.h>
#include <convkit/tensor/device.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace convkit {

std::string Device::str() const {
  switch (kind) {
    case DeviceKind::Host:
      return "host";
    case DeviceKind::Cuda:
      return fmt::format("cuda:{}", index);
  }
  return "unknown device";
}

Buffer::Buffer(std::shared_ptr<std::byte> memory, std::size_t size, Device device)
    : memory_(std::move(memory)), size_(size), device_(device) {
  if (!memory_ && size_ > 0)
    fail("a buffer of {} bytes on {} without memory", size_, device_.str());
}

Buffer Buffer::host(std::size_t bytes, bool zeroed) {
  const std::size_t size = align_up(std::max<std::size_t>(bytes, 1));
  auto* p = static_cast<std::byte*>(std::aligned_alloc(kAlignment, size));
  if (!p) fail("out of memory allocating {} bytes of host memory", size);
  if (zeroed) std::memset(p, 0, size);
  return Buffer(std::shared_ptr<std::byte>(p, [](std::byte* q) { std::free(q); }), size,
                Device::host());
}

Tensor Buffer::view(std::size_t offset, const Shape& shape, DType dtype) const {
  const std::size_t bytes = static_cast<std::size_t>(shape.numel()) * size_of(dtype);
  if (offset % kAlignment != 0 || offset + bytes > size_)
    fail("arena view at offset {} of {} bytes exceeds the arena ({} bytes)", offset, bytes, size_);
  return Tensor::wrap(memory_.get() + offset, shape, dtype, device_);
}

void Arena::reserve(std::size_t bytes) {
  buffer_ = Buffer();  // free the old block first: peak memory is one block, not two
  buffer_ = Buffer::host(bytes);
}

}  // namespace convkit

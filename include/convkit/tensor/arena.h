// Arena: one 64-byte-aligned block carved into tensors at planned offsets. Parameters,
// gradients, optimizer state and activations each live in one arena, so a training step
// allocates nothing and optimizers/all-reduce can sweep one flat buffer. reserve() takes host
// memory; an arena over a backend's Buffer (a plan's activations) lives on that backend's device.
#pragma once

#include <convkit/tensor/buffer.h>
#include <convkit/tensor/tensor.h>

#include <cstddef>
#include <utility>

namespace convkit {

class Arena {
 public:
  Arena() = default;
  explicit Arena(std::size_t bytes) { reserve(bytes); }
  // Over memory a backend allocated (Backend::allocate); views are on its device.
  explicit Arena(Buffer buffer) : buffer_(std::move(buffer)) {}
  // Move-only: a copy would alias the block (copy the Buffer to share it on purpose).
  Arena(Arena&&) noexcept = default;
  Arena& operator=(Arena&&) noexcept = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // (Re)allocates the block in host memory, zeroed. Views made before are invalidated.
  void reserve(std::size_t bytes);
  std::size_t size() const { return buffer_.size(); }
  std::byte* base() const { return buffer_.data(); }
  Device device() const { return buffer_.device(); }
  const Buffer& buffer() const { return buffer_; }

  // A view at `offset` bytes (must be aligned and in range).
  Tensor view(std::size_t offset, const Shape& shape, DType dtype = DType::f32) const {
    return buffer_.view(offset, shape, dtype);
  }

 private:
  Buffer buffer_;
};

// Hands out consecutive aligned offsets; used to lay out an arena before reserving it.
class ArenaLayout {
 public:
  std::size_t add(std::size_t bytes) {
    std::size_t offset = size_;
    size_ += align_up(bytes);
    return offset;
  }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
};

}  // namespace convkit

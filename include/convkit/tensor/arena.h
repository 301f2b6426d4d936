// Arena: one 64-byte-aligned block carved into tensors at planned offsets. Parameters,
// gradients, optimizer state and activations each live in one arena, so a training step
// allocates nothing and optimizers/all-reduce can sweep one flat buffer.
#pragma once

#include <convkit/tensor/tensor.h>

#include <cstddef>
#include <memory>

namespace convkit {

constexpr std::size_t kAlignment = 64;

constexpr std::size_t align_up(std::size_t bytes, std::size_t alignment = kAlignment) {
  return (bytes + alignment - 1) / alignment * alignment;
}

class Arena {
 public:
  Arena() = default;
  explicit Arena(std::size_t bytes) { reserve(bytes); }

  // (Re)allocates the block, zeroed. Views made before are invalidated.
  void reserve(std::size_t bytes);
  std::size_t size() const { return size_; }
  std::byte* base() const { return base_.get(); }

  // A view at `offset` bytes (must be aligned and in range).
  Tensor view(std::size_t offset, const Shape& shape, DType dtype = DType::f32) const;

 private:
  struct Free {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, Free> base_;
  std::size_t size_ = 0;
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

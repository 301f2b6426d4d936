// Shape: the dimensions of a tensor, outermost first. Image tensors are [N, C, H, W]
// (N = batch, C = channels, H = height, W = width); dim 0 is the batch for every op.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace convkit {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  std::int64_t numel() const;
  // Dimension i; negative i counts from the end (-1 is the last).
  std::int64_t operator[](int i) const { return dims_[i < 0 ? i + rank() : i]; }
  std::int64_t& operator[](int i) { return dims_[i < 0 ? i + rank() : i]; }
  const std::vector<std::int64_t>& dims() const { return dims_; }

  // This shape with dim 0 (the batch) replaced.
  Shape with_batch(std::int64_t n) const;
  // Product of dims from `from` to the end.
  std::int64_t numel_from(int from) const;

  std::string str() const;  // "[8, 1, 28, 28]"
  friend bool operator==(const Shape&, const Shape&) = default;

 private:
  std::vector<std::int64_t> dims_;
};

// Row-major (C-contiguous) strides, in elements.
std::vector<std::int64_t> contiguous_strides(const Shape& shape);

}  // namespace convkit

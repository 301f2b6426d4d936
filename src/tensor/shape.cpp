// Shape helpers: element counts, strides and printing.
#include <convkit/tensor/shape.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace convkit {

std::int64_t Shape::numel() const {
  return numel_from(0);
}

std::int64_t Shape::numel_from(int from) const {
  std::int64_t n = 1;
  for (int i = from; i < rank(); ++i) n *= dims_[i];
  return n;
}

Shape Shape::with_batch(std::int64_t n) const {
  Shape s = *this;
  if (s.rank() > 0) s.dims_[0] = n;
  return s;
}

std::string Shape::str() const {
  return fmt::format("[{}]", fmt::join(dims_, ", "));
}

std::vector<std::int64_t> contiguous_strides(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.rank());
  std::int64_t s = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

}  // namespace convkit

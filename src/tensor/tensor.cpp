// Tensor storage, views and elementwise helpers.
#include <convkit/tensor/buffer.h>
#include <convkit/tensor/tensor.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace convkit {

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (auto d : shape.dims())
    if (d < 0) fail("cannot allocate a tensor of shape {}", shape.str());
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.owner_ = Buffer::host(t.nbytes(), /*zeroed=*/false).memory();
  t.data_ = t.owner_.get();
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape, DType::f32);
  t.fill(value);
  return t;
}

Tensor Tensor::wrap(void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.data_ = data;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  return t;
}

Tensor Tensor::adopt(std::shared_ptr<void> owner, void* data, const Shape& shape, DType dtype) {
  Tensor t = wrap(data, shape, dtype);
  t.owner_ = std::move(owner);
  return t;
}

bool Tensor::is_contiguous() const {
  // Without building the strides vector: this runs on hot paths (copy_from every step).
  std::int64_t expected = 1;
  for (int i = shape_.rank() - 1; i >= 0; --i) {
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void Tensor::check_dtype(DType want) const {
  if (want != dtype_)
    fail("tensor holds {} elements, accessed as {}", name_of(dtype_), name_of(want));
}

void Tensor::check_host(const char* what) const {
  if (!device_.is_host())
    fail(
        "Tensor::{} reads host memory, but this {} tensor lives on {} (use its backend's memory "
        "operations)",
        what, shape_.str(), device_.str());
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (!is_contiguous()) fail("reshape of a non-contiguous tensor {}", shape_.str());
  if (shape.numel() != numel())
    fail("cannot reshape {} ({} elements) to {} ({} elements)", shape_.str(), numel(), shape.str(),
         shape.numel());
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::slice(std::int64_t begin, std::int64_t end) const {
  if (rank() == 0 || begin < 0 || end > shape_[0] || begin > end)
    fail("slice [{}, {}) out of range for shape {}", begin, end, shape_.str());
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.data_ = static_cast<std::byte*>(data_) + begin * strides_[0] * size_of(dtype_);
  return t;
}

Tensor Tensor::clone() const {
  check_host("clone");
  Tensor t = empty(shape_, dtype_);
  t.copy_from(*this);
  return t;
}

void Tensor::fill(float value) const {
  check_host("fill");
  float* p = data<float>();
  std::fill(p, p + numel(), value);
}

void Tensor::zero() const {
  check_host("zero");
  std::memset(data_, 0, nbytes());
}

void Tensor::copy_from(const Tensor& src) const {
  if (src.shape_ != shape_ || src.dtype_ != dtype_)
    fail("copy from {} {} into {} {}", name_of(src.dtype_), src.shape_.str(), name_of(dtype_),
         shape_.str());
  if (!is_contiguous() || !src.is_contiguous()) fail("copy between non-contiguous tensors");
  check_host("copy_from");
  src.check_host("copy_from");
  std::memcpy(data_, src.data_, nbytes());
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    fail("max_abs_diff: shapes {} and {} differ", a.shape().str(), b.shape().str());
  if (!a.device().is_host() || !b.device().is_host())
    fail("max_abs_diff reads host memory, got tensors on {} and {}", a.device().str(),
         b.device().str());
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  float m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    float d = std::fabs(x[i] - y[i]);
    if (std::isnan(d)) return d;
    m = std::max(m, d);
  }
  return m;
}

}  // namespace convkit

// Tensor: a typed, strided view over shared storage. Copying a Tensor copies the view, not the
// data. Storage is either owned (64-byte aligned heap block) or borrowed from an Arena. A tensor
// knows the device its memory lives on: host unless a backend's buffer made it (Buffer::view);
// the element helpers below (fill, zero, copy_from, clone) touch host memory only.
#pragma once

#include <convkit/tensor/device.h>
#include <convkit/tensor/dtype.h>
#include <convkit/tensor/shape.h>
#include <convkit/util/error.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace convkit {

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  // A new contiguous tensor with uninitialized (empty) or zeroed (zeros) memory.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, float value);
  // A contiguous view over memory owned by someone else (an Arena); it must outlive the view.
  static Tensor wrap(void* data, const Shape& shape, DType dtype = DType::f32, Device device = {});
  // A contiguous view over host memory that `owner` keeps alive (a memory-mapped file).
  static Tensor adopt(std::shared_ptr<void> owner, void* data, const Shape& shape, DType dtype);

  bool defined() const { return data_ != nullptr; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  std::int64_t numel() const { return shape_.numel(); }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int i) const { return shape_[i]; }
  const std::vector<std::int64_t>& strides() const { return strides_; }
  bool is_contiguous() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * size_of(dtype_); }

  void* raw() const { return data_; }
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>::value);
    return static_cast<T*>(data_);
  }

  // Same memory, another shape with the same element count (contiguous tensors only).
  Tensor reshape(const Shape& shape) const;
  // Rows [begin, end) of dim 0, sharing memory.
  Tensor slice(std::int64_t begin, std::int64_t end) const;
  // A contiguous deep copy.
  Tensor clone() const;

  // Host memory only (an Error names the device otherwise; a backend fills and copies its own).
  void fill(float value) const;             // f32 only
  void zero() const;                        // any dtype
  void copy_from(const Tensor& src) const;  // same shape and dtype; both contiguous

 private:
  void check_dtype(DType want) const;
  void check_host(const char* what) const;

  std::shared_ptr<void> owner_;  // keeps owned storage alive; null for borrowed views
  void* data_ = nullptr;
  Shape shape_;
  std::vector<std::int64_t> strides_;
  DType dtype_ = DType::f32;
  Device device_;
};

// Largest |a - b| over all elements (f32 tensors of one shape).
float max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace convkit

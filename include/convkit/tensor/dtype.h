// Element types a Tensor can hold. f32 is the compute type; bf16 is storage for mixed
// precision; u8 holds raw images; i32 holds class labels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace convkit {

enum class DType : std::uint8_t { f32, bf16, u8, i32 };

constexpr std::size_t size_of(DType t) {
  switch (t) {
    case DType::f32:
      return 4;
    case DType::bf16:
      return 2;
    case DType::u8:
      return 1;
    case DType::i32:
      return 4;
  }
  return 0;
}

constexpr std::string_view name_of(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::bf16:
      return "bf16";
    case DType::u8:
      return "u8";
    case DType::i32:
      return "i32";
  }
  return "?";
}

// Maps a C++ element type to its DType (for Tensor::data<T>() checks).
template <typename T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct dtype_of<std::uint8_t> {
  static constexpr DType value = DType::u8;
};
template <>
struct dtype_of<std::int32_t> {
  static constexpr DType value = DType::i32;
};

// bfloat16 as stored bits; conversions round to nearest even.
struct bf16 {
  std::uint16_t bits = 0;
};
template <>
struct dtype_of<bf16> {
  static constexpr DType value = DType::bf16;
};

bf16 to_bf16(float x);
float from_bf16(bf16 x);

}  // namespace convkit

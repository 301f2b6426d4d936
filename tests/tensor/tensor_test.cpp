// Tensor views, arenas and dtypes: shapes, strides, alignment and the errors for misuse.
#include <convkit/tensor/arena.h>
#include <convkit/tensor/init.h>
#include <convkit/tensor/tensor.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace convkit {
namespace {

TEST(ShapeTest, CountsStridesAndPrints) {
  Shape s{8, 3, 28, 28};
  EXPECT_EQ(s.numel(), 8 * 3 * 28 * 28);
  EXPECT_EQ(s[-1], 28);
  EXPECT_EQ(s.with_batch(2), (Shape{2, 3, 28, 28}));
  EXPECT_EQ(contiguous_strides(s), (std::vector<std::int64_t>{3 * 28 * 28, 28 * 28, 28, 1}));
  EXPECT_EQ(s.str(), "[8, 3, 28, 28]");
  EXPECT_EQ(Shape{}.numel(), 1);
}

TEST(TensorTest, OwnedStorageIsAlignedAndShared) {
  Tensor t = Tensor::zeros({3, 5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw()) % kAlignment, 0u);
  Tensor view = t;  // a copy shares memory
  view.data<float>()[7] = 2.5f;
  EXPECT_EQ(t.data<float>()[7], 2.5f);
  Tensor deep = t.clone();
  deep.data<float>()[7] = 0;
  EXPECT_EQ(t.data<float>()[7], 2.5f);
}

TEST(TensorTest, ReshapeAndSliceShareMemory) {
  Tensor t = Tensor::empty({4, 6});
  for (int i = 0; i < 24; ++i) t.data<float>()[i] = float(i);
  Tensor r = t.reshape({2, 12});
  EXPECT_EQ(r.data<float>()[13], 13.0f);
  Tensor s = t.slice(1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 6}));
  EXPECT_EQ(s.data<float>()[0], 6.0f);
  EXPECT_THROW(t.reshape({5, 5}), Error);
  EXPECT_THROW(t.slice(3, 5), Error);
}

TEST(TensorTest, WrongDtypeAccessIsAnError) {
  Tensor t = Tensor::zeros({4}, DType::i32);
  EXPECT_NO_THROW(t.data<std::int32_t>());
  try {
    t.data<float>();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("i32"), std::string::npos);
  }
}

TEST(ArenaTest, ViewsAreAlignedAndBoundsChecked) {
  ArenaLayout layout;
  auto a = layout.add(10 * sizeof(float));
  auto b = layout.add(3 * sizeof(float));
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 64u);
  Arena arena(layout.size());
  Tensor ta = arena.view(a, {10}), tb = arena.view(b, {3});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(tb.raw()) % kAlignment, 0u);
  EXPECT_EQ(ta.data<float>()[9], 0.0f);  // zeroed
  EXPECT_THROW(arena.view(64, {100}), Error);
  EXPECT_THROW(arena.view(4, {1}), Error);
}

TEST(DTypeTest, Bf16RoundsToNearestEven) {
  EXPECT_EQ(from_bf16(to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(from_bf16(to_bf16(-2.5f)), -2.5f);
  // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0).
  EXPECT_EQ(from_bf16(to_bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(NAN))));
}

TEST(InitTest, HeAndGlorotBoundsAndNames) {
  Tensor t = Tensor::empty({64, 100});
  initialize(t, {InitKind::HeUniform}, 100, 64, 1);
  float bound = std::sqrt(6.0f / 100.0f), m = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data<float>()[i]));
  EXPECT_LE(m, bound);
  EXPECT_GT(m, 0.95f * bound);
  initialize(t, {InitKind::GlorotNormal}, 100, 64, 2);
  double s2 = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) s2 += double(t.data<float>()[i]) * t.data<float>()[i];
  EXPECT_NEAR(s2 / double(t.numel()), 2.0 / 164.0, 0.1 * 2.0 / 164.0);
  EXPECT_EQ(init_kind_from_name("he_normal"), InitKind::HeNormal);
  EXPECT_THROW(init_kind_from_name("kaiming"), Error);
}

}  // namespace
}  // namespace convkit

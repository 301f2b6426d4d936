// Tensor views, arenas and dtypes: shapes, strides, alignment and the errors for misuse.
#include <convkit/tensor/arena.h>
#include <convkit/tensor/buffer.h>
#include <convkit/tensor/init.h>
#include <convkit/tensor/tensor.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

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

TEST(DeviceTest, TensorsLiveOnTheHostByDefault) {
  EXPECT_EQ(Tensor().device(), Device::host());
  EXPECT_EQ(Tensor::empty({2, 3}).device(), Device::host());
  EXPECT_EQ(Tensor::zeros({2}, DType::i32).device(), Device::host());
  EXPECT_EQ(Tensor::full({4}, 1).clone().device(), Device::host());
  EXPECT_TRUE(Tensor::empty({1}).device().is_host());
  Arena arena(256);
  EXPECT_EQ(arena.device(), Device::host());
  EXPECT_EQ(arena.view(64, {4}).device(), Device::host());
  EXPECT_EQ(Device::host().str(), "host");
  EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
  EXPECT_NE(Device::cuda(0), Device::cuda(1));
}

// A tensor over another device's memory keeps its device through views, and the host-only
// helpers refuse it, naming the device.
TEST(DeviceTest, DeviceTensorsRefuseHostHelpers) {
  Tensor host = Tensor::zeros({4, 6});
  const Tensor gpu = Tensor::wrap(host.raw(), {4, 6}, DType::f32, Device::cuda(0));
  EXPECT_EQ(gpu.device(), Device::cuda(0));
  EXPECT_EQ(gpu.reshape({24}).device(), Device::cuda(0));
  EXPECT_EQ(gpu.slice(1, 2).device(), Device::cuda(0));
  EXPECT_EQ(gpu.raw(), host.raw());  // raw pointers stay available (for the device's kernels)
  for (auto f : {+[](const Tensor& t) { t.fill(1); }, +[](const Tensor& t) { t.zero(); },
                 +[](const Tensor& t) { (void)t.clone(); },
                 +[](const Tensor& t) {
                   Tensor::zeros({4, 6}).copy_from(t);
                 },
                 +[](const Tensor& t) {
                   t.copy_from(Tensor::zeros({4, 6}));
                 },
                 +[](const Tensor& t) {
                   (void)max_abs_diff(t, Tensor::zeros({4, 6}));
                 }}) {
    try {
      f(gpu);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
    }
  }
}

TEST(BufferTest, HostBuffersAreAlignedZeroedAndSized) {
  const Buffer b = Buffer::host(100);
  EXPECT_EQ(b.device(), Device::host());
  EXPECT_EQ(b.size(), 128u);  // rounded up to the alignment
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % kAlignment, 0u);
  for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b.data()[i], std::byte{0});
  const Buffer copy = b;  // shares the block
  EXPECT_EQ(copy.data(), b.data());
  EXPECT_THROW(b.view(64, {32}), Error);  // 128 bytes past offset 64
  EXPECT_THROW(b.view(8, {1}), Error);    // unaligned

  // A buffer adopted from another allocator: its views carry its device, its deleter frees it.
  bool freed = false;
  {
    auto* memory = new std::byte[256];
    Buffer device(std::shared_ptr<std::byte>(memory,
                                             [&](std::byte* p) {
                                               freed = true;
                                               delete[] p;
                                             }),
                  256, Device::cuda(0));
    Arena arena(device);
    EXPECT_EQ(arena.device(), Device::cuda(0));
    EXPECT_EQ(arena.size(), 256u);
    const Tensor view = arena.view(64, {8});
    EXPECT_EQ(view.device(), Device::cuda(0));
    EXPECT_EQ(view.raw(), memory + 64);
  }
  EXPECT_TRUE(freed);
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
  for (std::int64_t i = 0; i < t.numel(); ++i)
    s2 += double(t.data<float>()[i]) * t.data<float>()[i];
  EXPECT_NEAR(s2 / double(t.numel()), 2.0 / 164.0, 0.1 * 2.0 / 164.0);
  EXPECT_EQ(init_kind_from_name("he_normal"), InitKind::HeNormal);
  EXPECT_THROW(init_kind_from_name("kaiming"), Error);
}

}  // namespace
}  // namespace convkit

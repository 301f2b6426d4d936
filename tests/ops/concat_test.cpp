// Concat: output shapes and values along each non-batch axis, gradients (finite differences and
// slices, also with unneeded gradients), and rejected axes and shapes.
#include "ops/concat.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>

namespace convkit::ops {
namespace {

using testing::random_normal;

// Element [i0, i1, ...] of a contiguous tensor.
float at(const Tensor& t, std::vector<std::int64_t> index) {
  std::int64_t flat = 0;
  for (int d = 0; d < t.rank(); ++d) flat = flat * t.dim(d) + index[d];
  return t.data<float>()[flat];
}

TEST(ConcatTest, ChannelsOfNCHW) {
  Concat op;  // axis 1
  Tensor a = random_normal({2, 2, 3, 4}, 1), b = random_normal({2, 3, 3, 4}, 2);
  Tensor y = testing::run_forward(op, {a, b}, {})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 5, 3, 4}));
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 5; ++c)
      for (std::int64_t h = 0; h < 3; ++h)
        for (std::int64_t w = 0; w < 4; ++w)
          ASSERT_EQ(at(y, {n, c, h, w}), c < 2 ? at(a, {n, c, h, w}) : at(b, {n, c - 2, h, w}))
              << n << c << h << w;
}

TEST(ConcatTest, InnerAxesAndThreeInputs) {
  for (int axis : {2, 3}) {
    Concat op(axis);
    Shape sa{2, 3, 4, 5}, sb = sa, sc = sa;
    sb[axis] = 1, sc[axis] = 2;
    Tensor a = random_normal(sa, 3), b = random_normal(sb, 4), c = random_normal(sc, 5);
    Tensor y = testing::run_forward(op, {a, b, c}, {})[0];
    Shape want = sa;
    want[axis] = sa[axis] + 3;
    ASSERT_EQ(y.shape(), want);
    const std::int64_t wa = sa[axis];
    for (std::int64_t i = 0; i < y.numel(); ++i) {
      std::vector<std::int64_t> index(4);
      for (std::int64_t d = 3, r = i; d >= 0; --d) index[d] = r % want[int(d)], r /= want[int(d)];
      const std::int64_t k = index[axis];
      auto from = index;
      if (k < wa) {
        ASSERT_EQ(y.data<float>()[i], at(a, from)) << "axis " << axis << " element " << i;
      } else if (k < wa + 1) {
        from[axis] = k - wa;
        ASSERT_EQ(y.data<float>()[i], at(b, from)) << "axis " << axis << " element " << i;
      } else {
        from[axis] = k - wa - 1;
        ASSERT_EQ(y.data<float>()[i], at(c, from)) << "axis " << axis << " element " << i;
      }
    }
  }
}

TEST(ConcatTest, GradientsMatchFiniteDifferences) {
  Concat op(1);
  testing::expect_gradients_match(op,
                                  {random_normal({2, 2, 3, 3}, 6), random_normal({2, 1, 3, 3}, 7),
                                   random_normal({2, 3, 3, 3}, 8)},
                                  {});
  Concat last(2);
  testing::expect_gradients_match(last, {random_normal({3, 4, 2}, 9), random_normal({3, 4, 5}, 10)},
                                  {});
}

// Backward with some gradients not needed (undefined): the others are the right slices of dy.
TEST(ConcatTest, BackwardSkipsUnneededGradients) {
  Concat op(1);
  Tensor dy = random_normal({2, 6, 2}, 11);  // parts of widths 1, 2, 3 along axis 1
  auto check = [&](const Tensor& dx, std::int64_t first, std::int64_t width) {
    for (std::int64_t n = 0; n < 2; ++n)
      for (std::int64_t c = 0; c < width; ++c)
        for (std::int64_t w = 0; w < 2; ++w)
          ASSERT_EQ(at(dx, {n, c, w}), at(dy, {n, first + c, w}));
  };
  std::vector<Tensor> dys{dy};
  // The middle gradient unneeded and no inputs given: the last part is placed from the end.
  std::vector<Tensor> dxs{Tensor::full({2, 1, 2}, NAN), Tensor(), Tensor::full({2, 3, 2}, NAN)};
  op.backward({.grad_outputs = dys, .grad_inputs = dxs});
  check(dxs[0], 0, 1);
  check(dxs[2], 3, 3);
  // Only the middle one needed, with the inputs (their shapes) given.
  std::vector<Tensor> inputs{Tensor::zeros({2, 1, 2}), Tensor::zeros({2, 2, 2}),
                             Tensor::zeros({2, 3, 2})};
  std::vector<Tensor> middle{Tensor(), Tensor::full({2, 2, 2}, NAN), Tensor()};
  op.backward({.inputs = inputs, .grad_outputs = dys, .grad_inputs = middle});
  check(middle[1], 1, 2);
  // Only the middle one needed and no shapes at all: its place is unknowable.
  std::vector<Tensor> four{Tensor(), Tensor::full({2, 2, 2}, NAN), Tensor(),
                           Tensor::full({2, 1, 2}, NAN)};
  EXPECT_THROW(op.backward({.grad_outputs = dys, .grad_inputs = four}), Error);
}

TEST(ConcatTest, IntegerTensors) {
  Concat op(1);
  Tensor a = Tensor::empty({2, 1}, DType::i32), b = Tensor::empty({2, 2}, DType::i32);
  for (int i = 0; i < 2; ++i) a.data<std::int32_t>()[i] = i;
  for (int i = 0; i < 4; ++i) b.data<std::int32_t>()[i] = 10 + i;
  Tensor y = testing::run_forward(op, {a, b}, {})[0];
  const std::int32_t want[6] = {0, 10, 11, 1, 12, 13};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<std::int32_t>()[i], want[i]) << i;
}

TEST(ConcatTest, BatchAxisIsRejected) {
  try {
    Concat op(0);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Concat(-1), Error);
  EXPECT_THROW(make_op("Concat", {{"axis", std::int64_t(0)}}), Error);
}

TEST(ConcatTest, ShapeRules) {
  Concat op(1);
  std::vector<TensorSpec> bad{{Shape{8, 16, 14, 14}}, {Shape{8, 32, 7, 7}}};
  try {
    op.infer(bad);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[8, 16, 14, 14]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[8, 32, 7, 7]"), std::string::npos) << msg;
  }
  std::vector<TensorSpec> batch{{Shape{8, 4}}, {Shape{4, 4}}};
  EXPECT_THROW(op.infer(batch), ShapeError);
  std::vector<TensorSpec> rank{{Shape{8, 4}}, {Shape{8, 4, 1}}};
  EXPECT_THROW(op.infer(rank), ShapeError);
  std::vector<TensorSpec> dtype{{Shape{8, 4}}, {Shape{8, 4}, DType::i32}};
  EXPECT_THROW(op.infer(dtype), ShapeError);
  std::vector<TensorSpec> flat{{Shape{8}}, {Shape{8}}};
  EXPECT_THROW(op.infer(flat), ShapeError);  // axis 1 does not exist
  std::vector<TensorSpec> ok{{Shape{8, 4, 2}}, {Shape{8, 3, 2}}};
  EXPECT_EQ(op.infer(ok)[0].shape, (Shape{8, 7, 2}));
}

TEST(ConcatTest, FactoryRoundTrip) {
  auto op = make_op("Concat", {{"axis", std::int64_t(2)}});
  EXPECT_EQ(dynamic_cast<const Concat&>(*op).axis(), 2);
  EXPECT_EQ(op->attrs().str(), "axis=2");
  EXPECT_EQ(dynamic_cast<const Concat&>(*make_op("Concat", {})).axis(), 1);
}

}  // namespace
}  // namespace convkit::ops

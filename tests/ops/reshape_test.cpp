// Flatten / Reshape: output shapes (with -1 inference), element order kept, gradients passed
// through, and errors that name both shapes.
#include "ops/reshape.h"

#include "ops/registry.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>

namespace convkit::ops {
namespace {

Shape out_shape(const Reshape& op, const Shape& in, DType dtype = DType::f32) {
  std::vector<TensorSpec> specs{{in, dtype}};
  auto out = op.infer(specs);
  EXPECT_EQ(out[0].dtype, dtype);
  return out[0].shape;
}

std::string shape_error(const Reshape& op, const Shape& in) {
  std::vector<TensorSpec> specs{{in}};
  try {
    op.infer(specs);
  } catch (const ShapeError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ReshapeTest, FlattenKeepsBatchAndOrder) {
  Reshape op;
  EXPECT_EQ(op.type(), "Flatten");
  EXPECT_EQ(out_shape(op, {2, 3, 4, 5}), (Shape{2, 60}));
  EXPECT_EQ(out_shape(op, {7, 10}), (Shape{7, 10}));
  Tensor x = testing::random_normal({2, 3, 4, 5}, 1);
  Tensor y = testing::run_forward(op, {x}, {})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 60}));
  // Element [n, c, h, w] lands at [n, (c*4 + h)*5 + w] (PyTorch's x.flatten(1)).
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 5; ++w) {
          const int flat = (c * 4 + h) * 5 + w;
          ASSERT_EQ(y.data<float>()[n * 60 + flat], x.data<float>()[((n * 3 + c) * 4 + h) * 5 + w]);
        }
}

TEST(ReshapeTest, TargetShapesAndInference) {
  EXPECT_EQ(out_shape(Reshape({3, 4}), {2, 12}), (Shape{2, 3, 4}));
  EXPECT_EQ(out_shape(Reshape({-1, 4}), {2, 3, 4}), (Shape{2, 3, 4}));
  EXPECT_EQ(out_shape(Reshape({6, -1}), {5, 3, 4}), (Shape{5, 6, 2}));
  EXPECT_EQ(out_shape(Reshape({-1}), {5, 3, 4}), (Shape{5, 12}));
  EXPECT_EQ(out_shape(Reshape({2, -1, 3}), {1, 12}, DType::i32), (Shape{1, 2, 2, 3}));
  EXPECT_EQ(Reshape({3, 4}).type(), "Reshape");
}

TEST(ReshapeTest, ValuesAndGradientPassThrough) {
  Reshape op({4, -1});
  Tensor x = testing::random_normal({3, 2, 6}, 2);
  Tensor y = testing::run_forward(op, {x}, {})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 4, 3}));
  for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(y.data<float>()[i], x.data<float>()[i]);
  testing::expect_gradients_match(op, {x}, {});
  testing::expect_gradients_match(Reshape(), {x}, {});
}

TEST(ReshapeTest, IntegerTensorsAreCopied) {
  Reshape op({2, 2});
  Tensor x = Tensor::empty({2, 4}, DType::i32);
  for (int i = 0; i < 8; ++i) x.data<std::int32_t>()[i] = 10 * i;
  Tensor y = testing::run_forward(op, {x}, {})[0];
  ASSERT_EQ(y.dtype(), DType::i32);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(y.data<std::int32_t>()[i], 10 * i);
}

TEST(ReshapeTest, ElementCountMismatchNamesBothShapes) {
  std::string msg = shape_error(Reshape({5, 7}), {8, 3, 4});
  EXPECT_NE(msg.find("[8, 3, 4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[N, 5, 7]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("12"), std::string::npos) << msg;
  msg = shape_error(Reshape({5, -1}), {8, 3, 4});
  EXPECT_NE(msg.find("[8, 3, 4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[N, 5, -1]"), std::string::npos) << msg;
}

TEST(ReshapeTest, BadTargetsAreRejected) {
  EXPECT_THROW(Reshape({-1, -1}), Error);
  EXPECT_THROW(Reshape({0, 4}), Error);
  EXPECT_THROW(Reshape({-2}), Error);
  EXPECT_THROW(make_op("Reshape", {}), Error);
}

TEST(ReshapeTest, FactoriesRoundTrip) {
  auto flatten = make_op("Flatten", {});
  EXPECT_EQ(flatten->type(), "Flatten");
  EXPECT_TRUE(flatten->attrs().items().empty());
  auto reshape = make_op("Reshape", {{"shape", std::vector<std::int64_t>{7, -1}}});
  EXPECT_EQ(reshape->type(), "Reshape");
  EXPECT_EQ(reshape->attrs().str(), "shape=[7, -1]");
  auto rebuilt = make_op(reshape->type(), reshape->attrs());
  std::vector<TensorSpec> in{{Shape{2, 14}}};
  EXPECT_EQ(rebuilt->infer(in)[0].shape, (Shape{2, 7, 2}));
}

}  // namespace
}  // namespace convkit::ops

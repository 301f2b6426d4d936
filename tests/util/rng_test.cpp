// Philox4x32-10 against the published known-answer vectors (Random123's kat_vectors), and the
// statistical sanity of the fills built on it.
#include <convkit/util/rng.h>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace convkit {
namespace {

TEST(PhiloxTest, KnownAnswerVectors) {
  EXPECT_EQ(philox(0, 0, 0), (Philox4x32{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox(0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull),
            (Philox4x32{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  // counter words (0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), key (0xa4093822, 0x299f31d0)
  EXPECT_EQ(philox(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull),
            (Philox4x32{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(PhiloxTest, FillsAreSlicesOfOneStream) {
  std::vector<float> whole(1000), part(300);
  fill_uniform(whole.data(), 1000, 77, -1.0f, 1.0f);
  fill_uniform(part.data(), 300, 77, -1.0f, 1.0f, 500);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(part[i], whole[500 + i]);
  fill_normal(whole.data(), 1000, 78, 0.0f, 1.0f);
  fill_normal(part.data(), 300, 78, 0.0f, 1.0f, 333);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(part[i], whole[333 + i]);
}

TEST(PhiloxTest, MomentsOfUniformAndNormal) {
  const int n = 200000;
  std::vector<float> u(n), g(n);
  fill_uniform(u.data(), n, derive_key(1, "u"), 2.0f, 4.0f);
  fill_normal(g.data(), n, derive_key(1, "g"), 1.0f, 3.0f);
  double su = 0, sg = 0, sg2 = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_GE(u[i], 2.0f);
    ASSERT_LT(u[i], 4.0f);
    ASSERT_TRUE(std::isfinite(g[i]));
    su += u[i], sg += g[i], sg2 += double(g[i]) * g[i];
  }
  EXPECT_NEAR(su / n, 3.0, 0.01);
  EXPECT_NEAR(sg / n, 1.0, 0.03);
  EXPECT_NEAR(std::sqrt(sg2 / n - (sg / n) * (sg / n)), 3.0, 0.03);
}

TEST(PhiloxTest, DerivedKeysDifferByNameAndSeed) {
  EXPECT_NE(derive_key(1, "conv.weight"), derive_key(1, "conv.bias"));
  EXPECT_NE(derive_key(1, "conv.weight"), derive_key(2, "conv.weight"));
  EXPECT_EQ(derive_key(3, "x"), derive_key(3, "x"));
}

}  // namespace
}  // namespace convkit

// Random affine transform (see affine.h): Keras' matrix composition, then one bilinear pass.
#include "data/transforms/affine.h"

#include <array>
#include <numbers>

namespace convkit::data::transforms {

namespace {

using Mat3 = std::array<std::array<double, 3>, 3>;

Mat3 multiply(const Mat3& x, const Mat3& y) {
  Mat3 z{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) z[i][j] += x[i][k] * y[k][j];
  return z;
}

double radians(double degrees) {
  return degrees * std::numbers::pi / 180.0;
}

}  // namespace

AffineMap keras_affine(const AffineParams& p, int h, int w) {
  const double theta = radians(p.rotation), shear = radians(p.shear);
  const Mat3 rotation{
      {{std::cos(theta), -std::sin(theta), 0}, {std::sin(theta), std::cos(theta), 0}, {0, 0, 1}}};
  const Mat3 shift{{{1, 0, p.tx}, {0, 1, p.ty}, {0, 0, 1}}};
  const Mat3 shear_m{{{1, -std::sin(shear), 0}, {0, std::cos(shear), 0}, {0, 0, 1}}};
  const Mat3 zoom{{{p.zx, 0, 0}, {0, p.zy, 0}, {0, 0, 1}}};
  const Mat3 m = multiply(multiply(rotation, shift), multiply(shear_m, zoom));
  // About the center: in - c = M (out - c), i.e. b = M's translation + c - A c.
  const double c[2] = {(h - 1) / 2.0, (w - 1) / 2.0};
  AffineMap map;
  for (int i = 0; i < 2; ++i) {
    map.a[i][0] = m[i][0];
    map.a[i][1] = m[i][1];
    map.b[i] = m[i][2] + c[i] - m[i][0] * c[0] - m[i][1] * c[1];
  }
  return map;
}

bool affine_enabled(const AugmentOptions& o) {
  return o.rotation > 0 || o.width_shift > 0 || o.height_shift > 0 || o.shear > 0 ||
         o.zoom.lo != 1 || o.zoom.hi != 1;
}

AffineParams random_affine(const AugmentOptions& o, const SampleRng& rng, int h, int w) {
  AffineParams p;
  if (o.rotation > 0) p.rotation = rng.uniform(0, -o.rotation, o.rotation);
  if (o.height_shift > 0) p.tx = rng.uniform(1, -o.height_shift, o.height_shift) * float(h);
  if (o.width_shift > 0) p.ty = rng.uniform(2, -o.width_shift, o.width_shift) * float(w);
  if (o.shear > 0) p.shear = rng.uniform(3, -o.shear, o.shear);
  if (o.zoom.lo != 1 || o.zoom.hi != 1) {
    p.zx = rng.uniform(4, o.zoom.lo, o.zoom.hi);
    p.zy = rng.uniform(5, o.zoom.lo, o.zoom.hi);
  }
  return p;
}

void warp_affine(const Planes& src, const Planes& dst, const AffineMap& map, FillMode mode,
                 const float* fill) {
  const std::int64_t plane = dst.plane();
  for (int r = 0; r < dst.h; ++r) {
    // Positions along a row advance by the map's column vector; doubles keep them exact enough.
    const double row0 = map.a[0][0] * r + map.b[0], col0 = map.a[1][0] * r + map.b[1];
    float* out = dst.data + std::int64_t(r) * dst.w;
    for (int c = 0; c < dst.w; ++c) {
      const float y = float(row0 + map.a[0][1] * c), x = float(col0 + map.a[1][1] * c);
      sample_bilinear(src, y, x, mode, fill, out + c, plane);
    }
  }
}

}  // namespace convkit::data::transforms

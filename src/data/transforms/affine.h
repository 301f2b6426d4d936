// Random affine transform with Keras ImageDataGenerator semantics (rotation, shift, shear,
// zoom about the image center), resampled bilinearly with a fill mode. Coordinates are
// (row, col) with pixel centers at integers, as in Keras' apply_affine_transform.
#pragma once

#include "data/transforms/image.h"
#include "data/transforms/sample_rng.h"

namespace convkit::data::transforms {

// Keras' parameters: rotation and shear in degrees; tx shifts rows and ty shifts columns (in
// pixels; the output at (r, c) reads the input near (r + tx, c + ty), so a positive tx moves the
// content up); zx scales rows and zy columns (the output reads the input at zx times the
// distance from the center, so zx = 0.5 magnifies the content 2x vertically).
struct AffineParams {
  float rotation = 0, tx = 0, ty = 0, shear = 0, zx = 1, zy = 1;
};

// The map from an output pixel to the input position it reads: in = a * out + b, with out and in
// as (row, col).
struct AffineMap {
  double a[2][2] = {{1, 0}, {0, 1}};
  double b[2] = {0, 0};
};

// M = rotation * shift * shear * zoom, applied about the center ((H - 1) / 2, (W - 1) / 2).
// A positive rotation turns the content clockwise on screen (rows grow downward).
AffineMap keras_affine(const AffineParams& params, int h, int w);

// Whether the options ask for any affine transform at all.
bool affine_enabled(const AugmentOptions& options);

// One sample's parameters (draws 0..5 of the stream), as Keras' random_transform draws them.
AffineParams random_affine(const AugmentOptions& options, const SampleRng& rng, int h, int w);

// dst(out) = bilinear sample of src at map(out), every channel; src and dst must not overlap and
// have the same C, H, W. `fill`: the constant per channel (normalized units).
void warp_affine(const Planes& src, const Planes& dst, const AffineMap& map, FillMode mode,
                 const float* fill);

}  // namespace convkit::data::transforms

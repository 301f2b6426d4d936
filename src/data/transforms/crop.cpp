// Pad-and-crop (see crop.h): an integer shift with border handling, row by row.
#include "data/transforms/crop.h"

#include <cstring>

namespace convkit::data::transforms {

void pad_crop(const Planes& src, const Planes& dst, int padding, int oy, int ox, FillMode mode,
              const float* fill) {
  const int dy = oy - padding, dx = ox - padding, w = src.w;
  // Columns [c0, c1) of the output read columns [c0 + dx, c1 + dx) of the input directly.
  const int c0 = std::clamp(-dx, 0, w), c1 = std::clamp(w - dx, c0, w);
  for (int k = 0; k < src.c; ++k) {
    const float* in = src.channel(k);
    float* out_plane = dst.channel(k);
    for (int r = 0; r < dst.h; ++r) {
      float* out = out_plane + std::int64_t(r) * w;
      const int sr = border_index(r + dy, src.h, mode);
      if (sr < 0) {
        std::fill(out, out + w, fill[k]);
        continue;
      }
      const float* row = in + std::int64_t(sr) * w;
      for (int c = 0; c < c0; ++c) {
        const int sc = border_index(c + dx, w, mode);
        out[c] = sc < 0 ? fill[k] : row[sc];
      }
      if (c1 > c0) std::memcpy(out + c0, row + c0 + dx, std::size_t(c1 - c0) * sizeof(float));
      for (int c = c1; c < w; ++c) {
        const int sc = border_index(c + dx, w, mode);
        out[c] = sc < 0 ? fill[k] : row[sc];
      }
    }
  }
}

}  // namespace convkit::data::transforms

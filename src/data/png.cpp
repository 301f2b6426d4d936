// PNG decoding with libpng's full read API: gray, gray+alpha, RGB, RGBA and palette, 1 to 16 bits,
// interlaced or not. Output u8 [C, H, W], C = 1 (gray) or 3 (RGB, also for palettes).
// NOTE: not libpng's simplified API (png_image_*), which takes 16-bit samples as linear light
// (32768 became 186, not 128), composites alpha in linear light and applies gAMA. Here pixels are
// taken as stored, as PIL, torchvision and OpenCV read them: 16 bits scaled to 8 with rounding,
// alpha composited onto black per stored value (round(v * a / 255)), gAMA/iCCP/sRGB ignored.
// NOTE: libpng reports errors by longjmp (to png_jmpbuf); PngReader::call holds the setjmp and
// throws from there. The steps run under call() create no objects with destructors.
#include <convkit/util/error.h>

#include <png.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "data/image_codecs.h"

namespace convkit::data::detail {
namespace {

// Deflate's best case is 258 bytes from 2 bits (1032:1), so a PNG of N bytes holds at most about
// 1032 * N bytes of pixel data: a header that claims more lies (or the file is truncated), which
// is an error before allocating the image.
constexpr std::int64_t kMaxDeflateRatio = 1032;

struct Input {
  const png_byte* data;
  std::size_t size;
  std::size_t offset;
};

struct ErrorText {
  char message[256];
};

void read_data(png_structp png, png_bytep out, std::size_t n) {
  auto* in = static_cast<Input*>(png_get_io_ptr(png));
  if (n > in->size - in->offset) png_error(png, "unexpected end of file: the PNG is truncated");
  std::memcpy(out, in->data + in->offset, n);
  in->offset += n;
}

void on_error(png_structp png, png_const_charp message) {
  auto* text = static_cast<ErrorText*>(png_get_error_ptr(png));
  std::snprintf(text->message, sizeof text->message, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // e.g. a bad ancillary chunk, skipped: quiet

// Owns libpng's read and info structs (destroying null ones is a no-op).
struct ReadStructs {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ReadStructs() = default;
  ReadStructs(const ReadStructs&) = delete;
  ReadStructs& operator=(const ReadStructs&) = delete;
  ~ReadStructs() { png_destroy_read_struct(&png, &info, nullptr); }
};

// One libpng reader over bytes in memory, read up to the first IDAT (the header).
class PngReader {
 public:
  PngReader(std::span<const std::byte> bytes, const std::string& source)
      : source_(source), input_{reinterpret_cast<const png_byte*>(bytes.data()), bytes.size(), 0} {
    s_.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error_, on_error, on_warning);
    if (s_.png) s_.info = png_create_info_struct(s_.png);
    if (!s_.info) fail("{}: cannot decode PNG (out of memory)", source);
    png_set_read_fn(s_.png, &input_, read_data);
    call([&] { png_read_info(s_.png, s_.info); });
  }

  png_structp png() { return s_.png; }
  png_infop info_struct() { return s_.info; }

  // Runs `step` (calls into libpng) and turns a libpng error during it into an Error.
  template <typename Step>
  void call(Step&& step) {
    if (setjmp(png_jmpbuf(s_.png))) fail("{}: cannot decode PNG ({})", source_, error_.message);
    step();
  }

  ImageInfo info() const {
    const bool color = (png_get_color_type(s_.png, s_.info) & PNG_COLOR_MASK_COLOR) != 0;
    return {ImageFormat::Png, color ? 3 : 1, png_get_image_height(s_.png, s_.info),
            png_get_image_width(s_.png, s_.info)};
  }

 private:
  const std::string& source_;
  Input input_;
  ErrorText error_ = {};
  ReadStructs s_;
};

}  // namespace

ImageInfo probe_png(std::span<const std::byte> bytes, const std::string& source) {
  PngReader reader(bytes, source);
  return reader.info();
}

Tensor decode_png(std::span<const std::byte> bytes, const std::string& source) {
  PngReader reader(bytes, source);
  png_structp png = reader.png();
  png_infop png_info = reader.info_struct();
  const ImageInfo info = reader.info();
  const std::int64_t h = info.height, w = info.width;
  if (h * w > kMaxImagePixels)
    fail("{}: unsupported PNG size {}x{} (more than {} pixels)", source, w, h, kMaxImagePixels);
  const std::int64_t bits_per_pixel =
      std::int64_t(png_get_channels(png, png_info)) * png_get_bit_depth(png, png_info);
  if (h * w * bits_per_pixel / 8 > kMaxDeflateRatio * std::int64_t(bytes.size()) + 1024)
    fail("{}: truncated or corrupt PNG (the header says {}x{}, more pixels than {} bytes can hold)",
         source, w, h, bytes.size());
  reader.call([&] {
    png_set_expand(png);    // palette -> RGB, gray below 8 bits -> 8 bits, tRNS -> alpha
    png_set_scale_16(png);  // 16 bits -> 8, rounded: v * 255 / 65535
    png_set_interlace_handling(png);
    png_read_update_info(png, png_info);
  });
  const std::int64_t n = png_get_channels(png, png_info);  // 1 gray, 2 +alpha, 3 RGB, 4 RGBA
  if (std::int64_t(png_get_rowbytes(png, png_info)) != w * n)
    fail("{}: cannot decode PNG (unexpected row size)", source);
  std::vector<png_byte> hwn(std::size_t(h * w * n));
  std::vector<png_bytep> rows(static_cast<std::size_t>(h));
  for (std::int64_t y = 0; y < h; ++y) rows[std::size_t(y)] = hwn.data() + y * w * n;
  reader.call([&] { png_read_image(png, rows.data()); });
  // NOTE: no png_read_end: the pixels are all read (short data stopped us above), and chunks after
  // the image data (text, a missing IEND) do not change them.

  const std::int64_t c = n >= 3 ? 3 : 1;
  const bool alpha = n == 2 || n == 4;
  Tensor out = Tensor::empty({c, h, w}, DType::u8);
  auto* o = out.data<std::uint8_t>();
  for (std::int64_t i = 0; i < h * w; ++i) {
    const png_byte* p = hwn.data() + i * n;
    const unsigned a = alpha ? p[n - 1] : 255u;
    for (std::int64_t k = 0; k < c; ++k)
      o[k * h * w + i] = alpha ? std::uint8_t((p[k] * a + 127) / 255) : p[k];
  }
  return out;
}

}  // namespace convkit::data::detail

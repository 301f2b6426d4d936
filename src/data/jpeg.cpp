// JPEG decoding with libjpeg-turbo's libjpeg API (jpeglib.h): gray, YCbCr/RGB and CMYK/YCCK
// (converted to RGB); baseline, progressive and arithmetic-coded; optionally DCT-scaled by 1/2,
// 1/4 or 1/8 (DecodeHints). Output u8 [C, H, W], C = 1 (gray) or 3 (RGB).
// NOTE: libjpeg reports an error by calling error_exit, which must not return, and C++ exceptions
// must not unwind through libjpeg's C frames. So error_exit longjmps back to the setjmp in
// JpegReader::call, which throws from there. The steps run under call() create no objects with
// destructors (they call libjpeg and loop over raw pointers), so the longjmp skips none.
#include <convkit/util/error.h>

#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <cstdio>  // jpeglib.h uses FILE without including it
#include <cstring>

#include <jpeglib.h>
// After jpeglib.h: the arithmetic-coding warnings depend on jconfig.h's macros.
#include <jerror.h>

#include "data/image_codecs.h"

namespace convkit::data::detail {
namespace {

// A progressive JPEG may hold any number of scans, each a pass over all coefficients, so a small
// hostile file can take minutes to decode. TurboJPEG's scan limit (TJPARAM_SCANLIMIT) is 500.
constexpr int kMaxScans = 500;

struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg holds a jpeg_error_mgr* to it
  std::jmp_buf jump;
  bool corrupt;  // stopped by a warning that the data is truncated or corrupt
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void stop(j_common_ptr cinfo, bool corrupt) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  err->corrupt = corrupt;
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void error_exit(j_common_ptr cinfo) {
  stop(cinfo, false);
}

// NOTE: libjpeg only warns about truncated or corrupt data and goes on (a truncated file decodes
// with its missing part grey). Those warnings stop decoding here. Benign ones are ignored, as
// every common reader does: extraneous bytes before a marker (frequent in camera files, the
// pixels are intact), SOS parameters off for a sequential JPEG, an unknown JFIF revision or Adobe
// transform, a bad ICC marker.
void emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_BOGUS_PROGRESSION:
      stop(cinfo, true);
    default:
      cinfo->err->num_warnings++;
  }
}

void output_message(j_common_ptr) {}  // never print to stderr

void progress_monitor(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number <= kMaxScans) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  err->corrupt = false;
  std::snprintf(err->message, sizeof err->message, "more than %d progressive scans", kMaxScans);
  std::longjmp(err->jump, 1);
}

// Owns a jpeg_decompress_struct (zeroed: destroying one never created is a no-op).
struct Decompressor {
  jpeg_decompress_struct cinfo;
  Decompressor() { std::memset(&cinfo, 0, sizeof cinfo); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
};

// One decompressor over bytes in memory, its header read.
class JpegReader {
 public:
  JpegReader(std::span<const std::byte> bytes, const std::string& source) : source_(source) {
    std::memset(&err_, 0, sizeof err_);
    cinfo_.err = jpeg_std_error(&err_.pub);
    err_.pub.error_exit = error_exit;
    err_.pub.emit_message = emit_message;
    err_.pub.output_message = output_message;
    call([&] { jpeg_create_decompress(&cinfo_); });
    std::memset(&progress_, 0, sizeof progress_);
    progress_.progress_monitor = progress_monitor;
    cinfo_.progress = &progress_;
    call([&] {
      jpeg_mem_src(&cinfo_, reinterpret_cast<const unsigned char*>(bytes.data()),
                   static_cast<unsigned long>(bytes.size()));
      jpeg_read_header(&cinfo_, TRUE);
    });
  }
  jpeg_decompress_struct& cinfo() { return cinfo_; }

  // Runs `step` (calls into libjpeg) and turns a libjpeg error during it into an Error.
  template <typename Step>
  void call(Step&& step) {
    if (setjmp(err_.jump)) {
      if (err_.corrupt) fail("{}: truncated or corrupt JPEG ({})", source_, err_.message);
      fail("{}: cannot decode JPEG ({})", source_, err_.message);
    }
    step();
  }

  // What the header says; decode_image returns 1 channel for gray, 3 for the rest.
  ImageInfo info() const {
    std::int64_t channels = 0;
    switch (cinfo_.jpeg_color_space) {
      case JCS_GRAYSCALE:
        channels = 1;
        break;
      case JCS_YCbCr:
      case JCS_RGB:
      case JCS_CMYK:
      case JCS_YCCK:
        channels = 3;
        break;
      default:
        fail("{}: unsupported JPEG color space ({} components)", source_, cinfo_.num_components);
    }
    return {ImageFormat::Jpeg, channels, cinfo_.image_height, cinfo_.image_width};
  }

 private:
  const std::string& source_;
  ErrorManager err_;  // declared before the decompressor, which uses it until destroyed
  jpeg_progress_mgr progress_;
  Decompressor decompressor_;
  jpeg_decompress_struct& cinfo_ = decompressor_.cinfo;
};

// Rows asked of jpeg_read_scanlines at a time: it returns up to a row group (16 rows for 4:2:0),
// and fewer calls are measurably faster on small images.
constexpr int kRowsPerCall = 16;

// NOTE: splitting interleaved RGB rows into planes as a scalar loop cost a quarter of a 96x96
// decode. GCC vectorizes it (stride-3 byte loads) at -O3 for AVX2, so x86-64 gets an AVX2 clone
// chosen at load time: the rows 5x faster, the whole small-image decode about 1.15x.
#if defined(__x86_64__) && !defined(__clang__)
#define CONVKIT_AVX2_CLONE [[gnu::target_clones("avx2", "default")]]
#else
#define CONVKIT_AVX2_CLONE
#endif

CONVKIT_AVX2_CLONE void split_rgb(const JSAMPLE* __restrict row, std::uint8_t* __restrict red,
                                  std::uint8_t* __restrict green, std::uint8_t* __restrict blue,
                                  std::int64_t w) {
  for (std::int64_t x = 0; x < w; ++x) {
    red[x] = row[3 * x];
    green[x] = row[3 * x + 1];
    blue[x] = row[3 * x + 2];
  }
}
#undef CONVKIT_AVX2_CLONE

// NOTE: Adobe's CMYK JPEGs (Photoshop; libjpeg's compressor too) store the inks inverted and
// carry an Adobe APP14 marker; browsers and PIL take the marker as the sign. R = (1 - C)(1 - K).
void split_cmyk(const JSAMPLE* row, bool inverted, std::uint8_t* red, std::uint8_t* green,
                std::uint8_t* blue, std::int64_t w) {
  const unsigned flip = inverted ? 0 : 255;
  for (std::int64_t x = 0; x < w; ++x) {
    const JSAMPLE* p = row + 4 * x;
    const unsigned k = p[3] ^ flip;
    red[x] = std::uint8_t(((p[0] ^ flip) * k + 127) / 255);
    green[x] = std::uint8_t(((p[1] ^ flip) * k + 127) / 255);
    blue[x] = std::uint8_t(((p[2] ^ flip) * k + 127) / 255);
  }
}

// The DCT scaling denominator (1, 2, 4 or 8) for `hints`: the largest reduction whose output,
// ceil(side / d) as libjpeg computes it, is still >= both minimums.
int scale_denominator(std::int64_t h, std::int64_t w, const DecodeHints& hints) {
  if (hints.min_height <= 0 && hints.min_width <= 0) return 1;
  for (int d : {8, 4, 2})
    if ((h + d - 1) / d >= hints.min_height && (w + d - 1) / d >= hints.min_width) return d;
  return 1;
}

}  // namespace

ImageInfo probe_jpeg(std::span<const std::byte> bytes, const std::string& source) {
  JpegReader reader(bytes, source);
  return reader.info();
}

Tensor decode_jpeg(std::span<const std::byte> bytes, const std::string& source,
                   const DecodeHints& hints) {
  JpegReader reader(bytes, source);
  jpeg_decompress_struct& cinfo = reader.cinfo();
  const ImageInfo info = reader.info();
  if (info.height * info.width > kMaxImagePixels)
    fail("{}: unsupported JPEG size {}x{} (more than {} pixels)", source, info.width, info.height,
         kMaxImagePixels);
  // NOTE: Huffman coding spends at least one bit per 8x8 block (its DC code), so a file smaller
  // than that lies about its size or is cut: refused before allocating and decoding. Arithmetic
  // coding has no such floor and also decodes data cut at a marker as zeros without a warning;
  // fuzz_image found a 235-byte one claiming 8988x20994. It gets 4096 blocks per byte: a flat
  // 16384x16384 image in 3 KB, beyond any real photo.
  std::int64_t blocks = 0;
  for (int i = 0; i < cinfo.num_components; ++i)
    blocks +=
        std::int64_t(cinfo.comp_info[i].width_in_blocks) * cinfo.comp_info[i].height_in_blocks;
  if (blocks > (cinfo.arith_code ? 4096 : 8) * std::int64_t(bytes.size()))
    fail("{}: truncated or corrupt JPEG (the header says {}x{}, more than {} bytes can hold)",
         source, info.width, info.height, bytes.size());
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = info.channels == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
  cinfo.scale_num = 1;
  cinfo.scale_denom = unsigned(scale_denominator(info.height, info.width, hints));
  reader.call([&] { jpeg_calc_output_dimensions(&cinfo); });
  const std::int64_t c = info.channels, h = cinfo.output_height, w = cinfo.output_width;
  Tensor out = Tensor::empty({c, h, w}, DType::u8);
  std::uint8_t* const o = out.data<std::uint8_t>();
  const bool inverted = cinfo.saw_Adobe_marker;  // see split_cmyk
  reader.call([&] {
    jpeg_start_decompress(&cinfo);
    const int n = cinfo.output_components;  // 1, 3 or 4 (CMYK)
    // Row buffers for the whole image, freed with the decompressor. Gray rows go straight into
    // the output; RGB and CMYK rows are interleaved and pass through `buffer`.
    const auto common = reinterpret_cast<j_common_ptr>(&cinfo);
    JSAMPARRAY buffer = (*cinfo.mem->alloc_sarray)(common, JPOOL_IMAGE, JDIMENSION(w * n),
                                                   JDIMENSION(kRowsPerCall));
    auto* direct = static_cast<JSAMPARRAY>(
        (*cinfo.mem->alloc_small)(common, JPOOL_IMAGE, kRowsPerCall * sizeof(JSAMPROW)));
    while (cinfo.output_scanline < cinfo.output_height) {
      const std::int64_t y0 = cinfo.output_scanline;
      const int want = int(std::min<std::int64_t>(kRowsPerCall, h - y0));
      if (n == 1) {
        for (int r = 0; r < want; ++r) direct[r] = o + (y0 + r) * w;
        jpeg_read_scanlines(&cinfo, direct, JDIMENSION(want));
        continue;
      }
      const JDIMENSION got = jpeg_read_scanlines(&cinfo, buffer, JDIMENSION(want));
      for (JDIMENSION r = 0; r < got; ++r) {
        std::uint8_t* red = o + (y0 + std::int64_t(r)) * w;
        if (n == 3)
          split_rgb(buffer[r], red, red + h * w, red + 2 * h * w, w);
        else
          split_cmyk(buffer[r], inverted, red, red + h * w, red + 2 * h * w, w);
      }
    }
  });
  // NOTE: no jpeg_finish_decompress: every pixel is decoded, what follows is not needed. (The
  // entropy decoder reads ahead into the EOI marker, so a file cut anywhere was caught above.)
  return out;
}

}  // namespace convkit::data::detail

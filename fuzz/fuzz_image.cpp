// libFuzzer target: data::decode_image (PNG via libpng, PGM/PPM) and fitting the result to a
// model input, as `convkit predict` and Predictor::predict_encoded do.
#include "fuzz_support.h"

#include <convkit/data/image_file.h>

#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  convkit::fuzz::expect_only_errors([&] {
    const auto image = convkit::data::decode_image(std::as_bytes(std::span(data, size)), "fuzz");
    convkit::data::fit_image(image, 1, 28, 28);
  });
  return 0;
}

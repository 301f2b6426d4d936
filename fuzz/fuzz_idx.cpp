// libFuzzer target: the IDX reader (raw or gzip; images and labels files), through a file as
// read_idx takes paths. The input is used as an images file and as a labels file.
#include "fuzz_support.h"

#include <convkit/data/dataset.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = convkit::fuzz::write_input(data, size, "idx");
  convkit::fuzz::expect_only_errors([&] { convkit::data::read_idx_images(path); });
  convkit::fuzz::expect_only_errors([&] { convkit::data::read_idx_labels(path); });
  return 0;
}

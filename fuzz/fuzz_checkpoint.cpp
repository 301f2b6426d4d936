// libFuzzer target: checkpoints (the safetensors container, integrity, the model spec inside,
// tensor shapes against it), through a file as load_checkpoint takes a path.
#include "fuzz_support.h"

#include <convkit/io/checkpoint.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = convkit::fuzz::write_input(data, size, "checkpoint");
  convkit::fuzz::expect_only_errors([&] { convkit::io::load_checkpoint(path); });
  return 0;
}

// libFuzzer target: run configs (YAML, strict keys, layers through the layer schema, model
// building), as `convkit train --config` reads them.
#include "fuzz_support.h"

#include <convkit/run/config.h>

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  convkit::fuzz::expect_only_errors([&] { convkit::run::parse_run_config(text, "fuzz.yaml"); });
  return 0;
}

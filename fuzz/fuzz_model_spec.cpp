// libFuzzer target: the model spec JSON reader (graph_from_json), then building the graph's
// shapes for a batch, as loading a checkpoint does.
#include "fuzz_support.h"

#include "io/model_spec.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  convkit::fuzz::expect_only_errors([&] {
    auto graph = convkit::io::graph_from_json(text, "fuzz.json");
    graph->infer(2);
  });
  return 0;
}

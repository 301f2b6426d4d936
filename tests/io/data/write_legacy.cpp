// Writes tiny_legacy_integrity.ckpt with the library of commit 6e3cc27 (the header-bytes
// integrity scheme), for tests/io/checkpoint_interop_test.cpp. Built by hand, not by CMake:
//   c++ -std=c++20 -I<6e3cc27>/include write_legacy.cpp <6e3cc27 build>/libconvkit.a -ldnnl
//       -lfmt -lcrypto -lcurl -lpng -lz -fopenmp -o write_legacy && ./write_legacy OUT.ckpt
#include <convkit/io/checkpoint.h>
#include <convkit/nn/layers.h>

int main(int argc, char** argv) {
  namespace nn = convkit::nn;
  auto model = nn::sequential({1, 4, 4}, {nn::Conv2D{.filters = 2, .kernel = 3}, nn::Flatten{},
                                          nn::Dense{.units = 3, .name = "head"}});
  model.initialize(7);
  convkit::io::save_checkpoint(
      argc > 1 ? argv[1] : "tiny_legacy_integrity.ckpt", model,
      {.epoch = 2, .rng_json = R"({"seed": 7})", .extra_json = R"({"note": "interop fixture"})"});
}

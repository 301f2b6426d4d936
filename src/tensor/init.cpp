// Weight initializers on top of the counter-based RNG.
#include <convkit/tensor/init.h>
#include <convkit/util/rng.h>

#include <array>
#include <cmath>
#include <utility>

namespace convkit {

namespace {
constexpr std::array<std::pair<InitKind, std::string_view>, 11> kNames{{
    {InitKind::Default, "default"},
    {InitKind::Zeros, "zeros"},
    {InitKind::Ones, "ones"},
    {InitKind::Constant, "constant"},
    {InitKind::Uniform, "uniform"},
    {InitKind::Normal, "normal"},
    {InitKind::TorchUniform, "torch_uniform"},
    {InitKind::HeUniform, "he_uniform"},
    {InitKind::HeNormal, "he_normal"},
    {InitKind::GlorotUniform, "glorot_uniform"},
    {InitKind::GlorotNormal, "glorot_normal"},
}};
}  // namespace

std::string_view name_of(InitKind kind) {
  for (auto& [k, n] : kNames)
    if (k == kind) return n;
  return "?";
}

InitKind init_kind_from_name(std::string_view name) {
  for (auto& [k, n] : kNames)
    if (n == name) return k;
  fail(
      "unknown initializer '{}' (expected one of default, zeros, ones, constant, uniform, normal, "
      "torch_uniform, he_uniform, he_normal, glorot_uniform, glorot_normal)",
      name);
}

void initialize(const Tensor& t, Init init, std::int64_t fan_in, std::int64_t fan_out,
                std::uint64_t key) {
  float* p = t.data<float>();
  const std::int64_t n = t.numel();
  const double fi = double(std::max<std::int64_t>(fan_in, 1));
  const double fo = double(std::max<std::int64_t>(fan_out, 1));
  auto uniform = [&](double bound) { fill_uniform(p, n, key, float(-bound), float(bound)); };
  switch (init.kind) {
    case InitKind::Default:
      fail("initialize: InitKind::Default must be resolved by the op");
    case InitKind::Zeros:
      t.fill(0.0f);
      break;
    case InitKind::Ones:
      t.fill(1.0f);
      break;
    case InitKind::Constant:
      t.fill(init.a);
      break;
    case InitKind::Uniform:
      fill_uniform(p, n, key, init.a, init.b);
      break;
    case InitKind::Normal:
      fill_normal(p, n, key, init.a, init.b);
      break;
    case InitKind::TorchUniform:
      uniform(1.0 / std::sqrt(fi));
      break;
    case InitKind::HeUniform:
      uniform(std::sqrt(6.0 / fi));
      break;
    case InitKind::HeNormal:
      fill_normal(p, n, key, 0.0f, float(std::sqrt(2.0 / fi)));
      break;
    case InitKind::GlorotUniform:
      uniform(std::sqrt(6.0 / (fi + fo)));
      break;
    case InitKind::GlorotNormal:
      fill_normal(p, n, key, 0.0f, float(std::sqrt(2.0 / (fi + fo))));
      break;
  }
}

}  // namespace convkit

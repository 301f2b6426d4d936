// Checkpoint save/load: a model, its optimizer state and the trainer's resume data in one
// safetensors file (layout in include/convkit/io/checkpoint.h, container in io/safetensors.h).
#include <convkit/io/checkpoint.h>
#include <convkit/version.h>

#include "io/model_spec.h"
#include "io/safetensors.h"
#include "nn/model_access.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <set>

namespace convkit::io {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kFormatKey = "convkit.format";
constexpr std::string_view kFormatVersionKey = "convkit.format_version";
constexpr std::string_view kVersionKey = "convkit.version";
constexpr std::string_view kFormat = "checkpoint";
constexpr std::string_view kFormatVersion = "1";
constexpr std::string_view kParamPrefix = "param.";
constexpr std::string_view kOptimPrefix = "optim.";
constexpr std::string_view kTrainingWeights = "train.weights";

std::optional<Json> parse_json(std::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::string optimizer_json(const CheckpointContents& c) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : c.optimizer_state) names.push_back(name);
  return Json{{"name", c.optimizer_name},
              {"steps", c.optimizer_steps},
              {"lr", c.optimizer_lr},
              {"state", names}}
      .dump();
}

void validate_contents(const std::string& target, const graph::ParamStore& params,
                       const CheckpointContents& c) {
  if (c.epoch < 0) fail("save_checkpoint {}: epoch must be >= 0, got {}", target, c.epoch);
  if (auto rng = parse_json(c.rng_json); !rng || !rng->is_object())
    fail("save_checkpoint {}: rng_json must be a JSON object, got '{}'", target, c.rng_json);
  if (!parse_json(c.extra_json))
    fail("save_checkpoint {}: extra_json is not valid JSON: '{}'", target, c.extra_json);
  if (c.optimizer_steps < 0)
    fail("save_checkpoint {}: optimizer_steps must be >= 0, got {}", target, c.optimizer_steps);
  if (c.optimizer_name.empty() && (!c.optimizer_state.empty() || c.optimizer_steps != 0))
    fail("save_checkpoint {}: optimizer state or steps given without an optimizer_name", target);
  const Tensor& w = c.training_weights;
  if (w.defined() && (w.dtype() != DType::f32 || !w.is_contiguous() || w.numel() != params.numel()))
    fail(
        "save_checkpoint {}: training_weights must be a contiguous f32 tensor of {} floats, got {} "
        "{}",
        target, params.numel(), name_of(w.dtype()), w.shape().str());
  std::set<std::string_view> names;
  for (const auto& [name, t] : c.optimizer_state) {
    if (name.empty() || !names.insert(name).second)
      fail("save_checkpoint {}: optimizer state name '{}' is empty or repeated", target, name);
    if (!t.defined() || t.dtype() != DType::f32 || !t.is_contiguous() ||
        t.numel() != params.numel())
      fail(
          "save_checkpoint {}: optimizer state '{}' must be a contiguous f32 tensor of {} floats "
          "(the model's "
          "parameter block), got {} {}",
          target, name, params.numel(), t.defined() ? name_of(t.dtype()) : "undefined",
          t.defined() ? t.shape().str() : "");
  }
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const nn::Model& model,
                     const CheckpointContents& contents) {
  const std::string target = path.string();
  const auto& graph = nn::ModelAccess::graph(model);
  const auto& params = nn::ModelAccess::params(model);
  validate_contents(target, params, contents);

  safetensors::Metadata meta;
  meta.emplace(kFormatKey, kFormat);
  meta.emplace(kFormatVersionKey, kFormatVersion);
  meta.emplace(kVersionKey, CONVKIT_VERSION);
  meta.emplace("model", graph_to_json(graph));
  meta.emplace("seed", std::to_string(model.seed()));
  meta.emplace("optimizer", optimizer_json(contents));
  meta.emplace("epoch", std::to_string(contents.epoch));
  meta.emplace("rng", contents.rng_json);
  meta.emplace("extra", contents.extra_json);

  std::vector<safetensors::TensorToWrite> tensors;
  for (std::size_t i = 0; i < graph.params().size(); ++i)
    tensors.push_back(
        {fmt::format("{}{}", kParamPrefix, graph.params()[i].name), params.value(int(i))});
  for (const auto& [name, t] : contents.optimizer_state)
    tensors.push_back({fmt::format("{}{}", kOptimPrefix, name), t.reshape(Shape{t.numel()})});
  if (contents.training_weights.defined())
    tensors.push_back({std::string(kTrainingWeights), contents.training_weights.reshape(Shape{
                                                          contents.training_weights.numel()})});
  safetensors::write_file(path, meta, tensors);
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path) {
  const auto file = safetensors::File::read(path);

  // The header is intact (integrity checked); now check it describes a checkpoint we can use.
  if (const auto& format = file.meta(kFormatKey); format != kFormat)
    file.fail(fmt::format("not a convkit checkpoint: {} is '{}', expected '{}'", kFormatKey, format,
                          kFormat));
  if (const auto& v = file.meta(kFormatVersionKey); v != kFormatVersion)
    file.fail(fmt::format(
        "checkpoint format version '{}' is not supported: convkit {} wrote it, this convkit {} "
        "reads version {}",
        v, file.meta(kVersionKey), CONVKIT_VERSION, kFormatVersion));
  file.meta(kVersionKey);  // required even though only informational

  CheckpointContents contents;
  const auto seed = parse_integer<std::uint64_t>(file.meta("seed"));
  if (!seed)
    file.fail(
        fmt::format("metadata 'seed' must be an unsigned integer, found '{}'", file.meta("seed")));
  const auto epoch = parse_integer<std::int64_t>(file.meta("epoch"));
  if (!epoch || *epoch < 0)
    file.fail(
        fmt::format("metadata 'epoch' must be an integer >= 0, found '{}'", file.meta("epoch")));
  contents.epoch = *epoch;
  contents.rng_json = file.meta("rng");
  if (auto rng = parse_json(contents.rng_json); !rng || !rng->is_object())
    file.fail("metadata 'rng' must be a JSON object");
  contents.extra_json = file.meta("extra");
  if (!parse_json(contents.extra_json)) file.fail("metadata 'extra' is not valid JSON");

  const auto opt = parse_json(file.meta("optimizer"));
  auto field = [&](std::string_view key, auto&& ok) {
    return opt->contains(key) && ok((*opt)[std::string(key)]);
  };
  if (!opt || !opt->is_object() || !field("name", [](const Json& j) { return j.is_string(); }) ||
      !field("steps", [](const Json& j) { return j.is_number_unsigned(); }) ||
      !field("lr", [](const Json& j) { return j.is_number(); }) ||
      !field("state", [](const Json& j) { return j.is_array(); }))
    file.fail(fmt::format(
        "metadata 'optimizer' must be a JSON object {{\"name\", \"steps\" >= 0, \"lr\", \"state\": "
        "[names]}}, found '{}'",
        file.meta("optimizer")));
  contents.optimizer_name = (*opt)["name"].get<std::string>();
  const auto steps = (*opt)["steps"].get<std::uint64_t>();
  if (steps > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    file.fail(fmt::format("metadata 'optimizer': steps {} is out of range", steps));
  contents.optimizer_steps = static_cast<std::int64_t>(steps);
  contents.optimizer_lr = (*opt)["lr"].get<double>();
  std::vector<std::string> state_names;
  for (const auto& n : (*opt)["state"]) {
    if (!n.is_string() || n.get<std::string>().empty())
      file.fail(fmt::format("metadata 'optimizer': state names must be non-empty strings, found {}",
                            n.dump()));
    state_names.push_back(n.get<std::string>());
  }

  auto graph =
      graph_from_json(file.meta("model"), fmt::format("{}: metadata 'model'", path.string()));
  nn::Model model = nn::ModelAccess::from_graph(graph, *seed);
  const graph::ParamStore& params = nn::ModelAccess::params(model);

  // Every tensor must be a parameter of the spec or a listed optimizer buffer, with the right
  // dtype and shape; every parameter and listed buffer must be present.
  std::vector<bool> param_seen(graph->params().size(), false);
  std::vector<Tensor> buffers(state_names.size());
  for (const auto& t : file.tensors()) {
    const std::string_view name = t.name;
    if (t.dtype != DType::f32)
      file.fail(
          fmt::format("tensor '{}' is {}, expected F32", name, safetensors::dtype_name(t.dtype)));
    if (name.starts_with(kParamPrefix)) {
      const auto pname = name.substr(kParamPrefix.size());
      std::size_t i = 0;
      while (i < graph->params().size() && graph->params()[i].name != pname) ++i;
      if (i == graph->params().size())
        file.fail(fmt::format("unexpected tensor '{}': the model spec has no parameter '{}'", name,
                              pname));
      const auto& want = graph->params()[i].spec.shape;
      if (t.shape != want)
        file.fail(fmt::format("tensor '{}' has shape {} but the model spec makes {}", name,
                              t.shape.str(), want.str()));
      const auto bytes = file.data(t);
      if (!bytes.empty()) std::memcpy(params.value(int(i)).raw(), bytes.data(), bytes.size());
      param_seen[i] = true;
    } else if (name.starts_with(kOptimPrefix)) {
      const auto sname = name.substr(kOptimPrefix.size());
      const auto it = std::find(state_names.begin(), state_names.end(), sname);
      if (it == state_names.end())
        file.fail(fmt::format("unexpected tensor '{}': metadata 'optimizer' lists no state '{}'",
                              name, sname));
      if (t.shape != Shape{params.numel()})
        file.fail(fmt::format("tensor '{}' has shape {} but the model's parameter block needs [{}]",
                              name, t.shape.str(), params.numel()));
      buffers[std::size_t(it - state_names.begin())] = file.tensor(t);
    } else if (name == kTrainingWeights) {
      if (t.shape != Shape{params.numel()})
        file.fail(fmt::format("tensor '{}' has shape {} but the model's parameter block needs [{}]",
                              name, t.shape.str(), params.numel()));
      contents.training_weights = file.tensor(t);
    } else {
      file.fail(fmt::format(
          "unexpected tensor '{}' (checkpoint tensors are named param.*, optim.* or {})", name,
          kTrainingWeights));
    }
  }
  for (std::size_t i = 0; i < param_seen.size(); ++i)
    if (!param_seen[i])
      file.fail(fmt::format("tensor '{}{}' is missing", kParamPrefix, graph->params()[i].name));
  for (std::size_t k = 0; k < state_names.size(); ++k) {
    if (!buffers[k].defined())
      file.fail(fmt::format("tensor '{}{}' is missing", kOptimPrefix, state_names[k]));
    contents.optimizer_state.emplace_back(state_names[k], buffers[k]);
  }
  if (contents.optimizer_name.empty() && (!state_names.empty() || contents.optimizer_steps != 0))
    file.fail("metadata 'optimizer' has state or steps but no name");
  return LoadedCheckpoint{std::move(model), std::move(contents)};
}

void capture_optimizer(const optim::Optimizer& optimizer, CheckpointContents& contents) {
  contents.optimizer_name = std::string(optimizer.name());
  contents.optimizer_steps = optimizer.steps();
  contents.optimizer_lr = optimizer.lr();
  contents.optimizer_state = optimizer.state();
}

void restore_optimizer(const CheckpointContents& contents, optim::Optimizer& optimizer) {
  if (contents.optimizer_name.empty())
    fail("restore_optimizer: the checkpoint holds no optimizer state");
  if (contents.optimizer_name != optimizer.name())
    fail("restore_optimizer: the checkpoint holds '{}' state but the optimizer is '{}'",
         contents.optimizer_name, optimizer.name());
  optimizer.load_state(contents.optimizer_state, contents.optimizer_steps);
  if (contents.optimizer_lr > 0) optimizer.set_lr(contents.optimizer_lr);
}

}  // namespace convkit::io

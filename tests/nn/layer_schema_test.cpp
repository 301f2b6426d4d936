// The layer schema and the activation table: every layer type builds from its defaults (plus its
// required keys) through a LayerReader and adds the op its row names; readers see every key a
// layer reads; every activation name maps to one kind and one op. (The YAML reader's strictness,
// e.g. unknown keys, is checked end to end in tests/e2e/layers_yaml_test.cpp.)
#include <convkit/nn/layer_schema.h>

#include "graph/graph.h"
#include "ops/activation_table.h"
#include "ops/registry.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

namespace convkit::nn {
namespace {

using Values = std::map<std::string, std::string>;

// A LayerReader over "key" -> "text" (lists as "1,2,3"), recording the keys read.
class MapReader final : public LayerReader {
 public:
  explicit MapReader(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  std::set<std::string> known;

  bool has(const std::string& key) const override { return values_.count(key) > 0; }
  std::int64_t get_int(const std::string& key, std::int64_t fallback) override {
    return has(mark(key)) ? std::stoll(values_.at(key)) : fallback;
  }
  std::int64_t required_int(const std::string& key) override { return std::stoll(need(key)); }
  double get_float(const std::string& key, double fallback) override {
    return has(mark(key)) ? std::stod(values_.at(key)) : fallback;
  }
  bool get_bool(const std::string& key, bool fallback) override {
    return has(mark(key)) ? values_.at(key) == "true" : fallback;
  }
  std::string get_string(const std::string& key, const std::string& fallback) override {
    return has(mark(key)) ? values_.at(key) : fallback;
  }
  std::vector<std::int64_t> get_ints(const std::string& key,
                                     const std::vector<std::int64_t>& fallback) override {
    return has(mark(key)) ? ints(values_.at(key)) : fallback;
  }
  std::vector<std::int64_t> required_ints(const std::string& key) override {
    return ints(need(key));
  }
  std::optional<std::string> scalar(const std::string& key) override {
    if (!has(mark(key)) || values_.at(key).find(',') != std::string::npos) return std::nullopt;
    return values_.at(key);
  }
  std::vector<Layer> layers(const std::string& key) override {
    mark(key);
    return {ReLU{}};
  }
  std::string path_of(const std::string& key) const override { return "layer." + key; }
  [[noreturn]] void error(const std::string& message) const override { throw Error(message); }

 private:
  const std::string& mark(const std::string& key) { return *known.insert(key).first; }
  const std::string& need(const std::string& key) {
    if (!has(mark(key))) error("missing required key '" + path_of(key) + "'");
    return values_.at(key);
  }
  static std::vector<std::int64_t> ints(const std::string& text) {
    std::vector<std::int64_t> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoll(item));
    return out;
  }
  std::map<std::string, std::string> values_;
};

// The keys a layer type cannot do without.
const std::map<std::string, std::map<std::string, std::string>> kRequired = {
    {"conv2d", {{"filters", "4"}}}, {"dense", {{"units", "3"}}}, {"reshape", {{"shape", "-1"}}},
    {"pad", {{"padding", "1"}}},    {"resize", {{"size", "8"}}},
};

std::set<std::string> op_types(const Value& v) {
  std::set<std::string> out;
  for (const auto& node : v.graph()->nodes()) out.emplace(node.op->type());
  return out;
}

TEST(LayerSchemaTest, EveryLayerTypeBuildsFromItsDefaultsAndAddsItsOp) {
  std::set<std::string_view> types;
  for (const auto& row : layer_schemas()) {
    SCOPED_TRACE(std::string(row.type));
    EXPECT_TRUE(types.insert(row.type).second) << "listed twice";
    EXPECT_EQ(find_layer_schema(row.type), &row);
    auto it = kRequired.find(std::string(row.type));
    MapReader reader(it == kRequired.end() ? std::map<std::string, std::string>{} : it->second);
    Layer layer = row.read(reader);
    // Every layer reads "name"; given keys are known keys.
    EXPECT_TRUE(reader.known.count("name"));
    if (it != kRequired.end())
      for (const auto& [key, value] : it->second) EXPECT_TRUE(reader.known.count(key)) << key;
    const bool flat = row.type == "dense" || row.type == "softmax";
    Value x = Input(flat ? Shape{12} : Shape{4, 8, 8});
    Value y = layer(x);
    if (!row.op.empty()) {
      bool registered = false;
      for (const auto& entry : ops::registered_ops()) registered |= entry.type == row.op;
      EXPECT_TRUE(registered) << row.op;
      EXPECT_TRUE(op_types(y).count(std::string(row.op))) << row.op;
    }
  }
  EXPECT_EQ(layer_type_names().size(), layer_schemas().size());
  EXPECT_EQ(find_layer_schema("conv3d"), nullptr);
}

TEST(LayerSchemaTest, ErrorsNameTheKey) {
  MapReader missing(std::map<std::string, std::string>{});
  try {
    find_layer_schema("conv2d")->read(missing);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "missing required key 'layer.filters'");
  }
  MapReader bad_act(Values{{"filters", "4"}, {"activation", "softsign"}});
  try {
    find_layer_schema("conv2d")->read(bad_act);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "'layer.activation': unknown activation 'softsign' (expected none, relu, "),
              std::string::npos)
        << e.what();
  }
  MapReader clip_act(Values{{"units", "4"}, {"activation", "clip"}});
  EXPECT_THROW(find_layer_schema("dense")->read(clip_act), Error);
  MapReader bad_clip(Values{{"min", "2"}, {"max", "1"}});
  EXPECT_THROW(find_layer_schema("clip")->read(bad_clip), Error);
  MapReader bad_pad(Values{{"padding", "1,2,3"}});
  EXPECT_THROW(find_layer_schema("pad")->read(bad_pad), Error);
}

TEST(LayerSchemaTest, EveryActivationNameMapsToOneKindAndOneOp) {
  std::set<std::string_view> names;
  std::set<ActivationKind> kinds;
  for (const auto& row : ops::activation_table()) {
    SCOPED_TRACE(std::string(row.name));
    EXPECT_TRUE(names.insert(row.name).second);
    if (!row.alias.empty()) EXPECT_TRUE(names.insert(row.alias).second);
    EXPECT_TRUE(kinds.insert(row.kind).second);
    EXPECT_EQ(&ops::activation_info(row.kind), &row);
    EXPECT_EQ(ops::find_activation(row.name), &row);
    if (row.fuses) EXPECT_TRUE(row.from_output) << "a fused activation's backward reads y only";
    if (row.kind == Activation::None) continue;
    EXPECT_EQ(ops::make_op(row.op_type, {})->type(), row.op_type);
    // As `activation:` of a conv2d (Clip needs bounds and is refused there).
    MapReader reader(Values{{"filters", "4"}, {"activation", std::string(row.name)}});
    if (row.kind == Activation::Clip) {
      EXPECT_THROW(find_layer_schema("conv2d")->read(reader), Error);
      continue;
    }
    Value y = find_layer_schema("conv2d")->read(reader)(Input({2, 5, 5}));
    EXPECT_TRUE(op_types(y).count(std::string(row.op_type)));
  }
  EXPECT_EQ(kinds.size(), std::size_t(Activation::HardSigmoid) + 1);  // every kind has a row
  MapReader swish(Values{{"units", "2"}, {"activation", "swish"}});
  EXPECT_TRUE(op_types(find_layer_schema("dense")->read(swish)(Input({3}))).count("SiLU"));
}

TEST(LayerSchemaTest, SqueezeExcitationGatesTheChannels) {
  MapReader reader(Values{{"squeeze", "2"}, {"gate", "hard_sigmoid"}});
  Value x = Input({8, 6, 6});
  Value y = find_layer_schema("squeeze_excitation")->read(reader)(x);
  EXPECT_EQ(y.shape(), (Shape{8, 6, 6}));
  auto types = op_types(y);
  for (auto t : {"GlobalAvgPool", "Conv2D", "ReLU", "HardSigmoid", "Multiply"})
    EXPECT_TRUE(types.count(t)) << t;
}

}  // namespace
}  // namespace convkit::nn

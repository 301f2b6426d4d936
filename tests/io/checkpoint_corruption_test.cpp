// Corrupt, truncated, hostile and tampered checkpoint files: each is rejected with one Error
// whose message names the file, never a crash or an absurd allocation. Files with a valid
// integrity entry but a bad layout are crafted here (the test recomputes the SHA-256).
#include <convkit/io/checkpoint.h>

#include <convkit/train/step.h>

#include "io/safetensors.h"
#include "io_test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>

namespace convkit::io {
namespace {

using testing::read_bytes;
using testing::ScratchDir;
using testing::small_cnn;
using testing::write_bytes;
using Json = nlohmann::json;

// A valid checkpoint of small_cnn() with Adam state; returns its bytes.
std::string valid_checkpoint(const std::filesystem::path& path) {
  nn::Model model = small_cnn();
  model.initialize(3);
  auto adam = optim::make_adam({});
  auto plan = model.compile_training({.batch = 2});
  testing::fill_random(plan.input(), 1);
  plan.labels().data<std::int32_t>()[0] = 0;
  plan.labels().data<std::int32_t>()[1] = 2;
  train::train_step(plan, *adam);
  CheckpointContents c{.epoch = 1};
  capture_optimizer(*adam, c);
  save_checkpoint(path, model, c);
  return read_bytes(path);
}

std::uint64_t header_length(const std::string& bytes) {
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return n;
}

// The message of the Error load_checkpoint throws for `path`; "" if it loads.
std::string load_error(const std::filesystem::path& path) {
  try {
    load_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_rejected(const std::filesystem::path& path, std::string_view detail,
                     const std::string& what) {
  const std::string msg = load_error(path);
  ASSERT_FALSE(msg.empty()) << what << ": loaded without error";
  EXPECT_NE(msg.find(path.string()), std::string::npos) << what << ": " << msg;
  EXPECT_NE(msg.find(detail), std::string::npos) << what << ": want '" << detail << "' in: " << msg;
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = valid_checkpoint(dir_ / "good.ckpt");
    n_ = header_length(bytes_);
    header_ = Json::parse(bytes_.substr(8, n_));
    header_["__metadata__"].erase("integrity");
    data_ = bytes_.substr(8 + n_);
  }

  // Writes `header` (without integrity) and `data` as a safetensors file with a correct
  // integrity entry, like a careful attacker or a buggy writer would.
  std::filesystem::path craft(const std::string& name, const Json& header,
                              const std::string& data) {
    Json h = header;
    const std::string hashed = h.dump() + data;
    h["__metadata__"]["integrity"] =
        "sha256:" + safetensors::sha256_hex(std::as_bytes(std::span(hashed.data(), hashed.size())));
    std::string text = h.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    const std::uint64_t n = text.size();
    std::memcpy(out.data(), &n, 8);
    const auto path = dir_ / name;
    write_bytes(path, out + text + data);
    return path;
  }

  ScratchDir dir_;
  std::string bytes_;
  std::uint64_t n_ = 0;
  Json header_;  // parsed, integrity removed
  std::string data_;
};

TEST_F(CorruptionTest, TheUntouchedFileLoads) {
  EXPECT_EQ(load_error(dir_ / "good.ckpt"), "");
}

TEST_F(CorruptionTest, TruncatedFilesAreRejected) {
  const std::vector<std::pair<std::size_t, std::string_view>> cuts = {
      {0, "truncated"},
      {4, "truncated"},
      {8, "header length"},
      {8 + n_ / 2, "header length"},
      {8 + n_, "checksum mismatch"},
      {8 + n_ + data_.size() / 2, "checksum mismatch"},
      {bytes_.size() - 1, "checksum mismatch"}};
  for (auto [size, detail] : cuts) {
    const auto path = dir_ / ("cut_" + std::to_string(size) + ".ckpt");
    write_bytes(path, bytes_.substr(0, size));
    expect_rejected(path, detail, "truncated at " + std::to_string(size));
  }
}

TEST_F(CorruptionTest, EveryFlippedHeaderByteIsDetected) {
  const auto path = dir_ / "flipped.ckpt";
  int loaded = 0, unnamed = 0;
  for (std::size_t pos = 0; pos < 8 + n_; ++pos)
    for (unsigned mask : {0x01u, 0x20u, 0x80u}) {
      std::string bad = bytes_;
      bad[pos] = char(std::uint8_t(bad[pos]) ^ mask);
      write_bytes(path, bad);
      const std::string msg = load_error(path);
      if (msg.empty()) {
        ++loaded;
        ADD_FAILURE() << "byte " << pos << " ^ " << mask << " went undetected";
      } else if (msg.find(path.string()) == std::string::npos) {
        ++unnamed;
        ADD_FAILURE() << "byte " << pos << ": message does not name the file: " << msg;
      }
      if (loaded + unnamed > 5) return;
    }
}

TEST_F(CorruptionTest, FlippedDataBytesAreChecksumMismatches) {
  for (std::size_t k : {std::size_t(0), data_.size() / 3, data_.size() / 2, data_.size() - 1}) {
    std::string bad = bytes_;
    bad[8 + n_ + k] = char(std::uint8_t(bad[8 + n_ + k]) ^ 0x04);
    const auto path = dir_ / ("data_" + std::to_string(k) + ".ckpt");
    write_bytes(path, bad);
    expect_rejected(path, "checksum mismatch: the file is corrupt or was modified",
                    "data byte " + std::to_string(k));
  }
}

TEST_F(CorruptionTest, HostileHeaderLengthsAreRejectedWithoutAllocating) {
  for (std::uint64_t n :
       {std::uint64_t(bytes_.size() - 7), std::uint64_t(1) << 40, ~std::uint64_t(0)}) {
    std::string bad = bytes_;
    std::memcpy(bad.data(), &n, 8);
    const auto path = dir_ / "long_header.ckpt";
    write_bytes(path, bad);
    expect_rejected(path, "exceeds", "header length " + std::to_string(n));
  }
}

TEST_F(CorruptionTest, ARespelledHeaderIsNotCorruption) {
  // A space after the opening brace parses to the same JSON. Until the content hash this was
  // rejected (the header bytes had to be canonical); now integrity covers what the file holds,
  // not its spelling, so a file another writer re-saved loads (checkpoint_interop_test.cpp).
  std::string text = bytes_.substr(8, n_);
  text.insert(1, " ");
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string bad(8, '\0');
  const std::uint64_t n = text.size();
  std::memcpy(bad.data(), &n, 8);
  write_bytes(dir_ / "spaced.ckpt", bad + text + data_);
  EXPECT_EQ(load_error(dir_ / "spaced.ckpt"), "");
}

TEST_F(CorruptionTest, NonJsonHeaderIsRejected) {
  std::string bad = bytes_;
  for (std::size_t i = 8; i < 8 + n_; ++i) bad[i] = 'x';
  write_bytes(dir_ / "garbage.ckpt", bad);
  expect_rejected(dir_ / "garbage.ckpt", "not valid JSON", "garbage header");
  write_bytes(dir_ / "other.bin", std::string("\x02\0\0\0\0\0\0\0[]", 10));
  expect_rejected(dir_ / "other.bin", "JSON object", "array header");
}

// Files with a valid integrity entry but a wrong layout or content.
TEST_F(CorruptionTest, CraftedHeadersAreRejected) {
  struct Case {
    std::string name;
    std::function<void(Json&, std::string&)> edit;
    std::string detail;
  };
  const std::string weight = "param.conv2d.weight";
  const std::vector<Case> cases = {
      {"control", [](Json&, std::string&) {}, ""},
      {"no_model", [](Json& h, std::string&) { h["__metadata__"].erase("model"); },
       "metadata entry 'model' is missing"},
      {"no_rng", [](Json& h, std::string&) { h["__metadata__"].erase("rng"); },
       "metadata entry 'rng' is missing"},
      {"format", [](Json& h, std::string&) { h["__metadata__"]["convkit.format"] = "weights"; },
       "not a convkit checkpoint"},
      {"version", [](Json& h, std::string&) { h["__metadata__"]["convkit.format_version"] = "2"; },
       "not supported"},
      {"epoch", [](Json& h, std::string&) { h["__metadata__"]["epoch"] = "-4"; },
       "metadata 'epoch'"},
      {"optimizer", [](Json& h, std::string&) { h["__metadata__"]["optimizer"] = "adam"; },
       "metadata 'optimizer'"},
      {"meta_number", [](Json& h, std::string&) { h["__metadata__"]["epoch"] = 1; },
       "must be a string"},
      {"out_of_range",
       [&](Json& h, std::string& d) { h[weight]["data_offsets"][1] = d.size() + 4; }, "outside"},
      {"overlap",
       [&](Json& h, std::string&) {
         auto& o = h[weight]["data_offsets"];
         o[0] = o[0].get<std::uint64_t>() + 4;
         o[1] = o[1].get<std::uint64_t>() + 4;
       },
       "overlap"},
      {"gap",
       [](Json& h, std::string& d) {
         d += std::string(8, '\0');
         (void)h;
       },
       "belong to no tensor"},
      {"overflow",
       [&](Json& h, std::string&) {
         h[weight]["shape"] = {1ull << 40, 1ull << 40, 1ull << 40};
       },
       "more elements"},
      {"negative_dim",
       [&](Json& h, std::string&) {
         h[weight]["shape"] = {-4, 1, 3, 3};
       },
       "non-negative"},
      {"f64", [&](Json& h, std::string&) { h[weight]["dtype"] = "F64"; }, "unsupported dtype"},
      {"i32", [&](Json& h, std::string&) { h[weight]["dtype"] = "I32"; }, "expected F32"},
      {"shape",
       [&](Json& h, std::string&) {
         h[weight]["shape"] = {4, 9};
       },
       "has shape [4, 9]"},
      {"extra_param",
       [](Json& h, std::string&) {
         h["param.ghost.weight"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
       },
       "unexpected tensor 'param.ghost.weight'"},
      {"missing_param",
       [&](Json& h, std::string&) {
         h["junk.x"] = h[weight];
         h.erase(weight);
       },
       "unexpected tensor 'junk.x'"},
      {"missing_state",
       [](Json& h, std::string&) {
         h["optim.unlisted"] = h["optim.exp_avg"];
         h.erase("optim.exp_avg");
       },
       "unexpected tensor 'optim.unlisted'"},
  };
  for (const auto& c : cases) {
    Json h = header_;
    std::string d = data_;
    c.edit(h, d);
    const auto path = craft(c.name + ".ckpt", h, d);
    if (c.detail.empty())
      EXPECT_EQ(load_error(path), "") << "the crafting helper itself must produce loadable files";
    else
      expect_rejected(path, c.detail, c.name);
  }
}

TEST_F(CorruptionTest, MissingTensorsAreNamed) {
  // Drop the last tensor in data order and its bytes, so the layout stays consistent.
  std::string last;
  std::uint64_t last_begin = 0;
  for (const auto& [name, entry] : header_.items())
    if (name != "__metadata__" && entry["data_offsets"][0].get<std::uint64_t>() >= last_begin) {
      last_begin = entry["data_offsets"][0].get<std::uint64_t>();
      last = name;
    }
  Json h = header_;
  h.erase(last);
  const auto path = craft("missing.ckpt", h, data_.substr(0, last_begin));
  expect_rejected(path, "tensor '" + last + "' is missing", "missing " + last);
}

TEST_F(CorruptionTest, TamperedSpecFailsOnTheWeightShapes) {
  // filters 4 -> 6 in the first conv: every later shape still infers, but the stored weights
  // no longer fit. Checked twice: against the spec's own param list, and without it against
  // the tensors.
  Json spec = Json::parse(header_["__metadata__"]["model"].get<std::string>());
  ASSERT_EQ(spec["nodes"][0]["attrs"]["filters"], 4);
  spec["nodes"][0]["attrs"]["filters"] = 6;
  Json h = header_;
  h["__metadata__"]["model"] = spec.dump();
  expect_rejected(craft("tampered.ckpt", h, data_), "params[0].shape", "tampered spec");

  spec.erase("params");
  h["__metadata__"]["model"] = spec.dump();
  expect_rejected(
      craft("tampered_no_params.ckpt", h, data_),
      "tensor 'param.conv2d.weight' has shape [4, 1, 3, 3] but the model spec makes [6, 1, 3, 3]",
      "tampered spec without params");
}

}  // namespace
}  // namespace convkit::io

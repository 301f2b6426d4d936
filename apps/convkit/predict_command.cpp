// `convkit predict CHECKPOINT|RUN_DIR INPUT...`: classify images (JPEG, PNG, PGM, PPM) with
// train::Predictor. Inputs are files, folders (every image below them, sorted) or quoted globs
// ("photos/*.jpg"); images are read in chunks, so a folder of any size streams. Each image is
// resized as training resized it (the run's dataset.resize) and normalized as in training, or
// kept at its own size (--keep-size, models that end in global pooling). Prints the top-k classes
// with probabilities, JSON (--json) or a CSV file (--csv FILE: path, top-k classes and
// probabilities); --skip-errors reports unreadable images and goes on.
#include "commands.h"

#include <convkit/data/image_file.h>
#include <convkit/data/image_folder.h>
#include <convkit/run/run_dir.h>

#include <fmt/format.h>
#include <fnmatch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace convkit::app {

namespace {

namespace fs = std::filesystem;

struct PredictArgs {
  std::string checkpoint;
  std::vector<std::string> inputs;
  int top_k = 3;
  bool json = false;
  bool invert = false;
  bool keep_size = false;
  bool skip_errors = false;
  std::string csv;
  std::int64_t batch = 64;
};

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".pgm" || ext == ".ppm";
}

// The image files an input names: the file, every image below a folder (sorted), or the
// matches of a glob in its last component ("dir/*.jpg"). Nothing found is a DataError.
std::vector<std::string> expand(const std::string& input) {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path p(input);
  if (fs::is_directory(p, ec)) {
    for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
         it.increment(ec))
      if (it->is_regular_file() && is_image_name(it->path())) out.push_back(it->path().string());
    std::sort(out.begin(), out.end());
    if (out.empty())
      throw run::DataError(
          fmt::format("{}: no images (.jpg, .jpeg, .png, .pgm, .ppm) in this folder", input));
    return out;
  }
  if (input.find_first_of("*?[") != std::string::npos) {
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    const std::string pattern = p.filename().string();
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() &&
          fnmatch(pattern.c_str(), entry.path().filename().c_str(), 0) == 0)
        out.push_back(p.has_parent_path() ? entry.path().string()
                                          : entry.path().filename().string());
    std::sort(out.begin(), out.end());
    if (out.empty()) throw run::DataError(fmt::format("{}: no file matches", input));
    return out;
  }
  if (!fs::exists(p, ec)) throw run::DataError(fmt::format("{}: no such file or folder", input));
  return {input};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

int run_predict(const PredictArgs& args) {
  train::Predictor predictor =
      run::open_predictor(args.checkpoint, {.batch_size = args.batch, .keep_size = args.keep_size});
  std::vector<std::string> files;
  for (const auto& input : args.inputs) {
    auto found = expand(input);
    files.insert(files.end(), found.begin(), found.end());
  }
  std::ofstream csv;
  const fs::path csv_path = args.csv;
  const fs::path csv_tmp = csv_path.string() + ".tmp";
  if (!args.csv.empty()) {
    csv.open(csv_tmp);
    if (!csv) throw run::DataError(fmt::format("{}: cannot write", args.csv));
    csv << "path";
    for (int k = 1; k <= args.top_k; ++k) csv << ",class_" << k << ",probability_" << k;
    csv << ",error\n";
  }
  nlohmann::json out = nlohmann::json::array();
  std::int64_t failed = 0;
  const bool quiet = args.json || !args.csv.empty();
  for (std::size_t start = 0; start < files.size(); start += std::size_t(args.batch)) {
    const std::size_t end = std::min(files.size(), start + std::size_t(args.batch));
    std::vector<Tensor> images;
    std::vector<std::size_t> which;
    for (std::size_t i = start; i < end; ++i) {
      try {
        Tensor image = data::read_image(files[i]);
        if (args.invert)
          for (std::uint8_t *p = image.data<std::uint8_t>(), *e = p + image.numel(); p != e; ++p)
            *p = 255 - *p;
        images.push_back(image);
        which.push_back(i);
      } catch (const Error& e) {
        if (!args.skip_errors) throw run::DataError(e.what());
        ++failed;
        fmt::print(stderr, "convkit: skipped {}\n", e.what());
        if (csv.is_open()) {
          csv << csv_field(files[i]);
          for (int k = 0; k < args.top_k; ++k) csv << ",,";
          csv << "," << csv_field(e.what()) << "\n";
        }
      }
    }
    if (images.empty()) continue;
    const Tensor probabilities =
        run::as_data_error([&] { return predictor.predict_images(images); });
    for (std::size_t j = 0; j < images.size(); ++j) {
      const std::string& file = files[which[j]];
      const auto top =
          train::top_k(probabilities, std::int64_t(j), args.top_k, predictor.class_names());
      if (csv.is_open()) {
        csv << csv_field(file);
        for (int k = 0; k < args.top_k; ++k)
          if (k < int(top.size()))
            csv << "," << csv_field(top[k].label) << ","
                << fmt::format("{:.6f}", top[k].probability);
          else
            csv << ",,";
        csv << ",\n";
      }
      if (args.json) {
        nlohmann::json entry{{"image", file}};
        for (const auto& c : top)
          entry["top"].push_back(
              {{"class", c.index}, {"label", c.label}, {"probability", c.probability}});
        out.push_back(entry);
      }
      if (!quiet) {
        fmt::print("{}\n", file);
        int rank = 0;
        for (const auto& c : top)
          fmt::print("  {:>2}. {:<16} {:6.2f}%\n", ++rank, c.label, 100.0 * c.probability);
      }
    }
    if (!args.csv.empty() && files.size() > std::size_t(args.batch))
      fmt::print(stderr, "predict: {}/{} images\n", end, files.size());
  }
  if (args.json) fmt::print("{}\n", out.dump(2));
  if (csv.is_open()) {
    csv.close();
    if (!csv) throw run::DataError(fmt::format("{}: write failed", args.csv));
    fs::rename(csv_tmp, csv_path);
    fmt::print(stderr, "predict: wrote {} rows to {}{}\n", files.size(), args.csv,
               failed ? fmt::format(" ({} unreadable, with their error)", failed) : "");
  }
  return 0;
}

}  // namespace

CommandRunner add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand(
      "predict",
      "Classify images (JPEG, PNG, PGM, PPM; files, folders or globs) with a checkpoint");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint file (.ckpt) or run directory")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("inputs", args->inputs, "image files, folders or quoted globs")->required();
  cmd->add_option("-k,--top-k", args->top_k, "how many classes to show")->check(at_least_one());
  cmd->add_option("--csv", args->csv, "write path, top-k classes and probabilities to this CSV");
  cmd->add_option("--batch", args->batch, "images per batch")->check(at_least_one());
  cmd->add_flag("--keep-size", args->keep_size,
                "predict each image at its own size (models ending in global pooling)");
  cmd->add_flag("--skip-errors", args->skip_errors,
                "report unreadable images on stderr (and in the CSV) and go on");
  cmd->add_flag("--invert", args->invert, "invert intensities (dark digits on a light background)");
  cmd->add_flag("--json", args->json, "print JSON");
  return [args] { return run_predict(*args); };
}

}  // namespace convkit::app

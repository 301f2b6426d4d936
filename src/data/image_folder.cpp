// Scanning image folders and CSV lists into an ImageFileSource, and reading its images
// (image_folder.h). A scan opens every file once to read its first bytes: cheap next to decoding,
// and it turns empty and non-image files into messages before training starts.
#include <convkit/data/image_file.h>
#include <convkit/data/image_folder.h>
#include <convkit/util/error.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

namespace convkit::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool wanted(const fs::path& p, const ImageFileOptions& o) {
  const std::string ext = lower(p.extension().string());
  return std::find(o.extensions.begin(), o.extensions.end(), ext) != o.extensions.end();
}

// Why `path` is not a usable image judging by its first bytes, or "" when it may be one.
std::string first_bytes_problem(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fmt::format("cannot open ({})", std::strerror(errno));
  unsigned char b[8] = {};
  const std::size_t n = std::fread(b, 1, sizeof b, f);
  std::fclose(f);
  if (n == 0) return "empty file (0 bytes)";
  const bool jpeg = n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
  const bool png = n >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool pnm = n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6';
  if (jpeg || png || pnm) return "";
  std::string start;
  for (std::size_t i = 0; i < std::min<std::size_t>(n, 4); ++i)
    start += std::isprint(b[i]) ? fmt::format("{}", char(b[i])) : fmt::format("\\x{:02x}", b[i]);
  return fmt::format("not an image (expected JPEG, PNG or PGM/PPM; it starts with '{}')", start);
}

// Keeps the files that look like images; the others are an Error or go to `skipped`.
void check_files(std::vector<fs::path>& paths, std::vector<std::int32_t>& labels,
                 const ImageFileOptions& o, std::vector<std::string>& skipped) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::string why = first_bytes_problem(paths[i]);
    if (!why.empty()) {
      if (!o.skip_bad_files)
        fail("{}: {} (set dataset.on_error: skip to leave such files out)", paths[i].string(), why);
      skipped.push_back(fmt::format("{}: {}", paths[i].string(), why));
      continue;
    }
    paths[kept] = std::move(paths[i]);
    labels[kept++] = labels[i];
  }
  paths.resize(kept);
  labels.resize(kept);
}

std::string extension_list(const ImageFileOptions& o) {
  std::string out;
  for (const auto& e : o.extensions) out += (out.empty() ? "" : ", ") + e;
  return out;
}

// The fields of one CSV line (double quotes group, "" is a quote).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        out.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.emplace_back();
    } else if (ch != '\r') {
      out.back() += ch;
    }
  }
  for (auto& f : out) {
    const auto b = f.find_first_not_of(" \t"), e = f.find_last_not_of(" \t");
    f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
  }
  return out;
}

}  // namespace

std::vector<std::byte> read_file_bytes(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("{}: cannot open ({})", path.string(), std::strerror(errno));
  std::vector<std::byte> bytes;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  if (size > 0) {
    bytes.resize(std::size_t(size));
    const std::size_t got = std::fread(bytes.data(), 1, bytes.size(), f);
    bytes.resize(got);
  }
  const bool error = std::ferror(f) != 0;
  std::fclose(f);
  if (error) fail("{}: read error", path.string());
  return bytes;
}

ImageFileSource::ImageFileSource(std::string name, std::vector<fs::path> paths,
                                 std::vector<std::int32_t> labels,
                                 std::vector<std::string> class_names, ImageFileOptions options)
    : paths_(std::move(paths)), labels_(std::move(labels)), options_(std::move(options)) {
  name_ = std::move(name);
  class_names_ = std::move(class_names);
  if (paths_.size() != labels_.size())
    fail("{}: {} paths but {} labels", name_, paths_.size(), labels_.size());
  for (std::size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] < 0 || labels_[i] >= num_classes())
      fail("{}: label {} of {} is outside [0, {})", name_, labels_[i], paths_[i].string(),
           num_classes());
}

Tensor ImageFileSource::image(std::int64_t i) const {
  const fs::path& p = paths_[std::size_t(i)];
  const std::vector<std::byte> bytes = read_file_bytes(p);
  if (bytes.empty()) fail("{}: empty file (0 bytes)", p.string());
  return decode_image(
      bytes, p.string(),
      DecodeHints{.min_height = options_.min_height, .min_width = options_.min_width});
}

std::vector<std::int64_t> ImageFileSource::class_counts() const {
  std::vector<std::int64_t> counts(std::size_t(num_classes()), 0);
  for (std::int32_t y : labels_) ++counts[std::size_t(y)];
  return counts;
}

void ImageFileSource::set_decode_size(std::int64_t min_height, std::int64_t min_width) {
  options_.min_height = min_height;
  options_.min_width = min_width;
}

std::shared_ptr<ImageFileSource> scan_image_folder(const fs::path& root,
                                                   const ImageFileOptions& options,
                                                   const std::vector<std::string>* classes) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    fail("{}: {}", root.string(), fs::exists(root, ec) ? "not a folder" : "no such folder");
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory() && entry.path().filename().string()[0] != '.')
      found.push_back(entry.path().filename().string());
  if (ec) fail("{}: cannot list ({})", root.string(), ec.message());
  std::sort(found.begin(), found.end());
  if (found.empty())
    fail(
        "{}: no class folders: expected one sub-folder per class holding its images "
        "(root/<class>/*.jpg)",
        root.string());
  std::vector<std::string> names = classes ? *classes : found;
  if (!classes && names.size() < 2)
    fail("{}: only one class folder ('{}'): a classifier needs at least two classes", root.string(),
         names[0]);
  std::map<std::string, std::int32_t> index;
  for (std::size_t k = 0; k < names.size(); ++k) index[names[k]] = std::int32_t(k);
  std::vector<fs::path> paths;
  std::vector<std::int32_t> labels;
  for (const std::string& cls : found) {
    const auto it = index.find(cls);
    if (it == index.end())
      fail("{}: class folder '{}' is not one of the training classes", (root / cls).string(), cls);
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(root / cls, ec))
      if (!entry.is_directory() && wanted(entry.path(), options)) files.push_back(entry.path());
    if (ec) fail("{}: cannot list ({})", (root / cls).string(), ec.message());
    if (files.empty())
      fail("{}: class folder with no images ({}): add images or remove the folder",
           (root / cls).string(), extension_list(options));
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      paths.push_back(std::move(f));
      labels.push_back(it->second);
    }
  }
  std::vector<std::string> skipped;
  check_files(paths, labels, options, skipped);
  if (paths.empty()) fail("{}: no readable images", root.string());
  auto source = std::make_shared<ImageFileSource>(root.string(), std::move(paths),
                                                  std::move(labels), std::move(names), options);
  source->set_skipped(std::move(skipped));
  return source;
}

std::shared_ptr<ImageFileSource> read_image_list(const fs::path& csv,
                                                 const ImageFileOptions& options,
                                                 const std::vector<std::string>* classes) {
  std::ifstream in(csv);
  if (!in) fail("{}: cannot open ({})", csv.string(), std::strerror(errno));
  const fs::path base = csv.parent_path();
  std::vector<fs::path> paths;
  std::vector<std::string> label_names;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    const auto fields = csv_fields(line);
    if (number == 1 && fields.size() == 2 && lower(fields[0]) == "path" &&
        lower(fields[1]) == "label")
      continue;
    if (fields.size() != 2 || fields[0].empty() || fields[1].empty())
      fail("{}:{}: expected `path,label`, got '{}'", csv.string(), number, line);
    const fs::path p(fields[0]);
    paths.push_back(p.is_absolute() ? p : base / p);
    label_names.push_back(fields[1]);
  }
  if (paths.empty()) fail("{}: no `path,label` lines", csv.string());
  std::vector<std::string> names;
  if (classes) {
    names = *classes;
  } else {
    names.assign(label_names.begin(), label_names.end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names.size() < 2)
      fail("{}: only one class ('{}'): a classifier needs at least two classes", csv.string(),
           names[0]);
  }
  std::map<std::string, std::int32_t> index;
  for (std::size_t k = 0; k < names.size(); ++k) index[names[k]] = std::int32_t(k);
  std::vector<std::int32_t> labels;
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const auto it = index.find(label_names[i]);
    if (it == index.end())
      fail("{}: label '{}' of {} is not one of the classes", csv.string(), label_names[i],
           paths[i].string());
    labels.push_back(it->second);
  }
  std::vector<std::string> skipped;
  check_files(paths, labels, options, skipped);
  if (paths.empty()) fail("{}: no readable images", csv.string());
  auto source = std::make_shared<ImageFileSource>(csv.string(), std::move(paths), std::move(labels),
                                                  std::move(names), options);
  source->set_skipped(std::move(skipped));
  return source;
}

ImageFolderSplits scan_image_folder_splits(const fs::path& root, const ImageFileOptions& options) {
  std::error_code ec;
  ImageFolderSplits out;
  if (!fs::is_directory(root / "train", ec)) {
    out.train = scan_image_folder(root, options);
    return out;
  }
  out.train = scan_image_folder(root / "train", options);
  const auto& classes = out.train->class_names();
  for (const char* name : {"val", "validation"})
    if (!out.validation && fs::is_directory(root / name, ec))
      out.validation = scan_image_folder(root / name, options, &classes);
  if (fs::is_directory(root / "test", ec))
    out.test = scan_image_folder(root / "test", options, &classes);
  return out;
}

}  // namespace convkit::data

// CIFAR-10/100 binary batches (see cifar.h): from the published archive (through the tar reader)
// or the extracted folder, every file checked for a whole number of records (and the expected
// number when known) and every label for its range, before any pixel is copied.
#include <convkit/data/cifar.h>
#include <convkit/data/registry.h>
#include <convkit/util/error.h>

#include "data/tar.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

namespace convkit::data {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kChannels = 3, kSide = 32, kPixels = kChannels * kSide * kSide;  // 3072
constexpr int kCoarseClasses = 20, kFineClasses = 100;

// One batch file's bytes and how messages name it.
struct Blob {
  std::string label;  // "DIR/data_batch_1.bin" or "ARCHIVE (member cifar-10-batches-bin/...)"
  std::vector<std::uint8_t> bytes;
};

std::vector<std::uint8_t> read_file(const fs::path& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail("{}: cannot open: {}", path.string(), std::strerror(errno));
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) fail("{}: cannot read its size: {}", path.string(), ec.message());
  std::vector<std::uint8_t> bytes(size);
  if (size > 0 && std::fread(bytes.data(), 1, size, f.get()) != size)
    fail("{}: read error: {}", path.string(), std::strerror(errno));
  return bytes;
}

void write_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) fail("{}: cannot create: {}", path.string(), std::strerror(errno));
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() ||
      std::fflush(f.get()) != 0)
    fail("{}: write failed: {}", path.string(), std::strerror(errno));
}

std::string record_text(const CifarLayout& l) {
  return fmt::format("{}-byte records: {} label byte{} and {} pixel bytes", l.record_bytes,
                     l.record_bytes - kPixels, l.record_bytes - kPixels > 1 ? "s" : "", kPixels);
}

// Checks one batch file's size (against `want` records when > 0) and every label byte.
std::int64_t check_batch(const Blob& b, const CifarLayout& l, std::int64_t want) {
  const auto size = std::int64_t(b.bytes.size());
  const std::int64_t rb = l.record_bytes;
  if (want > 0 && size < want * rb)
    fail("{}: truncated at byte {}: expected {} bytes ({} {})", b.label, size, want * rb, want,
         record_text(l));
  if (want > 0 && size > want * rb)
    fail("{}: {} bytes after byte {}: expected exactly {} bytes ({} {})", b.label, size - want * rb,
         want * rb, want * rb, want, record_text(l));
  if (size == 0) fail("{}: empty (0 bytes): expected {}", b.label, record_text(l));
  if (size % rb != 0)
    fail("{}: truncated at byte {}: record {} starts at byte {} and has {} of its {} bytes ({})",
         b.label, size, size / rb, size / rb * rb, size % rb, rb, record_text(l));
  const std::int64_t n = size / rb;
  const std::uint8_t* p = b.bytes.data();
  for (std::int64_t i = 0; i < n; ++i, p += rb) {
    if (rb == 3073) {
      if (p[0] >= 10)
        fail("{}: label {} at byte {} (record {}) is out of range: expected a label in [0, 10)",
             b.label, p[0], i * rb, i);
      continue;
    }
    if (p[0] >= kCoarseClasses)
      fail(
          "{}: coarse label {} at byte {} (record {}) is out of range: expected a coarse label in "
          "[0, {})",
          b.label, p[0], i * rb, i, kCoarseClasses);
    if (p[1] >= kFineClasses)
      fail(
          "{}: fine label {} at byte {} (record {}) is out of range: expected a fine label in "
          "[0, {})",
          b.label, p[1], i * rb + 1, i, kFineClasses);
  }
  return n;
}

// The class names file: one name per line ('\r' and trailing blank lines ignored).
std::vector<std::string> parse_names(const std::string& label, const std::vector<std::uint8_t>& b,
                                     const CifarLayout& l) {
  std::vector<std::string> names;
  std::string text(b.begin(), b.end());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    names.push_back(line);
    pos = end + 1;
  }
  while (!names.empty() && names.back().empty()) names.pop_back();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i].empty())
      fail("{}: line {} is empty: expected one class name per line", label, i + 1);
  if (int(names.size()) != l.num_classes)
    fail("{}: {} class names: expected {} (one per line)", label, names.size(), l.num_classes);
  return names;
}

// Concatenates the checked batches of one split, freeing each once copied.
Dataset decode(std::vector<Blob>& blobs, const CifarLayout& l, std::int64_t want_total,
               const std::string& where, const std::string& split,
               const std::vector<std::string>& files) {
  const bool per_file = want_total > 0 && want_total % std::int64_t(blobs.size()) == 0;
  std::vector<std::int64_t> counts;
  std::int64_t total = 0;
  for (const Blob& b : blobs)
    total += counts.emplace_back(
        check_batch(b, l, per_file ? want_total / std::int64_t(blobs.size()) : 0));
  if (want_total > 0 && total != want_total)
    fail("{}: the {} batches ({}) hold {} records: expected {}", where, split,
         fmt::join(files, ", "), total, want_total);
  Dataset d;
  d.images = Tensor::empty({total, kChannels, kSide, kSide}, DType::u8);
  d.labels = Tensor::empty({total}, DType::i32);
  auto* px = static_cast<std::uint8_t*>(d.images.raw());
  std::int32_t* y = d.labels.data<std::int32_t>();
  for (std::size_t k = 0; k < blobs.size(); ++k) {
    const std::uint8_t* p = blobs[k].bytes.data();
    for (std::int64_t i = 0; i < counts[k]; ++i, p += l.record_bytes) {
      *y++ = p[l.label_offset];
      std::memcpy(px, p + (l.record_bytes - kPixels), kPixels);
      px += kPixels;
    }
    blobs[k].bytes = {};
  }
  d.num_classes = l.num_classes;
  d.name = l.registry_name + "/" + split;
  return d;
}

DatasetSplits finish(std::vector<Blob>& train, std::vector<Blob>& test,
                     std::vector<std::string> names, const CifarLayout& l,
                     const CifarOptions& options, const std::string& where) {
  DatasetSplits s{decode(train, l, options.train_size, where, "train", l.train_files),
                  decode(test, l, options.test_size, where, "test", l.test_files)};
  s.train.class_names = names;
  s.test.class_names = std::move(names);
  return s;
}

DatasetSplits read_archive(const fs::path& archive, const CifarLayout& l,
                           const CifarOptions& options) {
  std::vector<std::string> wanted = l.train_files;
  wanted.insert(wanted.end(), l.test_files.begin(), l.test_files.end());
  wanted.push_back(l.names_file);
  auto base = [](const std::string& member) {
    std::size_t slash = member.rfind('/');
    return slash == std::string::npos ? member : member.substr(slash + 1);
  };
  std::vector<detail::TarMember> members = detail::read_tar(archive, [&](const std::string& m) {
    return std::find(wanted.begin(), wanted.end(), base(m)) != wanted.end();
  });
  std::map<std::string, detail::TarMember*> by_name;
  for (detail::TarMember& m : members) {
    auto [it, fresh] = by_name.emplace(base(m.name), &m);
    if (!fresh)
      fail("{}: members {} and {} are both {}: expected one", archive.string(), it->second->name,
           m.name, base(m.name));
  }
  auto take = [&](const std::string& file) {
    auto it = by_name.find(file);
    if (it == by_name.end())
      fail("{}: no member {}/{}: expected {} to hold {}", archive.string(), l.folder, file,
           l.archive, fmt::join(wanted, ", "));
    return Blob{fmt::format("{} (member {})", archive.string(), it->second->name),
                std::move(it->second->data)};
  };
  std::vector<Blob> train, test;
  for (const std::string& f : l.train_files) train.push_back(take(f));
  for (const std::string& f : l.test_files) test.push_back(take(f));
  Blob names = take(l.names_file);
  return finish(train, test, parse_names(names.label, names.bytes, l), l, options,
                archive.string());
}

DatasetSplits read_folder(const fs::path& path, const CifarLayout& l, const CifarOptions& options) {
  std::error_code ec;
  const fs::path dir = fs::is_directory(path / l.folder, ec) ? path / l.folder : path;
  std::vector<std::string> missing;
  for (const auto* files : {&l.train_files, &l.test_files})
    for (const std::string& f : *files)
      if (!fs::is_regular_file(dir / f, ec)) missing.push_back(f);
  if (!missing.empty())
    fail("{}: missing {}: expected the CIFAR batches {}, {} (the folder {} that {} extracts to)",
         dir.string(), fmt::join(missing, ", "), fmt::join(l.train_files, ", "),
         fmt::join(l.test_files, ", "), l.folder, l.archive);
  std::vector<Blob> train, test;
  for (const std::string& f : l.train_files)
    train.push_back({(dir / f).string(), read_file(dir / f)});
  for (const std::string& f : l.test_files)
    test.push_back({(dir / f).string(), read_file(dir / f)});
  std::vector<std::string> names;
  if (fs::is_regular_file(dir / l.names_file, ec))
    names = parse_names((dir / l.names_file).string(), read_file(dir / l.names_file), l);
  else
    names = dataset_info(l.registry_name).class_names;
  return finish(train, test, std::move(names), l, options, dir.string());
}

std::vector<std::uint8_t> encode(const Dataset& d, CifarVariant variant, std::int64_t begin,
                                 std::int64_t end, const std::string& file) {
  const CifarLayout& l = cifar_layout(variant);
  const Tensor& x = d.images;
  if (variant == CifarVariant::cifar100_coarse)
    fail("write_cifar {}: cifar100_coarse files cannot be written: write cifar100 (fine labels)",
         file);
  if (x.dtype() != DType::u8 || x.rank() != 4 || x.dim(1) != kChannels || x.dim(2) != kSide ||
      x.dim(3) != kSide || !x.is_contiguous())
    fail("write_cifar {}: images must be contiguous u8 [N, 3, 32, 32], got {} {}", file,
         name_of(x.dtype()), x.shape().str());
  if (d.labels.dtype() != DType::i32 || d.labels.numel() != x.dim(0))
    fail("write_cifar {}: labels must be i32 [{}], got {} {}", file, x.dim(0),
         name_of(d.labels.dtype()), d.labels.shape().str());
  std::vector<std::uint8_t> out;
  out.reserve(std::size_t((end - begin) * l.record_bytes));
  const auto* px = static_cast<const std::uint8_t*>(x.raw());
  const std::int32_t* y = d.labels.data<std::int32_t>();
  for (std::int64_t i = begin; i < end; ++i) {
    if (y[i] < 0 || y[i] >= l.num_classes)
      fail("write_cifar {}: label {} of sample {} is out of range: expected [0, {})", file, y[i], i,
           l.num_classes);
    if (l.record_bytes == 3074) out.push_back(std::uint8_t(y[i] / 5));
    out.push_back(std::uint8_t(y[i]));
    out.insert(out.end(), px + i * kPixels, px + (i + 1) * kPixels);
  }
  return out;
}

std::vector<std::uint8_t> names_bytes(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += n + "\n";
  text += "\n";  // the published files end with a blank line
  return {text.begin(), text.end()};
}

// The files of the published folder: (name, bytes), names relative to the folder.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> folder_files(
    const Dataset& train, const Dataset& test, CifarVariant variant, const std::string& where) {
  const CifarLayout& l = cifar_layout(variant);
  if (int(train.class_names.size()) != l.num_classes)
    fail("write_cifar {}: the train split has {} class names: expected {}", where,
         train.class_names.size(), l.num_classes);
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> files;
  const std::int64_t n = train.size(), parts = std::int64_t(l.train_files.size());
  for (std::int64_t b = 0; b < parts; ++b)
    files.emplace_back(l.train_files[b], encode(train, variant, b * n / parts, (b + 1) * n / parts,
                                                where + "/" + l.train_files[b]));
  files.emplace_back(l.test_files[0], encode(test, variant, 0, test.size(), where));
  files.emplace_back(l.names_file, names_bytes(train.class_names));
  if (variant == CifarVariant::cifar100) {
    std::vector<std::string> coarse;
    coarse.reserve(kCoarseClasses);
    for (int c = 0; c < kCoarseClasses; ++c) coarse.push_back(fmt::format("superclass_{}", c));
    files.emplace_back("coarse_label_names.txt", names_bytes(coarse));
  }
  return files;
}

}  // namespace

const CifarLayout& cifar_layout(CifarVariant variant) {
  static const CifarLayout kLayouts[] = {
      {"cifar-10-binary.tar.gz",
       "cifar-10-batches-bin",
       {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
        "data_batch_5.bin"},
       {"test_batch.bin"},
       "batches.meta.txt",
       3073,
       0,
       10,
       "cifar10"},
      {"cifar-100-binary.tar.gz",
       "cifar-100-binary",
       {"train.bin"},
       {"test.bin"},
       "fine_label_names.txt",
       3074,
       1,
       kFineClasses,
       "cifar100"},
      {"cifar-100-binary.tar.gz",
       "cifar-100-binary",
       {"train.bin"},
       {"test.bin"},
       "coarse_label_names.txt",
       3074,
       0,
       kCoarseClasses,
       "cifar100-coarse"},
  };
  return kLayouts[static_cast<int>(variant)];
}

DatasetSplits read_cifar(const fs::path& path, const CifarOptions& options) {
  const CifarLayout& l = cifar_layout(options.variant);
  std::error_code ec;
  if (fs::is_directory(path, ec)) return read_folder(path, l, options);
  if (fs::is_regular_file(path, ec)) return read_archive(path, l, options);
  fail("{}: not found: expected {} or the folder {} it extracts to", path.string(), l.archive,
       l.folder);
}

Dataset read_cifar_batch(const fs::path& file, CifarVariant variant) {
  const CifarLayout& l = cifar_layout(variant);
  std::vector<Blob> blobs{{file.string(), read_file(file)}};
  Dataset d = decode(blobs, l, 0, file.string(), "train", {file.filename().string()});
  for (int c = 0; c < l.num_classes; ++c) d.class_names.push_back(std::to_string(c));
  d.name = file.stem().string();
  return d;
}

void write_cifar_batch(const fs::path& file, const Dataset& dataset, CifarVariant variant) {
  write_file(file, encode(dataset, variant, 0, dataset.size(), file.string()));
}

fs::path write_cifar_folder(const fs::path& dir, const Dataset& train, const Dataset& test,
                            CifarVariant variant) {
  fs::path folder = dir / cifar_layout(variant).folder;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) fail("write_cifar {}: cannot create the folder: {}", folder.string(), ec.message());
  for (const auto& [name, bytes] : folder_files(train, test, variant, folder.string()))
    write_file(folder / name, bytes);
  return folder;
}

void write_cifar_archive(const fs::path& file, const Dataset& train, const Dataset& test,
                         CifarVariant variant) {
  const std::string folder = cifar_layout(variant).folder;
  std::vector<detail::TarMember> members{{folder + "/", {}}};
  for (auto& [name, bytes] : folder_files(train, test, variant, file.string()))
    members.push_back({folder + "/" + name, std::move(bytes)});
  detail::write_tar(file, members, file.extension() != ".tar");
}

}  // namespace convkit::data

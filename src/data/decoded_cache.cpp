// The decoded cache file (decoded_cache.h): header, building through a temporary file mapped
// read-write and filled by decoding threads, then a read-only mapping owned by the images tensor.
#include <convkit/data/decoded_cache.h>
#include <convkit/data/image_folder.h>
#include <convkit/util/error.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

namespace convkit::data {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[24] = "convkit-decoded-cache-1";
constexpr std::size_t kHeader = 64;

struct Header {
  char magic[24];
  std::int64_t n, c, h, w;
  std::uint64_t key;
};
static_assert(sizeof(Header) <= kHeader);

void fnv(std::uint64_t& h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
}

// A read-only mapping of a whole file, unmapped when the last owner goes.
std::shared_ptr<void> map_file(const fs::path& path, std::size_t bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("{}: cannot open ({})", path.string(), std::strerror(errno));
  void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) fail("{}: cannot map ({})", path.string(), std::strerror(errno));
  return std::shared_ptr<void>(p, [bytes](void* q) { ::munmap(q, bytes); });
}

// The header of `path` when it is a whole cache file for (n, shape, key).
bool valid(const fs::path& path, std::int64_t n, const Shape& shape, std::uint64_t key) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size != kHeader + std::uint64_t(n * shape.numel())) return false;
  Header h{};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  const bool read = std::fread(&h, sizeof h, 1, f) == 1;
  std::fclose(f);
  return read && std::memcmp(h.magic, kMagic, sizeof kMagic) == 0 && h.n == n && h.c == shape[0] &&
         h.h == shape[1] && h.w == shape[2] && h.key == key;
}

void build(const Source& source, const Geometry& g, const fs::path& path, std::uint64_t key,
           int threads) {
  const std::int64_t n = source.size(), chw = g.shape().numel();
  const std::size_t bytes = kHeader + std::size_t(n * chw);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("{}: cannot create the decoded cache ({})", tmp.string(), std::strerror(errno));
  if (::ftruncate(fd, off_t(bytes)) != 0) {
    const int err = errno;
    ::close(fd);
    fs::remove(tmp, ec);
    fail("{}: cannot size the decoded cache to {} bytes ({})", tmp.string(), bytes,
         std::strerror(err));
  }
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    fs::remove(tmp, ec);
    fail("{}: cannot map the decoded cache ({})", tmp.string(), std::strerror(errno));
  }
  auto* base = static_cast<std::uint8_t*>(map);
  std::atomic<std::int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    GeometryScratch scratch;
    for (std::int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        const Tensor out = Tensor::wrap(base + kHeader + i * chw, g.shape(), DType::u8);
        prepare_image(source.image(i), g, out, scratch);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(threads, 1); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (!error) {
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.n = n, h.c = g.channels, h.h = g.height, h.w = g.width, h.key = key;
    std::memcpy(base, &h, sizeof h);
    if (::msync(map, bytes, MS_SYNC) != 0)
      error = std::make_exception_ptr(Error(fmt::format("{}: cannot write the decoded cache ({})",
                                                        tmp.string(), std::strerror(errno))));
  }
  ::munmap(map, bytes);
  if (error) {
    fs::remove(tmp, ec);
    std::rethrow_exception(error);
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("{}: cannot rename the decoded cache into place ({})", path.string(), ec.message());
  }
}

}  // namespace

std::uint64_t decoded_cache_key(const Source& source, const Geometry& geometry) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const std::int64_t dims[] = {geometry.channels,
                               geometry.height,
                               geometry.width,
                               std::int64_t(geometry.resize),
                               std::int64_t(geometry.interpolation),
                               std::int64_t(geometry.fill)};
  fnv(h, dims, sizeof dims);
  fnv(h, &geometry.crop_fraction, sizeof geometry.crop_fraction);
  const std::int64_t n = source.size();
  fnv(h, &n, sizeof n);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::string name = source.sample_name(i);
    fnv(h, name.data(), name.size());
    const std::int32_t y = source.label(i);
    fnv(h, &y, sizeof y);
    struct stat st {};
    if (::stat(name.c_str(), &st) == 0) {  // files: their size and modification time too
      const std::int64_t facts[] = {std::int64_t(st.st_size), std::int64_t(st.st_mtim.tv_sec),
                                    std::int64_t(st.st_mtim.tv_nsec)};
      fnv(h, facts, sizeof facts);
    }
  }
  return h;
}

std::optional<fs::path> decoded_cache_path(std::uint64_t key) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  fs::path dir;
  if (xdg && *xdg && fs::path(xdg).is_absolute())
    dir = fs::path(xdg) / "convkit" / "decoded";
  else if (home && *home)
    dir = fs::path(home) / ".cache" / "convkit" / "decoded";
  else
    return std::nullopt;
  return dir / fmt::format("{:016x}.u8", key);
}

Dataset decoded_cache(const Source& source, const Geometry& geometry,
                      const DecodedCacheOptions& options) {
  Geometry g = geometry;
  g.random_crop.enabled = false;
  validate(g, source.name() + ": geometry");
  const std::uint64_t key = decoded_cache_key(source, g);
  fs::path path = options.path;
  if (path.empty()) {
    const auto where = decoded_cache_path(key);
    if (!where)
      fail("{}: no place for the decoded cache: set XDG_CACHE_HOME or HOME, or give a path",
           source.name());
    path = *where;
  }
  const std::int64_t n = source.size();
  if (options.rebuild || !valid(path, n, g.shape(), key))
    build(source, g, path, key, options.threads);
  const std::size_t bytes = kHeader + std::size_t(n * g.shape().numel());
  std::shared_ptr<void> map = map_file(path, bytes);
  Dataset out;
  out.images = Tensor::adopt(map, static_cast<std::uint8_t*>(map.get()) + kHeader,
                             {n, g.channels, g.height, g.width}, DType::u8);
  out.labels = Tensor::empty({n}, DType::i32);
  for (std::int64_t i = 0; i < n; ++i) out.labels.data<std::int32_t>()[i] = source.label(i);
  out.class_names = source.class_names();
  out.num_classes = source.num_classes();
  out.name = source.name();
  return out;
}

}  // namespace convkit::data

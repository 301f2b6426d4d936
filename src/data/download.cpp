// Downloads with libcurl (http, https and file:// for tests) and SHA-256 with OpenSSL libcrypto.
// Bytes are hashed while they arrive; a download is accepted only with the expected size and
// SHA-256, after which the temporary file is fsynced and renamed into place.
#include "data/download.h"

#include <convkit/data/resolve.h>
#include <convkit/util/error.h>
#include <convkit/version.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace convkit::data {

namespace {

struct DigestFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Digest = std::unique_ptr<EVP_MD_CTX, DigestFree>;

Digest new_sha256() {
  Digest ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    fail("OpenSSL: cannot initialize SHA-256");
  return ctx;
}

std::string hex_digest(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md, &len) != 1) fail("OpenSSL: SHA-256 finalization failed");
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

}  // namespace

std::string sha256_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("{}: cannot open: {}", path.string(), std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, &std::fclose);
  Digest ctx = new_sha256();
  std::vector<char> buf(1 << 20);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0)
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
  if (std::ferror(f)) fail("{}: read error: {}", path.string(), std::strerror(errno));
  return hex_digest(ctx.get());
}

namespace detail {

namespace {

// The state of one transfer, shared with curl's callbacks.
struct Transfer {
  int fd = -1;
  EVP_MD_CTX* digest = nullptr;
  std::int64_t received = 0;
  std::int64_t expected = 0;
  bool too_large = false;
  int write_errno = 0;
  std::string label;  // for the progress line
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (t->received + std::int64_t(n) > t->expected) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  EVP_DigestUpdate(t->digest, data, n);
  for (std::size_t done = 0; done < n;) {
    ssize_t w = ::write(t->fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      t->write_errno = errno;
      return 0;
    }
    done += std::size_t(w);
  }
  t->received += std::int64_t(n);
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  double expected = double(total > 0 ? total : t->expected);
  std::fprintf(stderr, "\r  %s: %5.1f%% of %.1f MB", t->label.c_str(),
               expected > 0 ? 100.0 * double(now) / expected : 0.0, expected / 1e6);
  return 0;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fail("libcurl: global init failed");
  });
}

// Removes the temporary file unless released.
struct TempFile {
  std::filesystem::path path;
  int fd = -1;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }
};

std::string try_mirror(const std::string& url, const DatasetFile& file,
                       const std::filesystem::path& dest_dir, const DownloadOptions& options) {
  static std::atomic<int> counter{0};
  TempFile tmp;
  tmp.path = dest_dir / fmt::format(".{}.part-{}-{}", file.name, ::getpid(), counter++);
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (tmp.fd < 0) {
    std::string why = std::strerror(errno);
    tmp.path.clear();
    return fmt::format("cannot create {}: {}", (dest_dir / file.name).string(), why);
  }
  Digest digest = new_sha256();
  Transfer t{.fd = tmp.fd, .digest = digest.get(), .expected = file.bytes, .label = file.name};

  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return "libcurl: cannot create a handle";
  char error[CURL_ERROR_SIZE] = "";
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "convkit/" CONVKIT_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (options.progress) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  }
  CURLcode res = curl_easy_perform(h);
  if (options.progress) std::fputs("\n", stderr);
  if (t.too_large)
    return fmt::format("more than the expected {} bytes: not the official file", file.bytes);
  if (t.write_errno)
    return fmt::format("cannot write {}: {}", tmp.path.string(), std::strerror(t.write_errno));
  if (res != CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    std::string why = error[0] ? error : curl_easy_strerror(res);
    if (status >= 400 && why.find(std::to_string(status)) == std::string::npos)
      why += fmt::format(" (HTTP {})", status);
    return fmt::format("{} (curl error {})", why, int(res));
  }
  if (t.received != file.bytes)
    return fmt::format("got {} bytes, expected {}", t.received, file.bytes);
  std::string sha = hex_digest(digest.get());
  if (sha != file.sha256)
    return fmt::format("SHA-256 mismatch: expected {}, got {}", file.sha256, sha);
  if (::fsync(tmp.fd) != 0 || ::close(tmp.fd) != 0) {
    tmp.fd = -1;
    return fmt::format("cannot write {}: {}", tmp.path.string(), std::strerror(errno));
  }
  tmp.fd = -1;
  std::error_code ec;
  std::filesystem::rename(tmp.path, dest_dir / file.name, ec);
  if (ec) return fmt::format("cannot rename {} into place: {}", tmp.path.string(), ec.message());
  tmp.path.clear();  // now the real file: keep it
  // Make the rename itself durable.
  int dir = ::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

std::string file_url(const std::string& mirror, const DatasetFile& file) {
  return mirror.ends_with('/') ? mirror + file.name : mirror + "/" + file.name;
}

std::vector<std::string> download_file(const DatasetFile& file,
                                       const std::vector<std::string>& mirrors,
                                       const std::filesystem::path& dest_dir,
                                       const DownloadOptions& options) {
  init_curl_once();
  std::vector<std::string> failures;
  if (mirrors.empty()) failures.push_back("no download mirrors are known for this file");
  for (const std::string& mirror : mirrors) {
    std::string url = file_url(mirror, file);
    std::string why = try_mirror(url, file, dest_dir, options);
    if (why.empty()) return {};
    failures.push_back(fmt::format("{}: {}", url, why));
  }
  return failures;
}

}  // namespace detail

}  // namespace convkit::data

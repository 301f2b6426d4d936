// Dropout (element-wise, not spatial) with a vectorized Philox4x32-10: 16 counter blocks (64
// mask decisions) per pass, computed lane-parallel, so the masks are bit-identical to the
// reference kernel's (ops/dropout.cpp: unit u uses word u % 4 of block u / 4 at the step) while
// the generator runs in SIMD registers instead of one block at a time.
// NOTE: the reference's scalar Philox was 12% of mnist_cnn's training step (two dropouts,
// generated in forward and again in backward); see DropoutKernel timing in
// tests/backend/cpu/dropout_kernel_test.cpp. A training forward also writes the decisions, one
// bit per element (one u64 word per chunk of 64), into saved(), so backward reads them instead
// of running Philox again (1.1 -> 0.2 ms on mnist_cnn's [128, 64, 12, 12]).
//
// Keep rule, as the reference: uniform01(bits) >= rate, i.e. (bits >> 8) >= ceil(rate * 2^24)
// (exact: both sides are integers scaled by 2^-24); a dropped element is x * 0, as the reference
// writes it (NaN and infinities stay NaN, negative values give -0). Chunks of 64 units are
// independent, so the OpenMP split cannot change a result. Whole chunks run a hand-written
// AVX-512 pass where the CPU has it (mask_full_chunk_avx512); the rest is compiled for
// AVX-512, AVX2 and the baseline (target_clones).
#include <convkit/util/rng.h>

#include "backend/cpu/kernels.h"
#include "ops/dropout.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace convkit::backend::cpu {

namespace {

constexpr std::int64_t kLanes = 16;           // Philox blocks per pass
constexpr std::int64_t kChunk = 4 * kLanes;   // units per pass
constexpr std::int64_t kParallelMin = 32768;  // elements; below this one thread is faster

// dst[u] = src[u] * (kept ? scale : 0) for the units [first, first + count) of one chunk, where
// first = block0 * 4; bit u of *kept_bits (when given) is set when unit u is kept.
[[gnu::target_clones("avx512f", "avx2", "default")]] void mask_chunk(
    const float* src, float* dst, std::int64_t count, std::uint64_t key, std::uint64_t block0,
    std::uint64_t step, std::uint32_t threshold, float scale, std::uint64_t* kept_bits) {
  std::uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (std::int64_t v = 0; v < kLanes; ++v) {
    const std::uint64_t lo = block0 + std::uint64_t(v);
    c0[v] = std::uint32_t(lo);
    c1[v] = std::uint32_t(lo >> 32);
    c2[v] = std::uint32_t(step);
    c3[v] = std::uint32_t(step >> 32);
  }
  std::uint32_t k0 = std::uint32_t(key), k1 = std::uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
#pragma omp simd
    for (std::int64_t v = 0; v < kLanes; ++v) {
      const std::uint64_t p0 = std::uint64_t(kPhiloxM0) * c0[v];
      const std::uint64_t p1 = std::uint64_t(kPhiloxM1) * c2[v];
      const std::uint32_t n0 = std::uint32_t(p1 >> 32) ^ c1[v] ^ k0;
      const std::uint32_t n2 = std::uint32_t(p0 >> 32) ^ c3[v] ^ k1;
      c1[v] = std::uint32_t(p1);
      c3[v] = std::uint32_t(p0);
      c0[v] = n0;
      c2[v] = n2;
    }
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  std::uint32_t bits[kChunk];  // unit order: word j of block v is unit 4 v + j
  for (std::int64_t v = 0; v < kLanes; ++v) {
    bits[4 * v] = c0[v];
    bits[4 * v + 1] = c1[v];
    bits[4 * v + 2] = c2[v];
    bits[4 * v + 3] = c3[v];
  }
#pragma omp simd
  for (std::int64_t u = 0; u < count; ++u)
    dst[u] = src[u] * ((bits[u] >> 8) >= threshold ? scale : 0.0f);
  if (!kept_bits) return;
  std::uint64_t word = 0;
  for (std::int64_t u = 0; u < count; ++u) word |= std::uint64_t((bits[u] >> 8) >= threshold) << u;
  *kept_bits = word;
}

// mask_chunk for a whole chunk (64 units) in AVX-512 registers: the two 32x32->64 Philox
// products per round as vpmulld (low half) and two vpmuludq (high halves of even and odd lanes),
// the keep test as one unsigned compare per word (bits >> 8 >= t  <=>  bits >= t << 8, for
// t < 2^24) straight into a mask register, and the four 16-bit masks (word j of block v is unit
// 4 v + j) interleaved into unit order with pdep. Bit-identical to mask_chunk (the tests run
// both against the reference); forward on [128, 64, 12, 12], one thread: 2.3 -> 0.7 ms.
// GCC 12's AVX-512 intrinsics (_mm512_undefined_epi32 inside vpmuludq/vpsrlq) trip a spurious
// -Wuninitialized (GCC bug 105593) once inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
[[gnu::target("avx512f"), gnu::always_inline]] inline __m512i mul_hi(__m512i a, __m512i m) {
  const __m512i even = _mm512_srli_epi64(_mm512_mul_epu32(a, m), 32);  // lanes 0, 2, ...
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);   // lanes 1, 3, ...
  return _mm512_mask_blend_epi32(__mmask16(0xAAAA), even, odd);
}

[[gnu::target("avx512f,bmi2")]] void mask_full_chunk_avx512(const float* src, float* dst,
                                                            std::uint64_t key, std::uint64_t block0,
                                                            std::uint64_t step,
                                                            std::uint32_t threshold, float scale,
                                                            std::uint64_t* kept_bits) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // block0 + lane never carries into the high word: chunks start at multiples of 16 blocks.
  __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(int(std::uint32_t(block0))), lane);
  __m512i c1 = _mm512_set1_epi32(int(std::uint32_t(block0 >> 32)));
  __m512i c2 = _mm512_set1_epi32(int(std::uint32_t(step)));
  __m512i c3 = _mm512_set1_epi32(int(std::uint32_t(step >> 32)));
  const __m512i m0 = _mm512_set1_epi32(int(kPhiloxM0)), m1 = _mm512_set1_epi32(int(kPhiloxM1));
  std::uint32_t k0 = std::uint32_t(key), k1 = std::uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i hi0 = mul_hi(c0, m0), lo0 = _mm512_mullo_epi32(c0, m0);
    const __m512i hi1 = mul_hi(c2, m1), lo1 = _mm512_mullo_epi32(c2, m1);
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(int(k0)));
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(int(k1)));
    c1 = lo1;
    c3 = lo0;
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  const __m512i t = _mm512_set1_epi32(int(threshold << 8));
  const std::uint64_t word = _pdep_u64(_mm512_cmpge_epu32_mask(c0, t), 0x1111111111111111ull) |
                             _pdep_u64(_mm512_cmpge_epu32_mask(c1, t), 0x2222222222222222ull) |
                             _pdep_u64(_mm512_cmpge_epu32_mask(c2, t), 0x4444444444444444ull) |
                             _pdep_u64(_mm512_cmpge_epu32_mask(c3, t), 0x8888888888888888ull);
  const __m512 s = _mm512_set1_ps(scale);
  for (int i = 0; i < 4; ++i) {  // x * 0 for a dropped unit, as the reference (NaN, -0 kept)
    const __m512 factor = _mm512_maskz_mov_ps(__mmask16(word >> (16 * i)), s);
    _mm512_storeu_ps(dst + 16 * i, _mm512_mul_ps(_mm512_loadu_ps(src + 16 * i), factor));
  }
  if (kept_bits) *kept_bits = word;
}
#pragma GCC diagnostic pop

bool cpu_runs_mask_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("bmi2");
  return yes;
}

// dst[u] = src[u] * (bit u of kept_bits ? scale : 0) for the units of one chunk.
[[gnu::target_clones("avx512f", "avx2", "default")]] void apply_kept_bits(
    const float* src, float* dst, std::int64_t count, std::uint64_t kept_bits, float scale) {
#pragma omp simd
  for (std::int64_t u = 0; u < count; ++u) dst[u] = src[u] * ((kept_bits >> u) & 1u ? scale : 0.0f);
}

class DropoutKernel final : public Kernel {
 public:
  DropoutKernel(double rate, const KernelRequest& request)
      : rate_(rate),
        threshold_(std::uint32_t(std::ceil(rate * 0x1.0p24))),
        scale_(float(1.0 / (1.0 - rate))) {
    if (request.backward && rate > 0.0) {
      const std::int64_t chunks = (request.inputs[0].shape.numel() + kChunk - 1) / kChunk;
      saved_.push_back({Shape{chunks * std::int64_t(sizeof(std::uint64_t))}, DType::u8});
    }
  }
  std::string_view name() const override { return "simd"; }
  std::vector<TensorSpec> saved() const override { return saved_; }
  void forward(const ForwardCall& call) override {
    if (call.mode == ops::Mode::Infer) return copy(call.inputs[0], call.outputs[0]);
    std::uint64_t* kept = nullptr;
    if (!saved_.empty()) {
      if (call.saved.empty()) fail("Dropout kernel: a training forward needs its saved mask");
      kept = static_cast<std::uint64_t*>(call.saved[0].raw());
    }
    apply(call.inputs[0], call.outputs[0], call.rng_key, call.step, kept);
  }
  void backward(const BackwardCall& call) override {
    if (call.grad_inputs.empty() || !call.grad_inputs[0].defined()) return;
    if (saved_.empty() || call.saved.empty())
      return apply(call.grad_outputs[0], call.grad_inputs[0], call.rng_key, call.step, nullptr);
    const float* src = call.grad_outputs[0].data<float>();
    float* dst = call.grad_inputs[0].data<float>();
    const auto* kept = static_cast<const std::uint64_t*>(call.saved[0].raw());
    const std::int64_t n = call.grad_outputs[0].numel(), chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t first = c * kChunk;
      apply_kept_bits(src + first, dst + first, std::min(kChunk, n - first), kept[c], scale_);
    }
  }

 private:
  static void copy(const Tensor& from, const Tensor& to) {
    if (from.raw() != to.raw()) std::memcpy(to.raw(), from.raw(), from.nbytes());
  }
  void apply(const Tensor& from, const Tensor& to, std::uint64_t key, std::uint64_t step,
             std::uint64_t* kept) const {
    if (rate_ == 0.0) return copy(from, to);
    const float* src = from.data<float>();
    float* dst = to.data<float>();
    const std::int64_t n = from.numel(), chunks = (n + kChunk - 1) / kChunk;
    const bool avx512 = cpu_runs_mask_avx512() && threshold_ < (1u << 24);
#pragma omp parallel for schedule(static) if (n > kParallelMin)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t first = c * kChunk;
      if (avx512 && first + kChunk <= n) {
        mask_full_chunk_avx512(src + first, dst + first, key, std::uint64_t(c * kLanes), step,
                               threshold_, scale_, kept ? kept + c : nullptr);
        continue;
      }
      mask_chunk(src + first, dst + first, std::min(kChunk, n - first), key,
                 std::uint64_t(c * kLanes), step, threshold_, scale_, kept ? kept + c : nullptr);
    }
  }

  double rate_;
  std::uint32_t threshold_;  // keep when (bits >> 8) >= threshold
  float scale_;
  std::vector<TensorSpec> saved_;  // [the kept bits, 8 bytes per 64 elements] when training
};

}  // namespace

std::unique_ptr<Kernel> make_dropout_kernel(const KernelRequest& request) {
  const auto* op = dynamic_cast<const ops::Dropout*>(&request.op);
  if (!op || op->dropout_attrs().spatial || request.inputs.size() != 1 ||
      request.inputs[0].dtype != DType::f32)
    return nullptr;
  return std::make_unique<DropoutKernel>(op->dropout_attrs().rate, request);
}

}  // namespace convkit::backend::cpu

// The machine's measured fp32 FMA peak: every thread runs a loop of independent vector FMAs
// (16 accumulators, enough to hide the FMA latency on two pipes) for a fixed time, and the
// FLOPs per second are summed. Reported for AVX-512 (when the CPU has it) and AVX2, on 1 thread
// and on all OpenMP threads. bench/cpu_peak.py derives the peak from /proc/cpuinfo instead;
// this is the number the "% of peak" in bench/compare.py should be checked against.
//
//   OMP_NUM_THREADS=2 build/release/bench/fma_peak
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace {

constexpr int kAccumulators = 16;
constexpr std::int64_t kInner = 1 << 14;

// Runs FMAs for about `seconds`; returns FLOPs done. `seed` defeats constant folding.
template <typename Step>
double run_for(double seconds, Step step) {
  const auto start = std::chrono::steady_clock::now();
  double flops = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds)
    flops += step();
  return flops;
}

__attribute__((target("avx512f"))) double avx512_block(float seed) {
  __m512 acc[kAccumulators];
  for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_set1_ps(seed + float(k));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < kInner; ++i)
    for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
  __m512 sum = acc[0];
  for (int k = 1; k < kAccumulators; ++k) sum = _mm512_add_ps(sum, acc[k]);
  volatile float sink = _mm512_reduce_add_ps(sum);
  (void)sink;
  return double(kInner) * kAccumulators * 16 * 2;
}

__attribute__((target("avx2,fma"))) double avx2_block(float seed) {
  __m256 acc[kAccumulators];
  for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm256_set1_ps(seed + float(k));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < kInner; ++i)
    for (int k = 0; k < kAccumulators; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
  __m256 sum = acc[0];
  for (int k = 1; k < kAccumulators; ++k) sum = _mm256_add_ps(sum, acc[k]);
  alignas(32) float out[8];
  _mm256_store_ps(out, sum);
  volatile float sink = out[0];
  (void)sink;
  return double(kInner) * kAccumulators * 8 * 2;
}

// GFLOP/s over `threads` threads, each running `block` for `seconds`.
template <typename Block>
double gflops(int threads, double seconds, Block block) {
  double total = 0;
  const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += run_for(seconds, [&] { return block(float(omp_get_thread_num())); });
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return total / wall / 1e9;
}

}  // namespace

int main() {
  const int all = omp_get_max_threads();
  const double seconds = 2.0;
  std::printf("{\"threads\": %d", all);
  if (__builtin_cpu_supports("avx512f")) {
    std::printf(", \"avx512_gflops_1\": %.1f", gflops(1, seconds, avx512_block));
    std::printf(", \"avx512_gflops_all\": %.1f", gflops(all, seconds, avx512_block));
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    std::printf(", \"avx2_gflops_1\": %.1f", gflops(1, seconds, avx2_block));
    std::printf(", \"avx2_gflops_all\": %.1f", gflops(all, seconds, avx2_block));
  }
  std::printf("}\n");
  return 0;
}

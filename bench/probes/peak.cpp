//===- peak.cpp - measured compute and bandwidth peaks of this CPU --------===//
//
// Part of the Tessera project (bench/, not part of the build or the tests).
//
//===----------------------------------------------------------------------===//
//
// Prints one JSON object per line:
//   fp32 FMA peak   : AVX-512 vfmadd231ps on zmm, 16 independent accumulators
//   bf16 dot peak   : vdpbf16ps on zmm (only when the CPU has avx512_bf16)
//   read bandwidth  : sum of a large array (512 MiB in all), zmm loads
// each for 1 and 2 threads, as the median of --reps repetitions.
//
//   peak [--reps=N] [--quick]
//
//===----------------------------------------------------------------------===//

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Runs body(threadIndex) on `threads` threads that start together; returns
// the wall time in seconds from the common start to the last finish.
double runThreads(int threads, const std::function<void(int)> &body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  Clock::time_point start;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      body(t);
    });
  while (ready.load() != threads) {
  }
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread &th : pool)
    th.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

volatile float sink;

// 16 accumulators x 16 lanes x 2 flops per iteration step.
__attribute__((noinline)) float fmaKernel(long iterations, float seed) {
  __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(seed * 1e-7f);
  __m512 c0 = _mm512_set1_ps(seed), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
         c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0,
         c12 = c0, c13 = c0, c14 = c0, c15 = c0;
  for (long i = 0; i < iterations; ++i) {
    c0 = _mm512_fmadd_ps(c0, a, b);
    c1 = _mm512_fmadd_ps(c1, a, b);
    c2 = _mm512_fmadd_ps(c2, a, b);
    c3 = _mm512_fmadd_ps(c3, a, b);
    c4 = _mm512_fmadd_ps(c4, a, b);
    c5 = _mm512_fmadd_ps(c5, a, b);
    c6 = _mm512_fmadd_ps(c6, a, b);
    c7 = _mm512_fmadd_ps(c7, a, b);
    c8 = _mm512_fmadd_ps(c8, a, b);
    c9 = _mm512_fmadd_ps(c9, a, b);
    c10 = _mm512_fmadd_ps(c10, a, b);
    c11 = _mm512_fmadd_ps(c11, a, b);
    c12 = _mm512_fmadd_ps(c12, a, b);
    c13 = _mm512_fmadd_ps(c13, a, b);
    c14 = _mm512_fmadd_ps(c14, a, b);
    c15 = _mm512_fmadd_ps(c15, a, b);
    // Keep the compiler from reasoning about the chains.
    __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4),
                     "+v"(c5), "+v"(c6), "+v"(c7));
    __asm__ volatile("" : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11), "+v"(c12),
                     "+v"(c13), "+v"(c14), "+v"(c15));
  }
  __m512 s = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                    _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))),
      _mm512_add_ps(
          _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
          _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15))));
  return _mm512_reduce_add_ps(s);
}

#ifdef __AVX512BF16__
// 16 accumulators; each vdpbf16ps does 16 lanes x 2 products x 2 flops.
__attribute__((noinline)) float bf16Kernel(long iterations, float seed) {
  __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80); // 1.0 in bf16
  __m512bh b = (__m512bh)_mm512_set1_epi16(0x3380); // ~6e-8
  __m512 c0 = _mm512_set1_ps(seed), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
         c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0,
         c12 = c0, c13 = c0, c14 = c0, c15 = c0;
  for (long i = 0; i < iterations; ++i) {
    c0 = _mm512_dpbf16_ps(c0, a, b);
    c1 = _mm512_dpbf16_ps(c1, a, b);
    c2 = _mm512_dpbf16_ps(c2, a, b);
    c3 = _mm512_dpbf16_ps(c3, a, b);
    c4 = _mm512_dpbf16_ps(c4, a, b);
    c5 = _mm512_dpbf16_ps(c5, a, b);
    c6 = _mm512_dpbf16_ps(c6, a, b);
    c7 = _mm512_dpbf16_ps(c7, a, b);
    c8 = _mm512_dpbf16_ps(c8, a, b);
    c9 = _mm512_dpbf16_ps(c9, a, b);
    c10 = _mm512_dpbf16_ps(c10, a, b);
    c11 = _mm512_dpbf16_ps(c11, a, b);
    c12 = _mm512_dpbf16_ps(c12, a, b);
    c13 = _mm512_dpbf16_ps(c13, a, b);
    c14 = _mm512_dpbf16_ps(c14, a, b);
    c15 = _mm512_dpbf16_ps(c15, a, b);
    __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4),
                     "+v"(c5), "+v"(c6), "+v"(c7));
    __asm__ volatile("" : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11), "+v"(c12),
                     "+v"(c13), "+v"(c14), "+v"(c15));
  }
  __m512 s = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                    _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))),
      _mm512_add_ps(
          _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
          _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15))));
  return _mm512_reduce_add_ps(s);
}
#endif

// Sums n floats (n a multiple of 64) with 4 independent zmm accumulators.
__attribute__((noinline)) float sumKernel(const float *p, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

void report(const char *probe, int threads, const char *unit, double value,
            int reps) {
  std::printf("{\"probe\": \"%s\", \"threads\": %d, \"%s\": %.2f, "
              "\"reps\": %d}\n",
              probe, threads, unit, value, reps);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv) {
  int reps = 7;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strncmp(argv[i], "--reps=", 7))
      reps = std::atoi(argv[i] + 7);
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      std::fprintf(stderr, "usage: peak [--reps=N] [--quick]\n");
      return 1;
    }
  }
  if (quick && reps > 3)
    reps = 3;
  // ~0.1 s per repetition at 225 GFLOP/s per thread.
  const long iterations = quick ? 10'000'000 : 40'000'000;

  for (int threads : {1, 2}) {
    std::vector<double> rates;
    for (int r = 0; r < reps; ++r) {
      double s = runThreads(threads, [&](int t) {
        sink = fmaKernel(iterations, 1.0f + t);
      });
      rates.push_back(double(iterations) * 16 * 16 * 2 * threads / s * 1e-9);
    }
    report("fp32_fma", threads, "gflops", median(rates), reps);
  }

#ifdef __AVX512BF16__
  if (__builtin_cpu_supports("avx512bf16")) {
    for (int threads : {1, 2}) {
      std::vector<double> rates;
      for (int r = 0; r < reps; ++r) {
        double s = runThreads(threads, [&](int t) {
          sink = bf16Kernel(iterations, 1.0f + t);
        });
        rates.push_back(double(iterations) * 16 * 16 * 4 * threads / s * 1e-9);
      }
      report("bf16_dot", threads, "gflops", median(rates), reps);
    }
  } else {
    std::printf("{\"probe\": \"bf16_dot\", \"skipped\": \"CPU lacks "
                "avx512_bf16\"}\n");
  }
#else
  std::printf("{\"probe\": \"bf16_dot\", \"skipped\": \"compiler target lacks "
              "avx512bf16 (build with -march=native on a CPU that has it)\"}\n");
#endif

  // Read bandwidth: 512 MiB (128 MiB in --quick), far beyond the caches; each
  // thread sums its own half. Touched once before timing.
  const size_t bytes = size_t(quick ? 128 : 512) << 20;
  const size_t n = bytes / sizeof(float);
  float *data = static_cast<float *>(std::aligned_alloc(4096, bytes));
  runThreads(2, [&](int t) {
    size_t half = n / 2;
    for (size_t i = t * half; i < (t + 1) * half; ++i)
      data[i] = 1.0f;
  });
  for (int threads : {1, 2}) {
    std::vector<double> rates;
    for (int r = 0; r < reps; ++r) {
      size_t chunk = n / threads;
      double s = runThreads(threads, [&](int t) {
        sink = sumKernel(data + t * chunk, chunk);
      });
      rates.push_back(double(bytes) / s * 1e-9);
    }
    report("read_bw", threads, "gbs", median(rates), reps);
  }
  std::free(data);
  return 0;
}

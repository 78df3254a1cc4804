//===- onednn_experts.cpp - oneDNN matmul peer for the MoE expert GEMMs ---===//
//
// Part of the Tessera project (bench/, not part of the build or the tests).
//
//===----------------------------------------------------------------------===//
//
// Times the expert GEMMs of one MoE layer with oneDNN (libdnnl-dev 2.6):
// for every expert e with m_e routed rows,
//   up:   [m_e x d] . [d x 2f]  -> [m_e x 2f]
//   down: [m_e x f] . [f x d]   -> [m_e x d]
// Every expert has its own weights. The weights use format_tag::any and are
// reordered into the primitive's preferred (packed) layout once, before
// timing; only the primitive executions are timed. Inputs are bf16 for
// --dtype=bf16 (weights too), the outputs are f32 in both cases.
//
//   onednn_experts --dtype=f32|bf16 --d=D --f=F --rows=m0,m1,... [--reps=N]
//
// A dense-equivalent GEMM is --rows=T*k (one expert holding every row).
// Prints one JSON object: {"ms_median": ..., "ms_min": ..., "flop": ...}.
//
//===----------------------------------------------------------------------===//

#include "dnnl.hpp"

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using Clock = std::chrono::steady_clock;

namespace {

struct Gemm {
  matmul prim;
  memory src, wei, dst;
  memory::desc scratch;
};

memory randomMemory(const memory::desc &md, engine &eng, std::mt19937 &gen) {
  memory mem(md, eng);
  size_t n = md.get_size() / sizeof(float);
  float *p = static_cast<float *>(mem.get_data_handle());
  // A fast xorshift fill: uniform in [-1, 1).
  uint64_t x = gen() | 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = float(x >> 40) * (2.0f / 16777216.0f) - 1.0f;
  }
  return mem;
}

// Builds one matmul [m x k] . [k x n] with prepacked weights.
Gemm makeGemm(memory::dim m, memory::dim k, memory::dim n, memory::data_type dt,
              engine &eng, stream &strm, std::mt19937 &gen) {
  using tag = memory::format_tag;
  memory::desc srcMd({m, k}, dt, tag::ab);
  memory::desc weiAny({k, n}, dt, tag::any);
  memory::desc dstMd({m, n}, memory::data_type::f32, tag::ab);
  // oneDNN 2.x API: an op descriptor, then the primitive descriptor.
  // The scratchpad is ours (one buffer shared by every GEMM, allocated
  // once): the library's own would be allocated per execution, and fresh
  // pages cost a page fault each on this host.
  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  matmul::primitive_desc pd(matmul::desc(srcMd, weiAny, dstMd), attr, eng);

  // Random f32 data converted to dt by reorders.
  memory srcF32 = randomMemory(memory::desc({m, k}, memory::data_type::f32, tag::ab),
                               eng, gen);
  memory weiF32 = randomMemory(memory::desc({k, n}, memory::data_type::f32, tag::ab),
                               eng, gen);
  Gemm g{matmul(pd), memory(pd.src_desc(), eng), memory(pd.weights_desc(), eng),
         memory(pd.dst_desc(), eng), pd.scratchpad_desc()};
  reorder(srcF32, g.src).execute(strm, srcF32, g.src);
  reorder(weiF32, g.wei).execute(strm, weiF32, g.wei); // the one-time prepack
  strm.wait();
  return g;
}

std::vector<long> parseList(const char *s) {
  std::vector<long> out;
  while (*s) {
    char *end;
    out.push_back(std::strtol(s, &end, 10));
    s = *end == ',' ? end + 1 : end;
  }
  return out;
}

} // namespace

int main(int argc, char **argv) {
  std::string dtype = "f32";
  long d = 0, f = 0;
  int reps = 10;
  std::vector<long> rows;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (!std::strncmp(a, "--dtype=", 8))
      dtype = a + 8;
    else if (!std::strncmp(a, "--d=", 4))
      d = std::atol(a + 4);
    else if (!std::strncmp(a, "--f=", 4))
      f = std::atol(a + 4);
    else if (!std::strncmp(a, "--rows=", 7))
      rows = parseList(a + 7);
    else if (!std::strncmp(a, "--reps=", 7))
      reps = std::atoi(a + 7);
    else {
      std::fprintf(stderr, "unknown argument %s\n", a);
      return 1;
    }
  }
  if (d <= 0 || f <= 0 || rows.empty() || (dtype != "f32" && dtype != "bf16")) {
    std::fprintf(stderr, "usage: onednn_experts --dtype=f32|bf16 --d=D --f=F "
                         "--rows=m0,m1,... [--reps=N]\n");
    return 1;
  }
  memory::data_type dt =
      dtype == "bf16" ? memory::data_type::bf16 : memory::data_type::f32;

  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  std::mt19937 gen(0);
  std::vector<Gemm> gemms;
  double flop = 0;
  for (long m : rows) {
    if (m == 0)
      continue;
    gemms.push_back(makeGemm(m, d, 2 * f, dt, eng, strm, gen));
    gemms.push_back(makeGemm(m, f, d, dt, eng, strm, gen));
    flop += 2.0 * m * (d * 2.0 * f + f * double(d));
  }

  size_t scratchBytes = 0;
  for (Gemm &g : gemms)
    scratchBytes = std::max(scratchBytes, g.scratch.get_size());
  memory scratch(memory::desc({memory::dim(std::max<size_t>(scratchBytes, 1))},
                              memory::data_type::u8, memory::format_tag::a),
                 eng);
  std::memset(scratch.get_data_handle(), 0, scratchBytes);

  auto runAll = [&] {
    for (Gemm &g : gemms)
      g.prim.execute(strm, {{DNNL_ARG_SRC, g.src},
                            {DNNL_ARG_WEIGHTS, g.wei},
                            {DNNL_ARG_DST, g.dst},
                            {DNNL_ARG_SCRATCHPAD, scratch}});
    strm.wait();
  };
  runAll(); // warm-up (and first touch of the outputs)
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    runAll();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0)
                        .count());
  }
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  double med = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  std::printf("{\"ms_median\": %.4f, \"ms_min\": %.4f, \"flop\": %.6g, "
              "\"gemms\": %zu, \"scratchpad_bytes\": %zu, \"reps\": %d}\n",
              med, times.front(), flop, gemms.size(), scratchBytes, reps);
  return 0;
}

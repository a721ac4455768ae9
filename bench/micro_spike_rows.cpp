// Dense GEMM against the event-driven kernels of tensor/spike_rows.hpp on W1's first layer
// (3200 rows = T 25 x B 128, 784 binary inputs, 1000 units), across input densities: the
// measured crossover behind kSparseInputDensity. The sparse timings include building the index
// lists and the weight transposes they need.
//   ./build/bench/homeostat_microbench --benchmark_filter=SpikeRows
#include <benchmark/benchmark.h>

#include <vector>

#include "random/counter_rng.hpp"
#include "tensor/blas.hpp"
#include "tensor/spike_rows.hpp"

namespace homeostat {
namespace {

constexpr std::size_t kRows = 3200;
constexpr std::size_t kFeatures = 784;
constexpr std::size_t kUnits = 1000;

struct Problem {
  std::vector<float> x, weight, weight_t, out, grad_out, grad_weight, grad_weight_t;
  explicit Problem(double density)
      : x(kRows * kFeatures),
        weight(kUnits * kFeatures),
        weight_t(kUnits * kFeatures),
        out(kRows * kUnits),
        grad_out(kRows * kUnits),
        grad_weight(kUnits * kFeatures),
        grad_weight_t(kUnits * kFeatures) {
    const CounterRng rng(7, {1});
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(i) < density ? 1.0f : 0.0f;
    for (std::size_t i = 0; i < weight.size(); ++i) weight[i] = static_cast<float>(rng.normal(i));
    for (std::size_t i = 0; i < grad_out.size(); ++i) {
      grad_out[i] = static_cast<float>(rng.normal(i + x.size()));
    }
  }
};

double density_of(const benchmark::State& state) {
  return static_cast<double>(state.range(0)) / 100.0;
}

void BM_SpikeRowsDenseForward(benchmark::State& state) {
  Problem p(density_of(state));
  for (auto _ : state) {
    gemm(Transpose::no, Transpose::yes, kRows, kUnits, kFeatures, 1.0f, p.x.data(), kFeatures,
         p.weight.data(), kFeatures, 0.0f, p.out.data(), kUnits);
    benchmark::DoNotOptimize(p.out.data());
  }
}

void BM_SpikeRowsSparseForward(benchmark::State& state) {
  Problem p(density_of(state));
  SpikeRows spikes;
  for (auto _ : state) {
    collect_spike_rows(p.x.data(), kRows, kFeatures, 1.0, spikes);
    transpose_matrix(p.weight.data(), kUnits, kFeatures, p.weight_t.data(), false);
    spike_rows_times(spikes, p.weight_t.data(), kUnits, p.out.data());
    benchmark::DoNotOptimize(p.out.data());
  }
}

void BM_SpikeRowsDenseWeightGradient(benchmark::State& state) {
  Problem p(density_of(state));
  for (auto _ : state) {
    gemm(Transpose::yes, Transpose::no, kUnits, kFeatures, kRows, 1.0f, p.grad_out.data(), kUnits,
         p.x.data(), kFeatures, 1.0f, p.grad_weight.data(), kFeatures);
    benchmark::DoNotOptimize(p.grad_weight.data());
  }
}

void BM_SpikeRowsSparseWeightGradient(benchmark::State& state) {
  Problem p(density_of(state));
  SpikeRows spikes;
  collect_spike_rows(p.x.data(), kRows, kFeatures, 1.0, spikes);
  for (auto _ : state) {
    std::fill(p.grad_weight_t.begin(), p.grad_weight_t.end(), 0.0f);
    accumulate_spike_outer(spikes, p.grad_out.data(), kUnits, p.grad_weight_t.data());
    transpose_matrix(p.grad_weight_t.data(), kFeatures, kUnits, p.grad_weight.data(), true);
    benchmark::DoNotOptimize(p.grad_weight.data());
  }
}

#define DENSITIES \
  ->Arg(5)->Arg(10)->Arg(20)->Arg(29)->Arg(40)->Arg(60)->Unit(benchmark::kMillisecond)
BENCHMARK(BM_SpikeRowsDenseForward) DENSITIES;
BENCHMARK(BM_SpikeRowsSparseForward) DENSITIES;
BENCHMARK(BM_SpikeRowsDenseWeightGradient) DENSITIES;
BENCHMARK(BM_SpikeRowsSparseWeightGradient) DENSITIES;

}  // namespace
}  // namespace homeostat

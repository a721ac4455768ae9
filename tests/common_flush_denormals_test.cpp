// ScopedFlushDenormals: denormal results become zero on every thread while it lives, and each
// thread's previous floating-point mode comes back after.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "common/flush_denormals.hpp"

namespace homeostat {
namespace {

// Multiplied through a volatile so the compiler cannot fold it at compile time.
float decayed(float value, float factor) {
  volatile float v = value;
  return v * factor;
}

TEST(FlushDenormals, DenormalsBecomeZeroOnEveryThreadAndTheModeIsRestored) {
  if (!can_flush_denormals())
    GTEST_SKIP() << "no MXCSR on this architecture: the guard does nothing";
  const float smallest_normal = std::numeric_limits<float>::min();
  ASSERT_GT(decayed(smallest_normal, 0.5f), 0.0f);  // a denormal without the guard
  const int previous_threads = omp_get_max_threads();
  const int threads = std::max(2, previous_threads);
  omp_set_num_threads(threads);
  {
    const ScopedFlushDenormals guard;
    std::vector<float> results(static_cast<std::size_t>(threads), 1.0f);
#pragma omp parallel num_threads(threads)
    results[static_cast<std::size_t>(omp_get_thread_num())] = decayed(smallest_normal, 0.5f);
    for (const float r : results) EXPECT_EQ(r, 0.0f);
  }
  EXPECT_GT(decayed(smallest_normal, 0.5f), 0.0f);
  std::vector<float> after(static_cast<std::size_t>(threads), 0.0f);
#pragma omp parallel num_threads(threads)
  after[static_cast<std::size_t>(omp_get_thread_num())] = decayed(smallest_normal, 0.5f);
  for (const float r : after) EXPECT_GT(r, 0.0f);
  omp_set_num_threads(previous_threads);
}

}  // namespace
}  // namespace homeostat

// Flush-to-zero for the clock-driven simulator. Its traces and conductances decay geometrically
// between spikes and spend hundreds of steps in the denormal range (below 1.2e-38) before they
// reach zero; on Intel cores every such multiply takes a microcode assist, which halved W4's
// speed. With FTZ and DAZ set, denormal results and inputs are zero instead: a change no
// simulation can feel (the values are 1e-38 of a spike's trace or conductance).
#pragma once

#include <omp.h>

#include <vector>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define HOMEOSTAT_HAS_MXCSR 1
#endif

namespace homeostat {

// Sets FTZ and DAZ on every thread of the OpenMP pool for its lifetime (the pool's threads do
// the per-step work too, so all of them must round alike: results stay the same for any
// thread count), then restores each thread's previous mode.
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals() {
#ifdef HOMEOSTAT_HAS_MXCSR
    previous_.assign(static_cast<std::size_t>(omp_get_max_threads()), 0u);
#pragma omp parallel
    {
      const auto thread = static_cast<std::size_t>(omp_get_thread_num());
      if (thread < previous_.size()) previous_[thread] = _mm_getcsr();
      _mm_setcsr(_mm_getcsr() | kFlushToZero | kDenormalsAreZero);
    }
#endif
  }
  ~ScopedFlushDenormals(){
#ifdef HOMEOSTAT_HAS_MXCSR
#pragma omp parallel
      {const auto thread = static_cast<std::size_t>(omp_get_thread_num());
  if (thread < previous_.size()) _mm_setcsr(previous_[thread]);
}
#endif
}  // namespace homeostat
ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

private:
static constexpr unsigned kFlushToZero = 0x8000;       // MXCSR bit 15
static constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR bit 6
std::vector<unsigned> previous_;
}
;

}  // namespace homeostat

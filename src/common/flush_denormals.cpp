#include "common/flush_denormals.hpp"

#include <omp.h>

#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#define HOMEOSTAT_HAS_MXCSR 1
#endif

namespace homeostat {

#ifdef HOMEOSTAT_HAS_MXCSR
namespace {
constexpr unsigned kFlushToZero = 0x8000;       // MXCSR bit 15
constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR bit 6
}  // namespace
#endif

bool can_flush_denormals() {
#ifdef HOMEOSTAT_HAS_MXCSR
  return true;
#else
  return false;
#endif
}

ScopedFlushDenormals::ScopedFlushDenormals() {
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

ScopedFlushDenormals::~ScopedFlushDenormals() {
#ifdef HOMEOSTAT_HAS_MXCSR
#pragma omp parallel
  {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    if (thread < previous_.size()) _mm_setcsr(previous_[thread]);
  }
#endif
}

}  // namespace homeostat

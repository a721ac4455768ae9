// Flush-to-zero for the clock-driven simulator. Its traces and conductances decay geometrically
// between spikes and spend hundreds of steps in the denormal range (below 1.2e-38) before they
// reach zero; on Intel cores every such multiply takes a microcode assist, which halved W4's
// speed. With FTZ and DAZ set, denormal results and inputs are zero instead: a change no
// simulation can feel (the values are 1e-38 of a spike's trace or conductance).
#pragma once

#include <vector>

namespace homeostat {

// Whether this build can set the modes (x86's MXCSR); elsewhere the guard does nothing.
bool can_flush_denormals();

// Sets FTZ and DAZ on every thread of the OpenMP pool for its lifetime (the pool's threads do
// the per-step work too, so all of them must round alike: results stay the same for any
// thread count), then restores each thread's previous mode.
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  std::vector<unsigned> previous_;  // each pool thread's mode before
};

}  // namespace homeostat

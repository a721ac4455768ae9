// Synaptic operations (SynOps): how many synapses the events of a forward pass drive, per
// sample. homeostat's definition, for a forward pass over T steps and a batch of B samples:
//
//   synops per sample = (1/B) sum over synaptic layers L of
//       nnz(input of L over all T steps and B samples) x L.fan_out_per_input()
//     + nnz(output of L over steps 0 .. T-2)            x L.recurrent_fan_out()
//
// A synaptic layer is one with fan_out_per_input() > 0: dense (units), conv2d (C_out k k, borders
// and strides ignored), recurrent (units for the input projection). The second term is the
// recurrent matrix: a recurrent layer's spike at step t drives units (units - 1 with a zero
// diagonal) synapses at step t + 1, so spikes of the last step drive nothing. Parameter-free
// layers (lif, pooling, dropout, tebn, readout: the readout is a leaky integrator whose synapses
// are the dense layer in front of it) count 0. nnz counts non-zero entries, so a binary spike
// input counts its spikes and a real-valued input (direct encoding) counts every non-zero value
// as one event. Layer 0's input is the network input; layer i > 0's input is output i - 1.
//
// Counting is exact (integer sums) and deterministic; large tensors are counted in parallel.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "network/network.hpp"

namespace homeostat {

// Non-zero entries of `values` (an integer count: the same for any thread count).
template <typename Real>
std::uint64_t count_nonzero(std::span<const Real> values);

struct LayerSynops {
  std::string name;                   // the layer's name
  double per_sample = 0.0;            // this layer's synops per observed sample (both terms)
  double recurrent_per_sample = 0.0;  // of which through the recurrent matrix
};

template <typename Real>
class SynopsCounter {
 public:
  explicit SynopsCounter(const Network<Real>& network);

  // Adds the last forward pass of `network`, which ran on `input` ([T, B, ...]).
  void observe(const Network<Real>& network, const Tensor<Real>& input);
  // Total synops / samples observed; 0 before any sample.
  [[nodiscard]] double per_sample() const;
  [[nodiscard]] std::vector<LayerSynops> per_layer() const;
  [[nodiscard]] std::uint64_t samples() const { return samples_; }
  [[nodiscard]] std::uint64_t total() const;
  void reset();

 private:
  struct Entry {
    std::size_t layer;
    std::string name;
    std::uint64_t fan_out;
    std::uint64_t recurrent_fan_out;
    std::uint64_t input_synops = 0;
    std::uint64_t recurrent_synops = 0;
  };
  std::vector<Entry> entries_;
  std::uint64_t samples_ = 0;
};

extern template class SynopsCounter<float>;
extern template class SynopsCounter<double>;
extern template std::uint64_t count_nonzero<float>(std::span<const float>);
extern template std::uint64_t count_nonzero<double>(std::span<const double>);

}  // namespace homeostat

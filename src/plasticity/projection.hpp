// A projection of the local-learning simulator: synapses from one population to another, onto
// the excitatory or inhibitory input (ge or gi) of the postsynaptic neurons, with a delay of at
// least one step (a spike emitted at step t is delivered at step t + delay - 1, after that step's
// integration, so it first moves the membrane at step t + delay). Weights are dense and
// presynaptic-major ([pre][post]): an arriving spike touches only its own contiguous row, for
// delivery and for the pre side of STDP; a postsynaptic spike walks its column. Traces live on
// the projection (pre x1 x2, post y1 y2), see stdp_rule.hpp. Work is split over postsynaptic
// neurons in fixed blocks, so results do not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "plasticity/stdp_rule.hpp"

namespace homeostat {

enum class Connectivity { dense, one_to_one };
enum class Receptor { excitatory, inhibitory };

struct ProjectionSpec {
  std::string name;
  std::size_t pre = 0;  // population indices in the simulator
  std::size_t post = 0;
  Connectivity connectivity = Connectivity::dense;
  Receptor receptor = Receptor::excitatory;
  std::size_t delay = 1;  // steps, >= 1
  double init_low = 0.0;  // initial weights ~ U[init_low, init_high)
  double init_high = 0.0;
  bool exclude_self = false;     // dense: no synapse i -> i
  StdpParams stdp;               // kind none: static
  double normalize_total = 0.0;  // > 0: normalize() scales each column to this sum
};

class Projection {
 public:
  // Work (spikes x postsynaptic neurons) from which a step is split over threads; tests lower it
  // to exercise the parallel path on small networks.
  static inline std::size_t parallel_min_work = 1 << 18;

  Projection(ProjectionSpec spec, std::size_t pre_size, std::size_t post_size, std::uint64_t seed,
             std::size_t index);

  [[nodiscard]] const ProjectionSpec& spec() const { return spec_; }
  [[nodiscard]] std::size_t pre_size() const { return pre_size_; }
  [[nodiscard]] std::size_t post_size() const { return post_size_; }
  // dense: [pre][post]; one_to_one: [pre]. A synapse that does not exist is held at 0.
  std::vector<float> weights;

  // One step: decays the traces, delivers the arriving presynaptic spikes into `post_input`
  // (the ge or gi of the post population) with the pre side of STDP when plastic, then the post
  // side for the postsynaptic spikes of this step. dt in ms.
  void step(std::span<const std::uint32_t> arriving, std::span<const std::uint32_t> post_spikes,
            float* post_input, bool plastic, double dt);
  // Decays traces over `steps` quiet steps.
  void relax(std::size_t steps, double dt);
  // Scales each postsynaptic neuron's incoming weights to sum to spec.normalize_total.
  void normalize();
  [[nodiscard]] double weight_sum() const;  // sum |w|
  // Copies the traces (and x_target) of a projection of the same shape; weights stay.
  void copy_traces(const Projection& other);
  // Seed 002's x_tar: the running population-mean pre trace (tau_target > 0).
  [[nodiscard]] double x_target() const { return x_target_; }
  [[nodiscard]] double population_mean_trace() const;

  // Traces (read by tests).
  std::vector<float> x1, x2, y1, y2;

 private:
  void decay_traces(double steps, double dt);
  void deliver_dense(std::span<const std::uint32_t> arriving, float* post_input, bool plastic);
  void potentiate(std::span<const std::uint32_t> post_spikes);
  bool exists(std::size_t i, std::size_t j) const { return !(spec_.exclude_self && i == j); }

  ProjectionSpec spec_;
  std::size_t pre_size_;
  std::size_t post_size_;
  bool traces_needed_;
  double x_target_ = 0.0;
  std::vector<double> column_sums_;  // scratch of normalize()
  std::vector<float> column_factors_;
};

}  // namespace homeostat

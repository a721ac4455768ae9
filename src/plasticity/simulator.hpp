// The clock-driven simulator for local learning: populations (plasticity/population.hpp) and
// projections (plasticity/projection.hpp) advanced together in steps of dt (ms). Per step:
//   1. every population integrates and fires (inputs emit their Poisson spikes);
//   2. every projection takes the spikes its presynaptic population emitted delay - 1 steps ago
//      (time-major ring buffers of spike indices), delivers them into ge / gi of the
//      postsynaptic population and applies the pre side of its STDP rule, then the post side for
//      this step's postsynaptic spikes.
// Propagation is event-driven: only rows of spiking presynaptic neurons are touched. Nothing is
// allocated per step. Randomness comes from CounterRng keyed by (seed, population, step), so a
// run is identical for any thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "plasticity/population.hpp"
#include "plasticity/projection.hpp"

namespace homeostat {

class Simulator {
 public:
  Simulator(double dt, std::uint64_t seed);

  std::size_t add_population(Population population);
  std::size_t add_projection(ProjectionSpec spec);  // population indices must exist

  [[nodiscard]] double dt() const { return dt_; }
  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  [[nodiscard]] std::uint64_t current_step() const { return step_; }
  Population& population(std::size_t index) { return populations_[index]; }
  Projection& projection(std::size_t index) { return projections_[index]; }
  [[nodiscard]] const Population& population(std::size_t index) const {
    return populations_[index];
  }
  [[nodiscard]] const Projection& projection(std::size_t index) const {
    return projections_[index];
  }
  [[nodiscard]] std::size_t population_count() const { return populations_.size(); }
  [[nodiscard]] std::size_t projection_count() const { return projections_.size(); }

  // STDP on/off (the pre and post sides of every plastic projection).
  bool plastic = true;
  // Diehl & Cook's theta: increments and decays when true, frozen when false.
  bool adapt_threshold = true;

  // Sets a Poisson population's rates (Hz) from the next step on.
  void set_rates(std::size_t population, std::span<const float> rates_hz);

  // Advances one step.
  void step();
  // Advances `steps` steps; once every population is quiescent (no drive, no noise, synaptic
  // input below 1e-7, no spike in flight) the remaining steps are replaced by their closed form.
  void run_quiet(std::size_t steps);

  // Restarts from `other`'s dynamic state (membranes, conductances, theta, refractory counters,
  // traces; inputs silent, no spike in flight) at step `step`; the weights stay. `other` must
  // have the same populations and projections. No allocation: frozen passes run one image per
  // thread on copies, each image restarted from the trained state.
  void restart_from(const Simulator& other, std::uint64_t step);

  // The spikes population `index` emitted in the last step.
  [[nodiscard]] std::span<const std::uint32_t> spikes(std::size_t index) const;

 private:
  std::span<const std::uint32_t> spikes_at(std::size_t population, std::uint64_t step) const;
  [[nodiscard]] bool in_flight() const;

  double dt_;
  std::uint64_t seed_;
  std::uint64_t step_ = 0;  // the next step to simulate
  std::size_t depth_ = 1;   // ring depth: the largest delay
  std::vector<Population> populations_;
  std::vector<Projection> projections_;
  // Per population: depth_ x size spike indices and depth_ counts, slot = step % depth_.
  std::vector<std::vector<std::uint32_t>> ring_;
  std::vector<std::vector<std::size_t>> ring_count_;
};

}  // namespace homeostat

#include "plasticity/simulator.hpp"

#include <algorithm>
#include <stdexcept>

namespace homeostat {

Simulator::Simulator(double dt, std::uint64_t seed) : dt_(dt), seed_(seed) {
  if (!(dt > 0.0)) throw std::invalid_argument("simulator dt must be > 0");
}

std::size_t Simulator::add_population(Population population) {
  populations_.push_back(std::move(population));
  ring_.emplace_back(depth_ * populations_.back().size(), 0u);
  ring_count_.emplace_back(depth_, 0);
  return populations_.size() - 1;
}

std::size_t Simulator::add_projection(ProjectionSpec spec) {
  if (spec.pre >= populations_.size() || spec.post >= populations_.size())
    throw std::invalid_argument("projection '" + spec.name + "': unknown population");
  if (populations_[spec.post].is_input())
    throw std::invalid_argument("projection '" + spec.name + "': targets an input population");
  const std::size_t index = projections_.size();
  const std::size_t pre_size = populations_[spec.pre].size();
  const std::size_t post_size = populations_[spec.post].size();
  if (spec.delay > depth_) {
    // Grow the rings (only before the run: spikes in flight are dropped).
    depth_ = spec.delay;
    for (std::size_t p = 0; p < populations_.size(); ++p) {
      ring_[p].assign(depth_ * populations_[p].size(), 0u);
      ring_count_[p].assign(depth_, 0);
    }
  }
  projections_.emplace_back(std::move(spec), pre_size, post_size, seed_, index);
  return index;
}

void Simulator::set_rates(std::size_t population, std::span<const float> rates_hz) {
  Population& p = populations_.at(population);
  if (!p.is_input()) throw std::invalid_argument("set_rates on a non-input population");
  if (rates_hz.size() != p.size()) throw std::invalid_argument("set_rates: wrong size");
  p.set_rates(rates_hz, step_, dt_, seed_, population);
}

std::span<const std::uint32_t> Simulator::spikes_at(std::size_t population,
                                                    std::uint64_t step) const {
  const std::size_t slot = step % depth_;
  const std::size_t n = populations_[population].size();
  return {ring_[population].data() + slot * n, ring_count_[population][slot]};
}

std::span<const std::uint32_t> Simulator::spikes(std::size_t index) const {
  if (step_ == 0) return {};
  return spikes_at(index, step_ - 1);
}

void Simulator::step() {
  const std::size_t slot = step_ % depth_;
  for (std::size_t p = 0; p < populations_.size(); ++p) {
    Population& pop = populations_[p];
    std::uint32_t* out = ring_[p].data() + slot * pop.size();
    ring_count_[p][slot] = pop.step(step_, dt_, adapt_threshold, seed_, p, out);
  }
  for (Projection& proj : projections_) {
    const ProjectionSpec& s = proj.spec();
    std::span<const std::uint32_t> arriving;
    if (step_ + 1 >= s.delay) arriving = spikes_at(s.pre, step_ + 1 - s.delay);
    Population& post = populations_[s.post];
    float* input = s.receptor == Receptor::excitatory ? post.ge.data() : post.gi.data();
    proj.step(arriving, spikes_at(s.post, step_), input, plastic, dt_);
  }
  ++step_;
}

void Simulator::restart_from(const Simulator& other, std::uint64_t step) {
  for (std::size_t p = 0; p < populations_.size(); ++p) {
    populations_[p].copy_state(other.populations_[p]);
    std::fill(ring_count_[p].begin(), ring_count_[p].end(), 0);
  }
  for (std::size_t k = 0; k < projections_.size(); ++k)
    projections_[k].copy_traces(other.projections_[k]);
  step_ = step;
}

bool Simulator::in_flight() const {
  // Any spike emitted in the last depth_ - 1 steps may still be delivered.
  for (std::size_t p = 0; p < populations_.size(); ++p) {
    for (std::size_t k = 0; k < depth_; ++k) {
      if (ring_count_[p][k] > 0) return true;
    }
  }
  return false;
}

void Simulator::run_quiet(std::size_t steps) {
  constexpr double kEpsilon = 1e-7;
  std::size_t done = 0;
  while (done < steps) {
    bool quiet = !in_flight();
    for (std::size_t p = 0; quiet && p < populations_.size(); ++p)
      quiet = populations_[p].quiescent(kEpsilon);
    if (quiet) break;
    step();
    ++done;
  }
  const std::size_t rest = steps - done;
  if (rest == 0) return;
  for (Population& p : populations_) p.relax(rest, dt_, adapt_threshold);
  for (Projection& proj : projections_) proj.relax(rest, dt_);
  step_ += rest;
}

}  // namespace homeostat

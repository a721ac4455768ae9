// Label assignment for unsupervised competitive networks (Diehl & Cook 2015): each neuron takes
// the class of its highest mean response over labelled images; an image is classified as the
// class whose assigned neurons have the highest mean spike count (a class without neurons scores
// 0; ties go to the lower class). A neuron that never responded to a labelled image gets no class
// (Brian2's reference gives it class 0, where it dilutes class 0's mean: with W4's adaptive
// thresholds half of the neurons can be silent once plasticity and theta decay stop).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace homeostat {

class LabelAssignment {
 public:
  static constexpr std::size_t kNoClass = static_cast<std::size_t>(-1);
  LabelAssignment(std::size_t classes, std::size_t neurons)
      : classes_(classes),
        neurons_(neurons),
        sums_(classes * neurons, 0.0),
        seen_(classes, 0.0),
        neuron_class_(neurons, 0),
        per_class_(classes, 0) {}

  // Adds one labelled response (spike count per neuron).
  void observe(std::span<const std::uint32_t> counts, std::size_t label) {
    double* row = sums_.data() + label * neurons_;
    for (std::size_t j = 0; j < neurons_; ++j) row[j] += counts[j];
    seen_[label] += 1.0;
  }
  // Adds one labelled response as fractions of its total spike count (each image weighs the same
  // whatever its brightness; an image without spikes counts as seen, with no response).
  void observe_fraction(std::span<const std::uint32_t> counts, std::size_t label) {
    double total = 0.0;
    for (std::size_t j = 0; j < neurons_; ++j) total += counts[j];
    double* row = sums_.data() + label * neurons_;
    if (total > 0.0)
      for (std::size_t j = 0; j < neurons_; ++j) row[j] += counts[j] / total;
    seen_[label] += 1.0;
  }
  // Multiplies the accumulated responses by `factor` (a forgetting window for running labels).
  void decay(double factor) {
    for (double& s : sums_) s *= factor;
    for (double& n : seen_) n *= factor;
  }
  // Assigns every neuron the class with its highest mean response.
  void assign() {
    std::fill(per_class_.begin(), per_class_.end(), 0);
    for (std::size_t j = 0; j < neurons_; ++j) {
      std::size_t best = 0;
      double best_mean = -1.0;
      for (std::size_t c = 0; c < classes_; ++c) {
        const double mean = seen_[c] > 0 ? sums_[c * neurons_ + j] / seen_[c] : 0.0;
        if (mean > 0.0 && mean > best_mean) {
          best_mean = mean;
          best = c;
        }
      }
      neuron_class_[j] = best_mean > 0.0 ? best : kNoClass;
      if (best_mean > 0.0) ++per_class_[best];
    }
  }
  [[nodiscard]] std::size_t predict(std::span<const std::uint32_t> counts) const {
    std::size_t best = 0;
    double best_score = -1.0;
    for (std::size_t c = 0; c < classes_; ++c) {
      double score = 0.0;
      if (per_class_[c] > 0) {
        for (std::size_t j = 0; j < neurons_; ++j)
          if (neuron_class_[j] == c) score += counts[j];
        score /= static_cast<double>(per_class_[c]);
      }
      if (score > best_score) {
        best_score = score;
        best = c;
      }
    }
    return best;
  }
  // Proportion weighting (BindsNET's variant of the vote): each assigned neuron votes for its
  // class with count x its share of its mean responses that belongs to that class; scores are
  // summed, not averaged.
  [[nodiscard]] std::size_t predict_proportion(std::span<const std::uint32_t> counts) const {
    std::size_t best = 0;
    double best_score = -1.0;
    for (std::size_t c = 0; c < classes_; ++c) {
      double score = 0.0;
      for (std::size_t j = 0; j < neurons_; ++j) {
        if (neuron_class_[j] != c || counts[j] == 0) continue;
        double total = 0.0;
        for (std::size_t k = 0; k < classes_; ++k)
          total += seen_[k] > 0 ? sums_[k * neurons_ + j] / seen_[k] : 0.0;
        const double own = seen_[c] > 0 ? sums_[c * neurons_ + j] / seen_[c] : 0.0;
        if (total > 0) score += counts[j] * own / total;
      }
      if (score > best_score) {
        best_score = score;
        best = c;
      }
    }
    return best;
  }
  [[nodiscard]] const std::vector<std::size_t>& neurons_per_class() const { return per_class_; }
  // Neurons that never responded to a labelled image.
  [[nodiscard]] std::size_t silent_neurons() const {
    std::size_t silent = 0;
    for (std::size_t j = 0; j < neurons_; ++j) {
      double total = 0.0;
      for (std::size_t c = 0; c < classes_; ++c) total += sums_[c * neurons_ + j];
      silent += total == 0.0;
    }
    return silent;
  }
  [[nodiscard]] const std::vector<std::size_t>& neuron_class() const { return neuron_class_; }

 private:
  std::size_t classes_;
  std::size_t neurons_;
  std::vector<double> sums_;  // [class][neuron]
  std::vector<double> seen_;  // (decayed) images per class
  std::vector<std::size_t> neuron_class_;
  std::vector<std::size_t> per_class_;
};

}  // namespace homeostat

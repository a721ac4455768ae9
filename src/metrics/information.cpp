// Mutual information of a confusion matrix and synaptic efficiency (see information.hpp).
#include "metrics/information.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace homeostat {

double mutual_information_bits(std::span<const std::size_t> confusion, std::size_t classes) {
  if (confusion.size() != classes * classes) {
    throw std::invalid_argument("mutual_information_bits: confusion has " +
                                std::to_string(confusion.size()) + " entries, expected " +
                                std::to_string(classes) + " x " + std::to_string(classes));
  }
  std::vector<double> row(classes, 0.0);
  std::vector<double> column(classes, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < classes; ++i) {
    for (std::size_t j = 0; j < classes; ++j) {
      const auto n = static_cast<double>(confusion[i * classes + j]);
      row[i] += n;
      column[j] += n;
      total += n;
    }
  }
  if (total == 0.0) return 0.0;
  double bits = 0.0;
  for (std::size_t i = 0; i < classes; ++i) {
    for (std::size_t j = 0; j < classes; ++j) {
      const auto n = static_cast<double>(confusion[i * classes + j]);
      if (n == 0.0) continue;
      // p_ij / (p_i p_j) = n_ij N / (n_i n_j)
      bits += (n / total) * std::log2(n * total / (row[i] * column[j]));
    }
  }
  return bits > 0.0 ? bits : 0.0;  // rounding can leave -1e-17 for independent predictions
}

double synaptic_efficiency(double information_bits, double synops_per_sample) {
  return synops_per_sample > 0.0 ? information_bits / (synops_per_sample / 1e6) : 0.0;
}

}  // namespace homeostat

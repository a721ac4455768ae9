// A linear classifier on spike counts (seed 002's readout): features are standardized with the
// training statistics, then ridge regression onto one-hot labels, solved in closed form
// (Cholesky of X^T X + lambda I, with an unpenalized bias); the prediction is the argmax.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace homeostat {

class LinearReadout {
 public:
  // features: samples x dims (row-major), labels in [0, classes).
  void fit(const std::vector<double>& features, const std::vector<std::int32_t>& labels,
           std::size_t dims, std::size_t classes, double lambda = 1.0);
  [[nodiscard]] std::size_t predict(const double* feature) const;
  [[nodiscard]] double accuracy(const std::vector<double>& features,
                                const std::vector<std::int32_t>& labels) const;

 private:
  std::size_t dims_ = 0;
  std::size_t classes_ = 0;
  std::vector<double> mean_, scale_;
  std::vector<double> weights_;  // (dims + 1) x classes, last row the bias
};

}  // namespace homeostat

#include "plasticity/linear_readout.hpp"

#include <cmath>
#include <stdexcept>

namespace homeostat {

void LinearReadout::fit(const std::vector<double>& features,
                        const std::vector<std::int32_t>& labels, std::size_t dims,
                        std::size_t classes, double lambda) {
  dims_ = dims;
  classes_ = classes;
  const std::size_t n = labels.size();
  if (features.size() != n * dims || n == 0) throw std::invalid_argument("readout: bad shapes");
  mean_.assign(dims, 0.0);
  scale_.assign(dims, 1.0);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t d = 0; d < dims; ++d) mean_[d] += features[s * dims + d];
  for (double& m : mean_) m /= static_cast<double>(n);
  std::vector<double> var(dims, 0.0);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t d = 0; d < dims; ++d) {
      const double x = features[s * dims + d] - mean_[d];
      var[d] += x * x;
    }
  for (std::size_t d = 0; d < dims; ++d) {
    const double sd = std::sqrt(var[d] / static_cast<double>(n));
    scale_[d] = sd > 1e-12 ? 1.0 / sd : 0.0;
  }
  const std::size_t m = dims + 1;  // with the bias column
  std::vector<double> a(m * m, 0.0), b(m * classes, 0.0), row(m);
  for (std::size_t s = 0; s < n; ++s) {
    for (std::size_t d = 0; d < dims; ++d) row[d] = (features[s * dims + d] - mean_[d]) * scale_[d];
    row[dims] = 1.0;
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j <= i; ++j) a[i * m + j] += row[i] * row[j];
      b[i * classes + static_cast<std::size_t>(labels[s])] += row[i];
    }
  }
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < i; ++j) a[j * m + i] = a[i * m + j];
    if (i < dims) a[i * m + i] += lambda;
  }
  a[dims * m + dims] += 1e-9;
  // Cholesky: a = L L^T (lower triangle in place).
  for (std::size_t j = 0; j < m; ++j) {
    double d = a[j * m + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * m + k] * a[j * m + k];
    if (d <= 0) throw std::runtime_error("readout: matrix not positive definite");
    const double l = std::sqrt(d);
    a[j * m + j] = l;
    for (std::size_t i = j + 1; i < m; ++i) {
      double v = a[i * m + j];
      for (std::size_t k = 0; k < j; ++k) v -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = v / l;
    }
  }
  weights_.assign(m * classes, 0.0);
  for (std::size_t c = 0; c < classes; ++c) {
    std::vector<double> y(m);
    for (std::size_t i = 0; i < m; ++i) {  // L y = b
      double v = b[i * classes + c];
      for (std::size_t k = 0; k < i; ++k) v -= a[i * m + k] * y[k];
      y[i] = v / a[i * m + i];
    }
    for (std::size_t i = m; i-- > 0;) {  // L^T x = y
      double v = y[i];
      for (std::size_t k = i + 1; k < m; ++k) v -= a[k * m + i] * weights_[k * classes + c];
      weights_[i * classes + c] = v / a[i * m + i];
    }
  }
}

std::size_t LinearReadout::predict(const double* feature) const {
  std::size_t best = 0;
  double best_score = -1e300;
  for (std::size_t c = 0; c < classes_; ++c) {
    double score = weights_[dims_ * classes_ + c];
    for (std::size_t d = 0; d < dims_; ++d)
      score += (feature[d] - mean_[d]) * scale_[d] * weights_[d * classes_ + c];
    if (score > best_score) {
      best_score = score;
      best = c;
    }
  }
  return best;
}

double LinearReadout::accuracy(const std::vector<double>& features,
                               const std::vector<std::int32_t>& labels) const {
  std::size_t correct = 0;
  for (std::size_t s = 0; s < labels.size(); ++s)
    correct += predict(features.data() + s * dims_) == static_cast<std::size_t>(labels[s]);
  return labels.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(labels.size());
}

}  // namespace homeostat

#include "metrics/confidence_interval.hpp"

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

namespace homeostat {

double student_t_two_sided_probability(double t, std::size_t degrees_of_freedom) {
  if (degrees_of_freedom == 0)
    throw std::invalid_argument("Student's t needs >= 1 degree of freedom");
  const double theta = std::atan(std::abs(t) / std::sqrt(static_cast<double>(degrees_of_freedom)));
  const double cos2 = std::cos(theta) * std::cos(theta);
  // The series' terms are products of ratios, each below 1: no overflow for any df.
  double sum = 1.0;
  double term = 1.0;
  if (degrees_of_freedom % 2 == 1) {
    // (2/pi) (theta + sin cos [1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ... up to cos^(df-3)])
    if (degrees_of_freedom == 1) return 2.0 * theta / std::numbers::pi;
    for (std::size_t k = 2; k + 1 < degrees_of_freedom; k += 2) {
      term *= static_cast<double>(k) / static_cast<double>(k + 1) * cos2;
      sum += term;
    }
    return 2.0 / std::numbers::pi * (theta + std::sin(theta) * std::cos(theta) * sum);
  }
  // sin [1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ... up to cos^(df-2)]
  for (std::size_t k = 1; k + 1 < degrees_of_freedom; k += 2) {
    term *= static_cast<double>(k) / static_cast<double>(k + 1) * cos2;
    sum += term;
  }
  return std::sin(theta) * sum;
}

double student_t_quantile(double confidence, std::size_t degrees_of_freedom) {
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw std::invalid_argument("a confidence level lies strictly between 0 and 1");
  }
  // The probability rises monotonically in t: bisection to the last bit of a double.
  double low = 0.0;
  double high = 1.0;
  while (student_t_two_sided_probability(high, degrees_of_freedom) < confidence) high *= 2.0;
  for (int step = 0; step < 200 && high - low > 1e-15 * high; ++step) {
    const double middle = 0.5 * (low + high);
    (student_t_two_sided_probability(middle, degrees_of_freedom) < confidence ? low : high) =
        middle;
  }
  return 0.5 * (low + high);
}

IntervalEstimate estimate_mean(std::span<const double> values) {
  IntervalEstimate estimate;
  estimate.count = values.size();
  if (values.empty()) {
    estimate.mean = std::numeric_limits<double>::quiet_NaN();
    estimate.half_width = std::numeric_limits<double>::infinity();
    return estimate;
  }
  double sum = 0.0;
  for (const double v : values) sum += v;
  estimate.mean = sum / static_cast<double>(values.size());
  if (values.size() < 2) {
    estimate.half_width = std::numeric_limits<double>::infinity();
    return estimate;
  }
  double squares = 0.0;
  for (const double v : values) squares += (v - estimate.mean) * (v - estimate.mean);
  const std::size_t freedom = values.size() - 1;
  estimate.standard_deviation = std::sqrt(squares / static_cast<double>(freedom));
  estimate.half_width = student_t_quantile(0.95, freedom) * estimate.standard_deviation /
                        std::sqrt(static_cast<double>(values.size()));
  return estimate;
}

}  // namespace homeostat

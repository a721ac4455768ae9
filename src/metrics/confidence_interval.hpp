// Summaries of repeated measurements (one figure per seed): the mean with its 95% confidence
// interval from Student's t distribution, which is what a study prints for each cell, and the
// paired difference of two arms measured on the same seeds.
#pragma once

#include <cstddef>
#include <span>

namespace homeostat {

struct IntervalEstimate {
  std::size_t count = 0;
  double mean = 0.0;
  double standard_deviation = 0.0;  // sample (n - 1); 0 for one value
  // Half the width of the 95% interval: mean ± half_width. Infinite for fewer than two values,
  // where no interval exists.
  double half_width = 0.0;
};

// P(|T| <= t) for Student's t with `degrees_of_freedom` >= 1 (exact finite series for integer
// degrees of freedom, Abramowitz & Stegun 26.7.3-4).
double student_t_two_sided_probability(double t, std::size_t degrees_of_freedom);

// The t with P(|T| <= t) = `confidence` (0 < confidence < 1), e.g. 12.706 for 1 degree of freedom
// and 0.95.
double student_t_quantile(double confidence, std::size_t degrees_of_freedom);

// Mean, sample standard deviation and the 95% t interval of `values` (none of them NaN).
IntervalEstimate estimate_mean(std::span<const double> values);

}  // namespace homeostat

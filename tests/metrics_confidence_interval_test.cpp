// Student's t quantiles against published table values, and the interval of a small sample
// computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "metrics/confidence_interval.hpp"

namespace homeostat {
namespace {

TEST(ConfidenceInterval, StudentTQuantilesMatchTheTables) {
  // Two-sided 95% (the 0.975 quantile), to the tables' 8 significant digits.
  const std::vector<std::pair<std::size_t, double>> table = {
      {1, 12.706205}, {2, 4.3026527},  {3, 3.1824463},  {4, 2.7764451},   {5, 2.5705818},
      {9, 2.2621572}, {10, 2.2281389}, {30, 2.0422725}, {1000, 1.9623391}};
  for (const auto& [freedom, expected] : table) {
    EXPECT_NEAR(student_t_quantile(0.95, freedom), expected, 2e-6 * expected) << freedom;
  }
  // 99%, and the probability function at a tabled point.
  EXPECT_NEAR(student_t_quantile(0.99, 4), 4.6040949, 1e-6 * 4.6);
  EXPECT_NEAR(student_t_two_sided_probability(2.7764451, 4), 0.95, 1e-8);
  EXPECT_DOUBLE_EQ(student_t_two_sided_probability(0.0, 7), 0.0);
}

TEST(ConfidenceInterval, MeanAndHalfWidthOfASample) {
  const std::vector<double> values = {1.0, 2.0, 3.0, 4.0};
  const IntervalEstimate e = estimate_mean(values);
  EXPECT_EQ(e.count, 4u);
  EXPECT_DOUBLE_EQ(e.mean, 2.5);
  const double sd = std::sqrt(5.0 / 3.0);  // squares 2.25 + 0.25 + 0.25 + 2.25 over n - 1
  EXPECT_NEAR(e.standard_deviation, sd, 1e-15);
  EXPECT_NEAR(e.half_width, 3.1824463 * sd / 2.0, 1e-6);
}

TEST(ConfidenceInterval, FewerThanTwoValuesHaveNoInterval) {
  const std::vector<double> one = {0.7};
  const IntervalEstimate e = estimate_mean(one);
  EXPECT_DOUBLE_EQ(e.mean, 0.7);
  EXPECT_TRUE(std::isinf(e.half_width));
  EXPECT_TRUE(std::isnan(estimate_mean(std::vector<double>{}).mean));
  EXPECT_THROW(student_t_quantile(1.0, 3), std::invalid_argument);
  EXPECT_THROW(student_t_two_sided_probability(1.0, 0), std::invalid_argument);
}

}  // namespace
}  // namespace homeostat

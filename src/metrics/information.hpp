// Information-theoretic summaries of a classifier, and homeostat's synaptic efficiency.
//
//   mutual_information_bits: I(prediction; label) in bits from a confusion matrix n[true][pred],
//     with the empirical joint p_ij = n_ij / N and marginals p_i. = sum_j p_ij, p_.j = sum_i p_ij:
//       I = sum_{i,j: n_ij > 0} p_ij log2( p_ij / (p_i. p_.j) )      (0 log 0 = 0; 0 if N = 0)
//     A perfect classifier on C balanced classes gives log2(C); predictions independent of the
//     label give 0. (A plug-in estimate: biased upwards by about (C-1)^2 / (2 N ln 2) bits.)
//   synaptic_efficiency: bits per million synops, information_bits / (synops_per_sample / 1e6);
//     0 when synops_per_sample is 0.
#pragma once

#include <cstddef>
#include <span>

namespace homeostat {

// std::invalid_argument if confusion.size() != classes * classes.
double mutual_information_bits(std::span<const std::size_t> confusion, std::size_t classes);

double synaptic_efficiency(double information_bits, double synops_per_sample);

}  // namespace homeostat

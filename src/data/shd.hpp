// The Spiking Heidelberg Digits and Spiking Speech Commands files as published (Cramer et al.
// 2020; HDF5): `spikes/times` (per sample, a variable-length array of spike times in seconds),
// `spikes/units` (per sample, the input channel of each spike, 0..699 for both sets) and
// `labels` (per sample). Read through Debian's libhdf5 (C API) as an event data set: a spike of
// channel u at t seconds is an ON event at (x = u, y = 0, t in microseconds), on a sensor of
// `channels` x 1. Every problem (not HDF5, a missing or mistyped dataset, sample counts or per-
// sample lengths that disagree, a channel outside the sensor, a negative or non-finite time, a
// negative label) is a DataError naming the file, and the sample where there is one.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>

#include "data/dataset.hpp"

namespace homeostat {

// The first `limit` samples (0: all) of `file`, on a sensor `channels` wide. num_classes is the
// largest label of the file's first `limit` samples + 1.
Dataset read_shd(const std::filesystem::path& file, std::size_t channels, std::size_t limit = 0);

// The file of a split in `directory`: the one `*_<split>.h5` (shd_train.h5, ssc_test.h5, ...);
// nullopt when there is none, DataError when there are several.
std::optional<std::filesystem::path> shd_file(const std::filesystem::path& directory,
                                              std::string_view split);

}  // namespace homeostat

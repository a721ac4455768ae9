// Event data sets on disk. Four layouts, chosen by data.events.format (or detected, "auto"):
//
//   hev     homeostat's container, one file per split: DIR/train.hev[.gz], DIR/test.hev[.gz]
//           (what `homeostat convert-events` writes). Little-endian:
//             "HEV1", u32 width, u32 height, u32 classes, u64 samples, u64 events,
//             i32 labels[samples], u64 offsets[samples + 1], then events as
//             u32 (time_us | polarity << 31), u16 x, u16 y
//   nmnist  N-MNIST's binary files in class folders: DIR/{Train,Test}/<label>/<id>.bin, 5 bytes
//           per event: x, y, then polarity (top bit) and a 23-bit timestamp in microseconds,
//           big-endian (Orchard et al. 2015).
//   npy     NumPy files in class folders, DVS-Gesture / tonic style:
//           DIR/{train,test}/<label>/<id>.npy, either a structured array with integer, boolean or
//           float fields named x, y, t and p (any order, any of the common widths), or a 2-D
//           numeric array [events, 4] whose columns data.events.columns names (default "xytp").
//           Timestamps are microseconds.
//   shd     the Spiking Heidelberg Digits / Spiking Speech Commands HDF5 files as published:
//           DIR/*_train.h5 and DIR/*_test.h5 (shd_train.h5, ...; data/shd.hpp), channels as x
//           on a sensor data.events.width x 1 (700 x 1 for data.source = "shd").
// Folder layouts accept either capitalisation of the split folder (train/Train). Samples are
// ordered round-robin over the class folders (files sorted by name within a class), so a `limit`
// keeps the classes balanced. Every problem (missing file, bad magic, truncation, an event outside
// the sensor, an unknown dtype) is a DataError that names the file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "data/dataset.hpp"

namespace homeostat {

enum class EventFormat { automatic, hev, nmnist, npy, shd };
EventFormat parse_event_format(std::string_view name);  // "auto" | "hev" | "nmnist" | "npy" | "shd"
std::string_view event_format_name(EventFormat format);

struct EventFileSpec {
  EventFormat format = EventFormat::automatic;
  std::size_t width = 34;  // sensor size (N-MNIST's 34 x 34 by default)
  std::size_t height = 34;
  std::string columns = "xytp";  // npy 2-D arrays: the meaning of each column
};

// Loads split "train" or "test" of an event data set into a Dataset whose `events` hold the
// streams and whose sample_shape is {2, height, width}. `limit` > 0 keeps the first `limit`
// samples (in the round-robin order above). num_classes is the largest label + 1.
Dataset load_event_split(const std::filesystem::path& directory, std::string_view split,
                         const EventFileSpec& spec, std::size_t limit = 0);

// Writes the samples' events and labels as DIR/<split>.hev.gz, atomically (temporary file, then
// rename). DataError if it cannot be written.
void write_hev(const std::filesystem::path& path, const Dataset& data);

// The format `auto` resolves to for `directory` (hev if a .hev file exists, else the format of
// the first file found in the split's class folders). DataError if nothing is found.
EventFormat detect_event_format(const std::filesystem::path& directory, std::string_view split);

}  // namespace homeostat

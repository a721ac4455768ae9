// Checkpoints: a versioned binary file holding the resolved config, the training position and
// counters (JSON header), every parameter, state buffer and optimizer moment, and a CRC-32 of
// everything before it. Written to a temporary file, flushed to disk and renamed over the old
// one, so a crash leaves either the previous or the new checkpoint, never a torn one.
//
// Layout: "HSTATCKP" | u32 format version | u64 header length | header JSON |
//         per tensor: u64 element count, f32 or f64 values | u32 CRC-32 (zlib) of all before it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace homeostat {

inline constexpr std::uint32_t kCheckpointFormatVersion = 1;

template <typename Real>
struct CheckpointTensor {
  std::string name;
  std::span<Real> values;  // reading fills it: sizes must match
};

// Writes header + tensors atomically to `path`.
template <typename Real>
void write_checkpoint(const std::filesystem::path& path, const nlohmann::json& header,
                      const std::vector<CheckpointTensor<Real>>& tensors);

// Reads only the header (config, position); DataError if the file is missing or corrupt.
nlohmann::json read_checkpoint_header(const std::filesystem::path& path);

// Reads the tensors into `tensors` (matched by name and size, DataError on any difference).
template <typename Real>
void read_checkpoint_tensors(const std::filesystem::path& path,
                             const std::vector<CheckpointTensor<Real>>& tensors);

}  // namespace homeostat

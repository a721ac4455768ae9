// The key reference (docs/config.md): every key of `train` and `simulate` configs with its type,
// default and allowed values, as the config readers themselves read them (config/key_catalog.hpp).
#pragma once

#include <filesystem>
#include <string>

namespace homeostat {

// Reads every ready config in `experiments` (*.toml), one config per layer and regulator kind
// besides, with a key catalog attached, and returns the Markdown reference.
std::string config_reference(const std::filesystem::path& experiments);

}  // namespace homeostat

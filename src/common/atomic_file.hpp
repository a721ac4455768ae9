// Writing a whole file so that a crash or a full disk leaves either the old file or the new one,
// never a torn one: a temporary file beside it, flushed to disk, then renamed over it.
#pragma once

#include <filesystem>
#include <string_view>

namespace homeostat {

// Error (naming the file) when any step fails; the temporary file is removed then.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace homeostat

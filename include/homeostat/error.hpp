// homeostat's error types. Every failure a user can cause is one of these, with a message that
// names the offending key, file or layer; the CLI maps each kind to its own exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace homeostat {

// Base of every homeostat error; exit code 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A config that cannot be run: unknown key, wrong type, out-of-range value, shape mismatch.
// Raised before any work starts; exit code 2.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A missing, truncated or corrupt data file or checkpoint; exit code 3.
class DataError : public Error {
 public:
  using Error::Error;
};

// Training produced a non-finite loss, gradient or parameter; exit code 4.
class DivergenceError : public Error {
 public:
  using Error::Error;
};

// An activity alarm (silence, saturation) stopped a run whose guard is on; exit code 5.
class AlarmError : public Error {
 public:
  using Error::Error;
};

}  // namespace homeostat

// The error types are public vocabulary (include/homeostat/error.hpp); engine code includes them
// through this header.
#pragma once

#include "homeostat/error.hpp"

// homeostat: training spiking neural networks that stay in their useful firing band.
// The whole public API; link homeostat::homeostat (find_package(homeostat)).
#pragma once

#include "homeostat/config.hpp"
#include "homeostat/error.hpp"
#include "homeostat/experiment.hpp"
#include "homeostat/version.hpp"

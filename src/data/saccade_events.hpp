// Image -> event-stream conversion in the style of N-MNIST (Orchard et al. 2015): the image is
// moved along three saccades (a triangle) in front of a simulated event camera, and each pixel
// emits events when its log intensity has changed by a contrast threshold since its last event.
// It turns any IDX image set into an event set, so the event path runs without downloads.
//
// Model (all constants in SaccadeSpec):
//   canvas        (28 + 2 margin)^2 pixels; the image's top-left sits at (margin - 1.5 + d)
//   path d(t)     (0,0) -> (1.5, 3) -> (3, 0) -> (0,0) pixels, one saccade per leg, linear in time
//   intensity     I(x, y, t) = bilinear sample of the image (0 outside) at the displaced position
//   log intensity L = ln(I + offset); each pixel keeps a reference L_ref, set at t = 0
//   events        while L - L_ref >= C: ON event, L_ref += C; while L - L_ref <= -C: OFF, L_ref -=
//   C timestamps    the path is sampled every saccade_us / substeps; the k-th crossing inside a
//                 sample interval is placed by linear interpolation of L over that interval
// The conversion is deterministic (no sensor noise); augmentations and corruptions add variation.
#pragma once

#include <cstddef>

#include "data/dataset.hpp"

namespace homeostat {

struct SaccadeSpec {
  std::size_t margin = 3;        // pixels on each side: 28x28 images give a 34x34 sensor
  double saccade_us = 100000.0;  // duration of each of the three saccades
  std::size_t substeps = 20;     // path samples per saccade
  double contrast = 0.5;         // C, in log-intensity units
  double offset = 0.2;           // added to the [0, 1] intensity before the log
};

// ConfigError for a zero margin or substeps, or a non-positive duration, contrast or offset.
void validate_saccade_spec(const SaccadeSpec& spec);

// The event version of an image dataset (2-D samples); labels and num_classes are kept.
Dataset saccade_events(const Dataset& images, const SaccadeSpec& spec);

}  // namespace homeostat

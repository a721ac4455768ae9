// Saccade-style image-to-event conversion (see saccade_events.hpp). One OpenMP loop over images;
// each image's events depend on that image only.
#include "data/saccade_events.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {
namespace {

struct Point {
  double x;
  double y;
};
// The triangle the sensor moves along, in pixels (N-MNIST's three saccades).
constexpr std::array<Point, 4> kPath = {{{0.0, 0.0}, {1.5, 3.0}, {3.0, 0.0}, {0.0, 0.0}}};

// Bilinear sample of a height x width image at (x, y); 0 outside.
double sample_image(const float* image, std::size_t height, std::size_t width, double x, double y) {
  const double fx = std::floor(x);
  const double fy = std::floor(y);
  const double ax = x - fx;
  const double ay = y - fy;
  const auto pixel = [&](double px, double py) -> double {
    if (px < 0.0 || py < 0.0 || px >= static_cast<double>(width) ||
        py >= static_cast<double>(height)) {
      return 0.0;
    }
    return image[static_cast<std::size_t>(py) * width + static_cast<std::size_t>(px)];
  };
  return (1 - ax) * (1 - ay) * pixel(fx, fy) + ax * (1 - ay) * pixel(fx + 1, fy) +
         (1 - ax) * ay * pixel(fx, fy + 1) + ax * ay * pixel(fx + 1, fy + 1);
}

// Log intensity of every sensor pixel with the image displaced by d.
void render(const float* image, std::size_t height, std::size_t width, const SaccadeSpec& spec,
            Point d, std::size_t sensor_height, std::size_t sensor_width,
            std::vector<double>& log_intensity) {
  const double origin = static_cast<double>(spec.margin) - 1.5;
  for (std::size_t y = 0; y < sensor_height; ++y) {
    for (std::size_t x = 0; x < sensor_width; ++x) {
      const double intensity =
          sample_image(image, height, width, static_cast<double>(x) - origin - d.x,
                       static_cast<double>(y) - origin - d.y);
      log_intensity[y * sensor_width + x] = std::log(intensity + spec.offset);
    }
  }
}

}  // namespace

void validate_saccade_spec(const SaccadeSpec& spec) {
  if (spec.margin == 0 || spec.margin > 64) throw ConfigError("saccade margin must be in [1, 64]");
  if (spec.substeps == 0) throw ConfigError("saccade substeps must be >= 1");
  if (!(spec.saccade_us >= 1.0 && spec.saccade_us * 3.0 < Event::kMaxTime)) {
    throw ConfigError("saccade duration must be in [1, 7e8] microseconds");
  }
  if (!(spec.contrast > 0.0 && std::isfinite(spec.contrast))) {
    throw ConfigError("saccade contrast threshold must be > 0");
  }
  if (!(spec.offset > 0.0 && std::isfinite(spec.offset))) {
    throw ConfigError("saccade log offset must be > 0");
  }
}

Dataset saccade_events(const Dataset& images, const SaccadeSpec& spec) {
  validate_saccade_spec(spec);
  if (images.has_events() || images.sample_shape.size() != 2) {
    throw ConfigError("saccade conversion needs 2-D images, got samples of shape " +
                      shape_string(images.sample_shape));
  }
  const std::size_t height = images.sample_shape[0];
  const std::size_t width = images.sample_shape[1];
  const std::size_t sensor_height = height + 2 * spec.margin;
  const std::size_t sensor_width = width + 2 * spec.margin;
  const std::size_t count = images.size();
  std::vector<std::vector<Event>> per_image(count);
  const double step_us = spec.saccade_us / static_cast<double>(spec.substeps);
  const auto signed_count = static_cast<std::int64_t>(count);

#pragma omp parallel for schedule(dynamic, 64)
  for (std::int64_t i = 0; i < signed_count; ++i) {
    const float* image = images.samples.data() + static_cast<std::size_t>(i) * height * width;
    const std::size_t pixels = sensor_height * sensor_width;
    std::vector<double> reference(pixels);
    std::vector<double> previous(pixels);
    std::vector<double> current(pixels);
    render(image, height, width, spec, kPath[0], sensor_height, sensor_width, reference);
    previous = reference;
    std::vector<Event>& events = per_image[static_cast<std::size_t>(i)];
    for (std::size_t leg = 0; leg + 1 < kPath.size(); ++leg) {
      for (std::size_t s = 1; s <= spec.substeps; ++s) {
        const double a = static_cast<double>(s) / static_cast<double>(spec.substeps);
        const Point d{kPath[leg].x + a * (kPath[leg + 1].x - kPath[leg].x),
                      kPath[leg].y + a * (kPath[leg + 1].y - kPath[leg].y)};
        render(image, height, width, spec, d, sensor_height, sensor_width, current);
        const double start_us =
            static_cast<double>(leg) * spec.saccade_us + static_cast<double>(s - 1) * step_us;
        for (std::size_t p = 0; p < pixels; ++p) {
          const double change = current[p] - previous[p];
          while (std::abs(current[p] - reference[p]) >= spec.contrast) {
            const bool on = current[p] > reference[p];
            reference[p] += on ? spec.contrast : -spec.contrast;
            // When, inside this interval, L crossed the new reference level.
            const double fraction =
                change != 0.0 ? std::clamp((reference[p] - previous[p]) / change, 0.0, 1.0) : 1.0;
            // Half-open intervals: a crossing at the very end belongs to the last microsecond.
            const double end_us = start_us + step_us;
            const auto time = static_cast<std::uint32_t>(
                std::min(start_us + fraction * step_us, std::ceil(end_us) - 1.0));
            events.push_back(Event::make(static_cast<std::uint16_t>(p % sensor_width),
                                         static_cast<std::uint16_t>(p / sensor_width), time, on));
          }
        }
        previous.swap(current);
      }
    }
  }

  Dataset result;
  result.labels = images.labels;
  result.num_classes = images.num_classes;
  result.events.width = sensor_width;
  result.events.height = sensor_height;
  result.sample_shape = {2, sensor_height, sensor_width};
  std::size_t total = 0;
  for (const auto& events : per_image) total += events.size();
  result.events.events.reserve(total);
  result.events.offsets.reserve(count + 1);
  for (auto& events : per_image) {
    result.events.append(std::move(events));
    std::vector<Event>().swap(events);
  }
  return result;
}

}  // namespace homeostat

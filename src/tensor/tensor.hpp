// A dense, contiguous, row-major buffer with a shape. Activity is time-major: [T, B, features...].
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace homeostat {

using Shape = std::vector<std::size_t>;

inline std::size_t shape_size(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

inline std::string shape_string(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

template <typename Real>
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, Real fill_value = Real{0})
      : shape_(std::move(shape)), data_(shape_size(shape_), fill_value) {}

  // Reuses the allocation when the size does not grow, so buffers can be kept across batches.
  void resize(const Shape& shape) {
    shape_ = shape;
    data_.resize(shape_size(shape_));
  }
  void reshape(const Shape& shape) {
    assert(shape_size(shape) == data_.size());
    shape_ = shape;
  }
  void fill(Real value) { std::fill(data_.begin(), data_.end(), value); }
  void zero() { fill(Real{0}); }

  [[nodiscard]] const Shape& shape() const { return shape_; }
  [[nodiscard]] std::size_t dim(std::size_t axis) const { return shape_.at(axis); }
  [[nodiscard]] std::size_t rank() const { return shape_.size(); }
  [[nodiscard]] std::size_t size() const { return data_.size(); }
  [[nodiscard]] bool empty() const { return data_.empty(); }

  [[nodiscard]] Real* data() { return data_.data(); }
  [[nodiscard]] const Real* data() const { return data_.data(); }
  [[nodiscard]] std::span<Real> span() { return data_; }
  [[nodiscard]] std::span<const Real> span() const { return data_; }
  Real& operator[](std::size_t i) { return data_[i]; }
  const Real& operator[](std::size_t i) const { return data_[i]; }

  // Elements per leading index, e.g. B*N for a [T, B, N] tensor.
  [[nodiscard]] std::size_t stride0() const {
    return shape_.empty() ? 0 : data_.size() / shape_[0];
  }

 private:
  Shape shape_;
  std::vector<Real> data_;
};

}  // namespace homeostat

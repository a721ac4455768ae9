#include "distributed/communicator.hpp"

#include <algorithm>
#include <stdexcept>

namespace homeostat {

std::string Communicator::describe() const {
  return "rank " + std::to_string(rank()) + " of " + std::to_string(size());
}

template <typename Value>
void Communicator::chain_sum(std::span<const std::span<const Value>> parts,
                             std::span<Value> total) {
  for (const std::span<const Value> part : parts) {
    if (part.size() != total.size()) throw std::logic_error("ordered_sum: part size mismatch");
  }
  std::size_t next = 0;
  if (rank() == 0) {
    if (parts.empty()) throw std::logic_error("ordered_sum: rank 0 holds no part");
    std::copy(parts[0].begin(), parts[0].end(), total.begin());
    next = 1;
  } else {
    receive_bytes(rank() - 1, std::as_writable_bytes(total));
  }
  for (; next < parts.size(); ++next) {
    const std::span<const Value> part = parts[next];
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += part[i];
  }
  if (size() == 1) return;
  if (rank() + 1 < size()) send_bytes(rank() + 1, std::as_bytes(total));
  broadcast_bytes(size() - 1, std::as_writable_bytes(total));
}

void Communicator::ordered_sum(std::span<const std::span<const float>> parts,
                               std::span<float> total) {
  chain_sum(parts, total);
}

void Communicator::ordered_sum(std::span<const std::span<const double>> parts,
                               std::span<double> total) {
  chain_sum(parts, total);
}

void SingleProcess::send_bytes(int /*to*/, std::span<const std::byte> /*bytes*/) {
  throw std::logic_error("a single process has no other rank to send to");
}

void SingleProcess::receive_bytes(int /*from*/, std::span<std::byte> /*bytes*/) {
  throw std::logic_error("a single process has no other rank to receive from");
}

void SingleProcess::broadcast_bytes(int /*root*/, std::span<std::byte> /*bytes*/) {}

Communicator& single_process() {
  static SingleProcess instance;
  return instance;
}

}  // namespace homeostat

// The ranks of a data-parallel run (distributed/): who this process is, and the one reduction that
// training needs. The sum is ordered, not MPI_Allreduce's unspecified order: every part is added
// in one global order (rank 0's parts first, each rank's in the order it gives them), so the
// total has the same bits for any number of ranks that hold the same parts in the same order.
// That is what makes `mpirun -np N homeostat train` give the same metrics for every N.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace homeostat {

class Communicator {
 public:
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  virtual ~Communicator() = default;

  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;
  [[nodiscard]] bool is_root() const { return rank() == 0; }
  // "rank R of N" for messages.
  [[nodiscard]] std::string describe() const;

  // total = (((p0 + p1) + p2) + ...) over the parts of every rank in rank order, each rank's in
  // the order of `parts`; every rank receives the total. A chain: rank r receives the partial sum
  // of ranks 0..r-1, adds its parts one by one and passes it on; the last rank broadcasts it.
  // Rank 0 needs at least one part; every part has total.size() elements.
  void ordered_sum(std::span<const std::span<const float>> parts, std::span<float> total);
  void ordered_sum(std::span<const std::span<const double>> parts, std::span<double> total);
  // Returns once every rank has called it. Waits without spinning (a rank that waits here for
  // minutes, as a sweep's rank does for the others' runs, leaves its cores to the runs).
  virtual void barrier() = 0;

 protected:
  // Point-to-point and broadcast of raw bytes; only called when size() > 1.
  virtual void send_bytes(int to, std::span<const std::byte> bytes) = 0;
  virtual void receive_bytes(int from, std::span<std::byte> bytes) = 0;
  virtual void broadcast_bytes(int root, std::span<std::byte> bytes) = 0;

 private:
  template <typename Value>
  void chain_sum(std::span<const std::span<const Value>> parts, std::span<Value> total);
};

// One process: rank 0 of 1 (a run without MPI, or a plain `homeostat train`).
class SingleProcess final : public Communicator {
 public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  void barrier() override {}

 protected:
  void send_bytes(int to, std::span<const std::byte> bytes) override;
  void receive_bytes(int from, std::span<std::byte> bytes) override;
  void broadcast_bytes(int root, std::span<std::byte> bytes) override;
};

// The process-wide SingleProcess, for callers that run alone.
Communicator& single_process();

}  // namespace homeostat

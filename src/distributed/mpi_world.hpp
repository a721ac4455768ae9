// MPI's world communicator behind Communicator, for `mpirun -np N homeostat train`. MPI is
// optional at build time (CMake: HOMEOSTAT_MPI, on when OpenMPI is found); a build without it
// runs alone and refuses to be one of several ranks.
#pragma once

#include <memory>
#include <string_view>

#include "distributed/communicator.hpp"

namespace homeostat {

// Whether this build has MPI.
bool built_with_mpi();

// True when an MPI launcher (mpirun, mpiexec, srun with PMI/PMIx) started this process.
bool launched_by_mpi_launcher();

// Whether an environment entry ("NAME=value") is one an MPI launcher sets (OMPI_*, PMIX_*,
// PMI_*): a process that a rank starts must not inherit them, or it would take itself for a rank.
bool is_launcher_variable(std::string_view entry);

// The ranks the launcher started (its environment); 1 when no launcher is seen.
int launcher_world_size();

// The ranks the launcher started on this node (OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS); 1
// when it does not say.
int launcher_local_size();

// MPI_Init_thread on construction (the OpenMP threads never call MPI: MPI_THREAD_FUNNELED) and
// MPI_Finalize on destruction; one per process. Error when this build has no MPI.
class MpiWorld final : public Communicator {
 public:
  MpiWorld();
  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  void barrier() override;
  // Stops every rank of the job with `exit_code` (MPI_Abort): a rank that fails alone must not
  // leave the others waiting for it.
  [[noreturn]] void abort(int exit_code);

 protected:
  void send_bytes(int to, std::span<const std::byte> bytes) override;
  void receive_bytes(int from, std::span<std::byte> bytes) override;
  void broadcast_bytes(int root, std::span<std::byte> bytes) override;

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace homeostat

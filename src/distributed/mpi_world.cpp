#include "distributed/mpi_world.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

#include "homeostat/error.hpp"

#if HOMEOSTAT_HAVE_MPI
#include <mpi.h>
#endif

namespace homeostat {
namespace {

// The launchers' own variables: OpenMPI's mpirun, PMIx (OpenMPI, Slurm's srun --mpi=pmix) and
// PMI (MPICH's Hydra, srun --mpi=pmi2).
constexpr const char* kLauncherSizeVariables[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"};
constexpr const char* kLauncherRankVariables[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};

#if HOMEOSTAT_HAVE_MPI
// MPI counts in int: a message longer than INT_MAX bytes goes in pieces.
template <typename Call>
void in_pieces(std::size_t bytes, Call call) {
  constexpr std::size_t kPiece = INT_MAX / 2;
  for (std::size_t offset = 0; offset < bytes; offset += kPiece) {
    call(offset, static_cast<int>(std::min(kPiece, bytes - offset)));
  }
}

void check(int status, const char* what) {
  if (status != MPI_SUCCESS) throw Error(std::string("MPI: ") + what + " failed");
}
#endif

}  // namespace

bool built_with_mpi() { return HOMEOSTAT_HAVE_MPI != 0; }

bool is_launcher_variable(std::string_view entry) {
  return entry.starts_with("OMPI_") || entry.starts_with("PMIX_") || entry.starts_with("PMI_");
}

bool launched_by_mpi_launcher() {
  for (const char* name : kLauncherRankVariables) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

int launcher_world_size() {
  for (const char* name : kLauncherSizeVariables) {
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  }
  return 1;
}

int launcher_local_size() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"}) {
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  }
  return 1;
}

#if HOMEOSTAT_HAVE_MPI

MpiWorld::MpiWorld() {
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as return codes (checked), not as MPI's default abort without a message.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() { MPI_Finalize(); }

void MpiWorld::abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this is for the compiler
}

void MpiWorld::barrier() {
  // MPI_Barrier would spin on a core for as long as the slowest rank takes: poll instead.
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "MPI_Ibarrier");
  int done = 0;
  while (true) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void MpiWorld::send_bytes(int to, std::span<const std::byte> bytes) {
  in_pieces(bytes.size(), [&](std::size_t offset, int count) {
    check(MPI_Send(bytes.data() + offset, count, MPI_BYTE, to, 0, MPI_COMM_WORLD), "MPI_Send");
  });
}

void MpiWorld::receive_bytes(int from, std::span<std::byte> bytes) {
  in_pieces(bytes.size(), [&](std::size_t offset, int count) {
    check(MPI_Recv(bytes.data() + offset, count, MPI_BYTE, from, 0, MPI_COMM_WORLD,
                   MPI_STATUS_IGNORE),
          "MPI_Recv");
  });
}

void MpiWorld::broadcast_bytes(int root, std::span<std::byte> bytes) {
  in_pieces(bytes.size(), [&](std::size_t offset, int count) {
    check(MPI_Bcast(bytes.data() + offset, count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  });
}

#else

MpiWorld::MpiWorld() {
  throw ConfigError("this homeostat was built without MPI, so it cannot be one of " +
                    std::to_string(launcher_world_size()) +
                    " MPI ranks: install OpenMPI (scripts/setup.sh) and rebuild, or run without "
                    "mpirun");
}

MpiWorld::~MpiWorld() = default;

void MpiWorld::abort(int exit_code) { std::_Exit(exit_code); }

void MpiWorld::barrier() {}

void MpiWorld::send_bytes(int /*to*/, std::span<const std::byte> /*bytes*/) {}
void MpiWorld::receive_bytes(int /*from*/, std::span<std::byte> /*bytes*/) {}
void MpiWorld::broadcast_bytes(int /*root*/, std::span<std::byte> /*bytes*/) {}

#endif

}  // namespace homeostat

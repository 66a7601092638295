#pragma once
// Child processes for tests: the test broker, kcat, small shell commands.
//
// Contract:
// - A ChildProcess owns its child: the destructor sends SIGKILL to a child that is still running
//   and reaps it, so a failing test never leaves a process behind. It also owns the pipes.
// - The child's stdout is a pipe read with ReadLine(); its stderr is inherited, so what the child
//   logs shows up in the test's output. Its stdin is a pipe the parent keeps open until
//   CloseStdin() or destruction: a child can treat EOF on stdin as "my parent is gone" (the test
//   broker does, with --exit-on-stdin-eof), even when the test process is killed.
// - Not thread-safe: one thread uses a ChildProcess at a time. Spawning from several threads at
//   once is safe (posix_spawn, close-on-exec pipes).
// - Expected failures are Status values: TimedOut when a deadline passes, Unavailable when the
//   child closed its stdout, NotFound when the program does not exist.
//
// namespace cpts::test, not cpts::testing: inside namespace cpts, a nested `testing` would hide
// GoogleTest's ::testing.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace cpts::test {

// Where the project's binaries are built (${CMAKE_BINARY_DIR}/bin): BinaryPath("cpts-test-broker").
std::string BinaryPath(std::string_view name);

class ChildProcess {
 public:
  // Starts argv[0] (searched in PATH when it has no '/') with argv, and the parent's environment
  // plus `extra_env` entries "NAME=value" (which override same-named variables).
  static Result<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // The next line of the child's stdout, without its newline. TimedOut when no full line arrives
  // within `timeout`; Unavailable once the child closed its stdout (the message names the program
  // and, when it has exited, its exit status). A last line without a newline is still returned.
  Result<std::string> ReadLine(std::chrono::milliseconds timeout);

  // Sends `sig` to the child. FailedPrecondition once the child has been reaped (its pid may
  // belong to another process by then).
  Status Signal(int sig);

  // Closes the child's stdin so it reads EOF.
  void CloseStdin();

  // Waits for the child to exit: its exit status, or -N when signal N killed it. TimedOut when it
  // is still running after `timeout` (it keeps running). Later calls return the same value.
  Result<int> Wait(std::chrono::milliseconds timeout);

  pid_t pid() const { return pid_; }
  const std::string& program() const { return program_; }

 private:
  ChildProcess(pid_t pid, std::string program, int stdin_fd, int stdout_fd);
  // Reaps the child if it has exited, without blocking; true once reaped.
  bool TryReap();
  std::string ExitDescription() const;

  pid_t pid_;
  std::string program_;
  int stdin_fd_;
  int stdout_fd_;
  std::string stdout_buffer_;  // bytes read past the last line returned
  bool stdout_eof_ = false;
  std::optional<int> exit_status_;  // set once reaped: status, or -signal
};

// Runs a short command to completion, writing `stdin_data` to its stdin (then EOF). Returns its
// stdout when it exits with status 0. Otherwise Unavailable (non-zero exit or signal) or TimedOut
// (the child is then killed), the message naming the command, its exit status and its stderr.
Result<std::string> RunAndCapture(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const std::string& stdin_data = {});

}  // namespace cpts::test

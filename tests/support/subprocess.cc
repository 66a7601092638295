#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

extern char** environ;

namespace cpts::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string ErrnoText(int err) { return std::strerror(err); }

// "kcat -b 127.0.0.1:1234 -L", bounded so a huge argv does not flood the message.
std::string CommandLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& arg : argv) {
    if (!out.empty()) out += ' ';
    out += arg;
  }
  if (out.size() > 300) out = out.substr(0, 300) + "...";
  return out;
}

std::string DescribeExit(int status) {
  if (status >= 0) return "exited with status " + std::to_string(status);
  return "was killed by signal " + std::to_string(-status) + " (" + strsignal(-status) + ")";
}

int DecodeWaitStatus(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return -WTERMSIG(raw);
  return -1;  // unreachable without WUNTRACED
}

// poll() takes whole milliseconds; round up so a short remaining time is not polled as 0 forever.
int PollTimeoutMs(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

struct Pipe {
  int read = -1;
  int write = -1;
  ~Pipe() {
    CloseFd(&read);
    CloseFd(&write);
  }
  Status Open() {
    int fds[2];
    // Close-on-exec so a child spawned concurrently by another thread does not inherit our ends
    // and keep them open (which would hide EOF).
    if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IoError("pipe2: " + ErrnoText(errno));
    read = fds[0];
    write = fds[1];
    return Status::Ok();
  }
};

struct Started {
  pid_t pid = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;  // -1 when stderr is inherited
};

Result<Started> Start(const std::vector<std::string>& argv,
                      const std::vector<std::string>& extra_env, bool pipe_stderr) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("empty argv");

  // Everything the child needs is prepared here: posix_spawn is safe in a multi-threaded test
  // process (gtest, librdkafka), where fork() followed by allocation is not.
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const std::string& extra : extra_env) {
      if (std::string_view(extra).substr(0, extra.find('=')) == name) overridden = true;
    }
    if (!overridden) env.emplace_back(entry);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> env_ptrs;
  for (std::string& entry : env) env_ptrs.push_back(entry.data());
  env_ptrs.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> arg_ptrs;
  for (std::string& arg : args) arg_ptrs.push_back(arg.data());
  arg_ptrs.push_back(nullptr);

  Pipe in, out, err;
  CPTS_RETURN_IF_ERROR(in.Open());
  CPTS_RETURN_IF_ERROR(out.Open());
  if (pipe_stderr) CPTS_RETURN_IF_ERROR(err.Open());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  if (pipe_stderr) posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);

  // The child starts with no blocked signals and default handlers, whatever the test process
  // did: a child that inherits a blocked SIGTERM or an ignored SIGPIPE behaves unlike in
  // production.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, arg_ptrs[0], &actions, &attr, arg_ptrs.data(), env_ptrs.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::string message = "cannot start " + argv[0] + ": " + ErrnoText(rc);
    if (rc == ENOENT) return Status::NotFound(message);
    return Status::IoError(message);
  }
  Started started;
  started.pid = pid;
  started.stdin_fd = std::exchange(in.write, -1);
  started.stdout_fd = std::exchange(out.read, -1);
  if (pipe_stderr) started.stderr_fd = std::exchange(err.read, -1);
  return started;  // the child's ends close with the Pipes: only the child holds them now
}

// Writing to the stdin of a child that already exited raises SIGPIPE, which would kill the whole
// test binary. Blocking it in this thread turns that into EPIPE without touching process-wide
// signal handling; a SIGPIPE our writes raised is consumed before the old mask comes back.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_mask_);
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

// Kills and reaps a child we give up on; used on the error paths of RunAndCapture.
void KillAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int raw = 0;
  while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::string BinaryPath(std::string_view name) {
  return std::string(CPTS_BIN_DIR) + "/" + std::string(name);
}

// --- ChildProcess ------------------------------------------------------------------------------

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  Result<Started> started = Start(argv, extra_env, /*pipe_stderr=*/false);
  if (!started.ok()) return started.status();
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(started->pid, argv[0], started->stdin_fd, started->stdout_fd));
}

ChildProcess::ChildProcess(pid_t pid, std::string program, int stdin_fd, int stdout_fd)
    : pid_(pid), program_(std::move(program)), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd) {}

ChildProcess::~ChildProcess() {
  CloseFd(&stdin_fd_);
  if (!exit_status_) KillAndReap(pid_);
  CloseFd(&stdout_fd_);
}

void ChildProcess::CloseStdin() { CloseFd(&stdin_fd_); }

bool ChildProcess::TryReap() {
  if (exit_status_) return true;
  int raw = 0;
  pid_t rc = ::waitpid(pid_, &raw, WNOHANG);
  if (rc == pid_) {
    exit_status_ = DecodeWaitStatus(raw);
    return true;
  }
  return false;
}

std::string ChildProcess::ExitDescription() const {
  return exit_status_ ? DescribeExit(*exit_status_) : "still running";
}

Result<std::string> ChildProcess::ReadLine(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    if (size_t newline = stdout_buffer_.find('\n'); newline != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, newline);
      stdout_buffer_.erase(0, newline + 1);
      return line;
    }
    if (stdout_eof_) {
      if (!stdout_buffer_.empty()) return std::exchange(stdout_buffer_, {});
      // A program usually exits right after closing stdout; give it a moment so the message can
      // say how it ended, which is what a person debugging the test needs.
      const Clock::time_point reap_deadline = Clock::now() + std::chrono::milliseconds(200);
      while (!TryReap() && Clock::now() < reap_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return Status::Unavailable(program_ + " closed its stdout (" + ExitDescription() + ")");
    }
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, PollTimeoutMs(deadline));
    if (ready < 0 && errno != EINTR) return Status::IoError("poll: " + ErrnoText(errno));
    if (ready > 0) {
      char chunk[4096];
      ssize_t n = ::read(stdout_fd_, chunk, sizeof(chunk));
      if (n > 0) {
        stdout_buffer_.append(chunk, static_cast<size_t>(n));
      } else if (n == 0) {
        stdout_eof_ = true;
      } else if (errno != EINTR && errno != EAGAIN) {
        return Status::IoError("reading the stdout of " + program_ + ": " + ErrnoText(errno));
      }
      continue;
    }
    if (Clock::now() >= deadline) {
      return Status::TimedOut("no line from " + program_ + " within " +
                              std::to_string(timeout.count()) + " ms");
    }
  }
}

Status ChildProcess::Signal(int sig) {
  if (TryReap()) {
    return Status::FailedPrecondition(program_ + " has already exited (" + ExitDescription() + ")");
  }
  if (::kill(pid_, sig) != 0) {
    return Status::IoError("kill(" + std::to_string(pid_) + "): " + ErrnoText(errno));
  }
  return Status::Ok();
}

Result<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  // Polling with a short sleep keeps this free of SIGCHLD handlers, which would be process-wide.
  auto pause = std::chrono::milliseconds(1);
  while (!TryReap()) {
    if (Clock::now() >= deadline) {
      return Status::TimedOut(program_ + " still running after " + std::to_string(timeout.count()) +
                              " ms");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - Clock::now()));
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return *exit_status_;
}

// --- RunAndCapture -----------------------------------------------------------------------------

Result<std::string> RunAndCapture(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const std::string& stdin_data) {
  ScopedSigpipeBlock no_sigpipe;
  Result<Started> started = Start(argv, {}, /*pipe_stderr=*/true);
  if (!started.ok()) return started.status();
  const pid_t pid = started->pid;
  int in = started->stdin_fd;
  int out = started->stdout_fd;
  int err = started->stderr_fd;
  // One loop feeds stdin and drains stdout and stderr together: done in sequence, a child
  // blocked writing a full stdout pipe would never read the rest of its stdin.
  ::fcntl(in, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (stdin_data.empty()) CloseFd(&in);
  std::string stdout_text, stderr_text;
  const Clock::time_point deadline = Clock::now() + timeout;
  auto with_stderr = [&](std::string message) {
    if (!stderr_text.empty()) message += "; stderr: " + stderr_text.substr(0, 4000);
    return message;
  };
  Status failure;
  while (out >= 0 || err >= 0) {
    if (Clock::now() >= deadline) {
      failure = Status::TimedOut(with_stderr(CommandLine(argv) + " did not finish within " +
                                             std::to_string(timeout.count()) + " ms"));
      break;
    }
    pollfd fds[3] = {{in, POLLOUT, 0}, {out, POLLIN, 0}, {err, POLLIN, 0}};
    int ready = ::poll(fds, 3, PollTimeoutMs(deadline));
    if (ready < 0 && errno != EINTR) {
      failure = Status::IoError("poll: " + ErrnoText(errno));
      break;
    }
    if (ready <= 0) continue;
    if (in >= 0 && fds[0].revents != 0) {
      ssize_t n = ::write(in, stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      // EPIPE: the child stopped reading; its exit status will tell whether that is a failure.
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
        CloseFd(&in);
      }
    }
    auto drain = [](pollfd& pfd, int* fd, std::string* text) {
      if (*fd < 0 || pfd.revents == 0) return;
      char chunk[8192];
      ssize_t n = ::read(*fd, chunk, sizeof(chunk));
      if (n > 0) {
        text->append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(fd);
      }
    };
    drain(fds[1], &out, &stdout_text);
    drain(fds[2], &err, &stderr_text);
  }
  CloseFd(&in);
  CloseFd(&out);
  CloseFd(&err);
  if (!failure.ok()) {
    KillAndReap(pid);
    return failure;
  }
  // Both pipes closed: the child is exiting. Still bounded, in case it handed them to a daemon.
  int raw = 0;
  pid_t rc = 0;
  while ((rc = ::waitpid(pid, &raw, WNOHANG)) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (rc != pid) {
    KillAndReap(pid);
    return Status::TimedOut(CommandLine(argv) + " closed its output but did not exit within " +
                            std::to_string(timeout.count()) + " ms");
  }
  const int status = DecodeWaitStatus(raw);
  if (status != 0)
    return Status::Unavailable(with_stderr(CommandLine(argv) + " " + DescribeExit(status)));
  return stdout_text;
}

}  // namespace cpts::test

#include "connectors/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cpts {

bool WriteAll(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

Status WritePrivateFileAtomically(const std::string& path, std::string_view text,
                                  std::string_view what) {
  const std::string named = std::string(what) + " " + path;
  std::string temp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temp.data());  // mode 0600
  if (fd < 0) {
    return Status::IoError("cannot create a file beside the " + named + ": " +
                           std::strerror(errno));
  }
  const bool ok = WriteAll(fd, text) && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int rename_err = ok ? errno : err;
    ::unlink(temp.c_str());
    return Status::IoError("cannot write the " + named + ": " + std::strerror(rename_err));
  }
  // The rename is durable once the directory is.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);  // best effort: the file itself is complete either way
    ::close(dir_fd);
  }
  return Status::Ok();
}

}  // namespace cpts

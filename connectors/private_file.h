#pragma once
// Files that hold secrets (the tokens file, demo credentials, the health secrets): written whole,
// readable by their owner only.

#include <string>
#include <string_view>

#include "events/status.h"

namespace cpts {

// Replaces `path` with `text`, mode 0600: a temporary file beside it, written, fsynced, renamed
// over it, then the directory fsynced, so a crash leaves the old file or the new one, never a
// mix. `what` names the file in messages ("tokens file").
Status WritePrivateFileAtomically(const std::string& path, std::string_view text,
                                  std::string_view what);

// Writes all of `bytes` to `fd`, retrying after signals and short writes. False on an error
// (errno says which) or when the file takes no more.
bool WriteAll(int fd, std::string_view bytes);

}  // namespace cpts

#pragma once
// Files that hold secrets (the tokens file, demo credentials): written whole or not at all.

#include <string>
#include <string_view>

#include "events/status.h"

namespace cpts::api {

// Replaces `path` with `text`, mode 0600: a temporary file beside it, written, fsynced, renamed
// over it, then the directory fsynced, so a crash leaves the old file or the new one, never a
// mix. `what` names the file in messages ("tokens file").
Status WritePrivateFileAtomically(const std::string& path, std::string_view text,
                                  std::string_view what);

}  // namespace cpts::api

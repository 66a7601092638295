#include "projections/replay.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "projections/clock.h"

namespace cpts::projections {
namespace {

namespace fs = std::filesystem;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

::cpts::Json PositionsJson(const Positions& positions) {
  ::cpts::Json out = ::cpts::Json::object();
  for (const auto& [p, offset] : positions) out[std::to_string(p)] = offset;
  return out;
}

}  // namespace

Result<BuildReport> BuildReadModels(log::Log& log, const BuildOptions& options) {
  std::error_code ec;
  if (fs::exists(options.directory, ec) && !fs::is_empty(options.directory, ec)) {
    return Status::AlreadyExists(options.directory +
                                 " is not empty: build read models into a new directory");
  }
  Result<std::unique_ptr<ProjectionStore>> store =
      ProjectionStore::Open({.directory = options.directory, .bulk_load = true});
  if (!store.ok()) return store.status();
  const int64_t start = NowMs();
  Projector projector(log, **store,
                      {.threads = options.threads,
                       .stop_at_end = true,
                       .until_positions = options.until_positions,
                       .until_time_ms = options.until_time_ms,
                       .commit_every_batch = false,
                       .outcomes_since_ms = options.outcomes_since_ms,
                       .progress = options.progress});
  CPTS_RETURN_IF_ERROR(projector.Run());
  BuildReport report;
  report.stats = projector.stats();
  report.positions = projector.positions();
  ::cpts::Json build = {{"positions", PositionsJson(report.positions)},
                        {"events_applied", report.stats.applied}};
  if (options.until_time_ms) build["until_time"] = FormatUtcMs(*options.until_time_ms);
  if (options.until_positions) build["until_positions"] = PositionsJson(*options.until_positions);
  CPTS_RETURN_IF_ERROR((*store)->PutMeta("build", build));
  CPTS_RETURN_IF_ERROR((*store)->StartFlush());
  Result<std::string> digest = (*store)->Digest();
  if (!digest.ok()) return digest.status();
  report.digest = *digest;
  CPTS_RETURN_IF_ERROR((*store)->Close());
  report.seconds = static_cast<double>(NowMs() - start) / 1000.0;
  return report;
}

Result<BuildReport> RebuildReadModels(log::Log& log, const std::string& live_directory,
                                      const BuildOptions& options) {
  const fs::path live = fs::path(live_directory).lexically_normal();
  const fs::path fresh = live.string() + ".rebuild";
  const fs::path old = live.string() + ".old";
  std::error_code ec;
  fs::remove_all(fresh, ec);  // a rebuild that stopped half-way is never resumed
  if (ec) return Status::IoError("cannot remove " + fresh.string() + ": " + ec.message());
  BuildOptions into = options;
  into.directory = fresh.string();
  Result<BuildReport> report = BuildReadModels(log, into);
  if (!report.ok()) return report.status();
  fs::remove_all(old, ec);
  if (fs::exists(live)) {
    fs::rename(live, old, ec);
    if (ec) {
      return Status::IoError("cannot move the live read models aside (" + ec.message() +
                             "); the rebuilt ones are in " + fresh.string());
    }
  }
  fs::rename(fresh, live, ec);
  if (ec) {
    return Status::IoError("cannot swap in the rebuilt read models (" + ec.message() +
                           "): the previous ones are in " + old.string());
  }
  fs::remove_all(old, ec);
  return report;
}

Result<Until> ParseUntil(std::string_view text, int32_t partitions) {
  Until until;
  if (std::optional<int64_t> t = ParseTimestampMs(text)) {
    until.time_ms = t;
    return until;
  }
  Positions positions;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item(text.substr(start, comma - start));
    int32_t p = -1;
    long long offset = -1;
    char tail = 0;
    if (std::sscanf(item.c_str(), "%d:%lld%c", &p, &offset, &tail) != 2 || p < 0 ||
        p >= partitions || offset < 0) {
      return Status::InvalidArgument(
          "--until \"" + std::string(text) +
          "\" is neither a time (2026-11-22T16:05:00Z) nor positions (0:120,1:98,... with "
          "partitions 0-" + std::to_string(partitions - 1) + ")");
    }
    if (!positions.emplace(p, offset).second) {
      return Status::InvalidArgument("--until names partition " + std::to_string(p) + " twice");
    }
    start = comma + 1;
  }
  if (static_cast<int32_t>(positions.size()) != partitions) {
    return Status::InvalidArgument("--until positions must name every partition of the events "
                                   "topic (" + std::to_string(partitions) + "), e.g. 0:120,1:98,...");
  }
  until.positions = std::move(positions);
  return until;
}

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

ProgressLine::ProgressLine(std::string what)
    : what_(std::move(what)), start_ms_(NowMs()), tty_(isatty(STDERR_FILENO) == 1) {}

void ProgressLine::operator()(uint64_t done, uint64_t total) {
  const double seconds = std::max<int64_t>(1, NowMs() - start_ms_) / 1000.0;
  const double rate = static_cast<double>(done) / seconds;
  std::string line = what_ + ": " + WithThousands(done) + " / " + WithThousands(total) +
                     " events";
  if (total > 0) line += " (" + std::to_string(done * 100 / total) + "%)";
  line += ", " + WithThousands(static_cast<uint64_t>(rate)) + " events/s";
  if (rate > 0 && total > done) {
    line += ", ~" + std::to_string(static_cast<int64_t>((total - done) / rate) + 1) + " s left";
  }
  std::cerr << (tty_ ? "\r" + line + "\033[K" : line + "\n") << (tty_ && done >= total ? "\n" : "")
            << std::flush;
}

}  // namespace cpts::projections

#pragma once
// A small history builder for read-model tests: events of the catalogue (tests/events/samples.h
// data, patched per test) appended with their stream's sequence, hash chain and id to a real
// embedded log, then projected into a real store on disk.

#include <map>
#include <memory>
#include <string>

#include "connectors/embedded_log.h"
#include "events/codec.h"
#include "events/json.h"
#include "events/topics.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "tests/events/samples.h"
#include "tests/log/log_test_util.h"

namespace cpts::projections::testing {

using json = ::cpts::Json;

// RPPS numbers with a valid Luhn digit, distinct per n.
std::string Rpps(int n);
// A FINESS number with a valid Luhn digit, distinct per n.
std::string Finess(int n);
std::string Patient(int n);  // a pseudonym

class History {
 public:
  explicit History(int partitions = 4);

  // Appends one event of `type` to the stream of `cpts`: SampleData(type) with `patch` merged
  // in (RFC 7396: a null removes a field), its envelope time `time`.
  log::Position Add(std::string_view type, const json& patch, const std::string& time,
                    const std::string& cpts = std::string(events::testing::kSampleCptsId));
  // Appends raw bytes (a forged or broken record).
  log::Position AddRaw(const std::string& key, const std::string& value);
  events::Envelope Next(std::string_view type, const json& patch, const std::string& time,
                        const std::string& cpts);

  log::Log& log() { return *log_; }
  // The end offset of every partition: where a store is once it has caught up.
  Positions End();

  // A store under this history's directory (created on first use).
  ProjectionStore& Store(const std::string& name = "live");
  // Projects the whole log into the store; fails the test on error.
  ProjectorStats Project(ProjectionStore& store, ProjectorOptions options = {});
  ReadModels Models(const std::string& name = "live") { return ReadModels(Store(name)); }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  struct Head {
    uint64_t sequence = 0;
    std::string hash = std::string(events::kGenesisHash);
  };
  logtest::TempDir dir_{"projections"};
  std::unique_ptr<log::Log> log_;
  int partitions_;
  std::map<std::string, Head> heads_;
  std::map<std::string, std::unique_ptr<ProjectionStore>> stores_;
  int commands_ = 0;
};

}  // namespace cpts::projections::testing

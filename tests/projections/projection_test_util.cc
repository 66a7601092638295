#include "tests/projections/projection_test_util.h"

#include <gtest/gtest.h>

#include "events/identifiers.h"

namespace cpts::projections::testing {

std::string Rpps(int n) {
  char body[16];
  std::snprintf(body, sizeof body, "1%09d", n);
  return "rpps:" + ids::WithLuhnDigit(body);
}

std::string Finess(int n) {
  char body[16];
  std::snprintf(body, sizeof body, "25%06d", n);
  return ids::WithLuhnDigit(body);
}

std::string Patient(int n) { return events::testing::SamplePseudonym(n); }

History::History(int partitions) : partitions_(partitions) {
  auto log = log::OpenEmbeddedLog({.directory = dir_.path() + "/log", .sync_writes = false});
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  log_ = std::move(*log);
  EXPECT_TRUE(log_->EnsureTopic({std::string(topics::kEvents), partitions_, false}).ok());
}

events::Envelope History::Next(std::string_view type, const json& patch, const std::string& time,
                               const std::string& cpts) {
  json data = events::testing::SampleData(type);
  if (patch.is_object()) data.merge_patch(patch);  // {} in a call is null: no change
  Head& head = heads_[cpts];
  events::Envelope e;
  e.type = std::string(type);
  e.source = "/cpts/" + cpts;
  e.time = time;
  e.cptsid = cpts;
  e.sequence = Sequence(head.sequence + 1);
  e.prevhash = head.hash;
  e.causationid = "cmd-" + std::to_string(++commands_);
  e.correlationid = e.causationid;
  e.actor = "coordinator:" + cpts + ":alice";
  e.id = events::DeterministicEventId(e.cptsid, e.sequence, e.causationid);
  e.data = std::move(data);
  return e;
}

log::Position History::Add(std::string_view type, const json& patch, const std::string& time,
                           const std::string& cpts) {
  events::Envelope e = Next(type, patch, time, cpts);
  const Status valid = events::ValidateEnvelope(e);
  EXPECT_TRUE(valid.ok()) << type << ": " << valid.ToString();
  const std::string bytes = events::Encode(e);
  heads_[cpts] = Head{e.sequence.value(), events::Sha256Hex(bytes)};
  return AddRaw(cpts, bytes);
}

log::Position History::AddRaw(const std::string& key, const std::string& value) {
  const log::Record record{.key = key, .value = value};
  auto appended = log_->Append(topics::kEvents, std::span(&record, 1));
  EXPECT_TRUE(appended.ok()) << appended.status().ToString();
  return appended.ok() ? appended->front() : log::Position{};
}

Positions History::End() {
  Positions end;
  for (int32_t p = 0; p < partitions_; ++p) {
    auto offset = log_->EndOffset({std::string(topics::kEvents), Partition(p)});
    EXPECT_TRUE(offset.ok());
    end[p] = offset.ok() ? offset->value() : 0;
  }
  return end;
}

ProjectionStore& History::Store(const std::string& name) {
  std::unique_ptr<ProjectionStore>& store = stores_[name];
  if (!store) {
    auto opened = ProjectionStore::Open({.directory = path(name)});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    store = std::move(*opened);
  }
  return *store;
}

ProjectorStats History::Project(ProjectionStore& store, ProjectorOptions options) {
  Projector projector(*log_, store, std::move(options));
  const Status status = projector.Run();
  EXPECT_TRUE(status.ok()) << status.ToString();
  return projector.stats();
}

}  // namespace cpts::projections::testing

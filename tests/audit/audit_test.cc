// VerifyHistory, ExportHistory and VerifyExport on a real embedded log holding a real history,
// tampered with through RocksDB directly: each alteration is reported once, with its position.

#include <gtest/gtest.h>

#include <fstream>

#include "projections/audit.h"
#include "tests/audit/audit_test_util.h"

namespace cpts::audittest {
namespace {

namespace fs = std::filesystem;
using projections::Problem;
using projections::ProblemKind;

class AuditTest : public ::testing::Test {
 protected:
  // One pristine history for the whole suite; each test tampers with its own copy.
  static void SetUpTestSuite() {
    dir_ = new logtest::TempDir("audit");
    auto log = log::OpenEmbeddedLog({.directory = Pristine(), .sync_writes = false});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    WriteScenario(**log);
    census_ = new Census(TakeCensus(**log));
  }
  static void TearDownTestSuite() {
    delete census_;
    delete dir_;
  }
  static std::string Pristine() { return dir_->path() + "/pristine"; }

  // A copy of the pristine log, for this test to tamper with.
  std::string Copy(const std::string& name) {
    const std::string to = dir_->path() + "/" + name;
    fs::copy(Pristine(), to, fs::copy_options::recursive);
    return to;
  }
  static projections::VerifyReport Verify(const std::string& directory,
                                          projections::VerifyOptions options = {}) {
    auto log = log::OpenEmbeddedLog({.directory = directory, .create_if_missing = false});
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return {};
    auto report = projections::VerifyHistory(**log, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : projections::VerifyReport{};
  }
  static std::string Describe(const projections::VerifyReport& report) {
    std::string text;
    for (const Problem& p : report.problems) text += projections::ProblemJson(p).dump() + "\n";
    return text;
  }
  static const Problem* Find(const projections::VerifyReport& report, ProblemKind kind) {
    for (const Problem& p : report.problems) {
      if (p.kind == kind) return &p;
    }
    return nullptr;
  }

  static logtest::TempDir* dir_;
  static Census* census_;
};
logtest::TempDir* AuditTest::dir_ = nullptr;
Census* AuditTest::census_ = nullptr;

TEST_F(AuditTest, AnUntouchedHistoryIsIntactWithEveryStreamHead) {
  for (bool deep : {false, true}) {
    const projections::VerifyReport report = Verify(Pristine(), {.deep = deep});
    EXPECT_TRUE(report.intact()) << Describe(report);
    EXPECT_TRUE(report.problems.empty()) << Describe(report);
    EXPECT_EQ(report.records, kEvents);
    EXPECT_EQ(report.events, kEvents);
    ASSERT_EQ(report.heads.size(), census_->streams.size());
    for (const auto& [id, events] : census_->streams) {
      const projections::StreamHead& head = report.heads.at(id);
      EXPECT_EQ(head.sequence, events.back().sequence);
      EXPECT_EQ(head.hash, events::Sha256Hex(census_->Record(events.back()).value));
    }
  }
}

TEST_F(AuditTest, OneEventAlteredInPlaceIsOneAlteredProblemAtItsPosition) {
  const std::string stream = census_->StreamWithAtLeast(20);
  const At victim = census_->streams.at(stream)[9];
  const std::string dir = Copy("altered");
  {
    RawEmbeddedLog raw(dir);
    raw.SetEvent(victim, AlterTime(raw.Event(victim)));
  }
  const projections::VerifyReport report = Verify(dir);
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  const Problem& p = report.problems[0];
  EXPECT_EQ(p.kind, ProblemKind::kAltered);
  EXPECT_EQ(p.partition, victim.partition);
  EXPECT_EQ(p.offset, victim.offset);
  EXPECT_EQ(p.cptsid, stream);
  EXPECT_EQ(p.sequence, victim.sequence);
}

TEST_F(AuditTest, AnEventWhosePrevhashWasEditedIsOneAlteredProblemForIt) {
  const std::string stream = census_->StreamWithAtLeast(20);
  const At victim = census_->streams.at(stream)[10];
  const std::string dir = Copy("prevhash");
  {
    RawEmbeddedLog raw(dir);
    std::string event = raw.Event(victim);
    const size_t at = event.find("\"prevhash\":\"");
    ASSERT_NE(at, std::string::npos);
    char& c = event[at + 12];
    c = c == 'a' ? 'b' : 'a';
    raw.SetEvent(victim, event);
  }
  const projections::VerifyReport report = Verify(dir);
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  EXPECT_EQ(report.problems[0].kind, ProblemKind::kAltered);
  EXPECT_EQ(report.problems[0].offset, victim.offset);
  EXPECT_EQ(report.problems[0].sequence, victim.sequence);
}

TEST_F(AuditTest, OneEventDeletedIsExactlyOneMissingAtItsOffset) {
  const std::string stream = census_->StreamWithAtLeast(20);
  const At victim = census_->streams.at(stream)[5];
  const std::string dir = Copy("deleted");
  {
    RawEmbeddedLog raw(dir);
    raw.Delete(victim);
  }
  const projections::VerifyReport report = Verify(dir);
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  const Problem& p = report.problems[0];
  EXPECT_EQ(p.kind, ProblemKind::kMissing);
  EXPECT_EQ(p.partition, victim.partition);
  EXPECT_EQ(p.offset, victim.offset);
  EXPECT_EQ(p.cptsid, stream);
  EXPECT_EQ(p.sequence, victim.sequence);
}

TEST_F(AuditTest, TwoSwappedEventsAreOneReorderedProblemNotACascade) {
  const std::string stream = census_->StreamWithAtLeast(20);
  const At a = census_->streams.at(stream)[7], b = census_->streams.at(stream)[8];
  const std::string dir = Copy("swapped");
  {
    RawEmbeddedLog raw(dir);
    raw.Swap(a, b);
  }
  const projections::VerifyReport report = Verify(dir);
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  const Problem& p = report.problems[0];
  EXPECT_EQ(p.kind, ProblemKind::kReordered);
  EXPECT_EQ(p.cptsid, stream);
  EXPECT_EQ(p.partition, a.partition);
  EXPECT_TRUE((p.offset == a.offset && p.sequence == b.sequence) ||
              (p.offset == b.offset && p.sequence == a.sequence))
      << Describe(report);
  // The chain is complete in sequence order: the head is unchanged.
  EXPECT_EQ(report.heads.at(stream).sequence, census_->streams.at(stream).back().sequence);
}

TEST_F(AuditTest, AlteredDeletedAndSwappedTogetherAreThreeProblemsEachNamed) {
  const std::string s1 = census_->StreamWithAtLeast(20);
  const std::string s2 = census_->StreamWithAtLeast(20, s1);
  const std::string s3 = census_->StreamWithAtLeast(20, s1, s2);
  const At altered = census_->streams.at(s1)[3];
  const At deleted = census_->streams.at(s2)[4];
  const At a = census_->streams.at(s3)[10], b = census_->streams.at(s3)[11];
  const std::string dir = Copy("three");
  {
    RawEmbeddedLog raw(dir);
    raw.SetEvent(altered, AlterTime(raw.Event(altered)));
    raw.Delete(deleted);
    raw.Swap(a, b);
  }
  const projections::VerifyReport report = Verify(dir);
  ASSERT_EQ(report.problems.size(), 3u) << Describe(report);
  EXPECT_EQ(report.counts[static_cast<size_t>(ProblemKind::kAltered)], 1u);
  EXPECT_EQ(report.counts[static_cast<size_t>(ProblemKind::kMissing)], 1u);
  EXPECT_EQ(report.counts[static_cast<size_t>(ProblemKind::kReordered)], 1u);
  EXPECT_EQ(Find(report, ProblemKind::kAltered)->offset, altered.offset);
  EXPECT_EQ(Find(report, ProblemKind::kMissing)->offset, deleted.offset);
  EXPECT_EQ(Find(report, ProblemKind::kReordered)->cptsid, s3);
}

TEST_F(AuditTest, AnUnreadableRecordIsAlteredInThePlaceOfItsSequence) {
  const std::string stream = census_->StreamWithAtLeast(20);
  const At victim = census_->streams.at(stream)[6];
  const std::string dir = Copy("unreadable");
  {
    RawEmbeddedLog raw(dir);
    raw.SetEvent(victim, "{\"not\":\"an event\"");
  }
  for (bool deep : {false, true}) {
    const projections::VerifyReport report = Verify(dir, {.deep = deep});
    ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
    const Problem& p = report.problems[0];
    EXPECT_EQ(p.kind, ProblemKind::kAltered);
    EXPECT_EQ(p.offset, victim.offset);
    EXPECT_EQ(p.cptsid, stream);
    EXPECT_EQ(p.sequence, victim.sequence);
    EXPECT_NE(p.detail.find("unreadable"), std::string::npos) << p.detail;
  }
}

TEST_F(AuditTest, ARedeliveredDuplicateIsReportedButPassesAndAForgedEventFails) {
  const std::string dir = Copy("duplicated");
  const std::string stream = census_->StreamWithAtLeast(20);
  const At original = census_->streams.at(stream)[4];
  const std::string bytes = census_->Record(original).value;
  auto forged = events::Decode(bytes);
  ASSERT_TRUE(forged.ok());
  forged->envelope.causationid = "cmd-zombie-1";
  forged->envelope.id = events::DeterministicEventId(
      forged->envelope.cptsid, forged->envelope.sequence, forged->envelope.causationid);
  {
    auto log = log::OpenEmbeddedLog({.directory = dir});
    ASSERT_TRUE(log.ok());
    const log::Record again{.key = stream, .value = bytes};
    ASSERT_TRUE((*log)->Append(topics::kEvents, {&again, 1}).ok());
  }
  projections::VerifyReport report = Verify(dir);
  EXPECT_TRUE(report.intact()) << Describe(report);
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  EXPECT_EQ(report.problems[0].kind, ProblemKind::kDuplicated);
  EXPECT_EQ(report.problems[0].sequence, original.sequence);

  {
    auto log = log::OpenEmbeddedLog({.directory = dir});
    ASSERT_TRUE(log.ok());
    const log::Record zombie{.key = stream, .value = events::Encode(forged->envelope)};
    ASSERT_TRUE((*log)->Append(topics::kEvents, {&zombie, 1}).ok());
  }
  report = Verify(dir);
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.problems.size(), 2u) << Describe(report);
  const Problem* p = Find(report, ProblemKind::kForged);
  ASSERT_NE(p, nullptr) << Describe(report);
  EXPECT_EQ(p->sequence, original.sequence);
  EXPECT_EQ(p->cptsid, stream);
}

TEST_F(AuditTest, EscapedAndNonAsciiAttributesReadTheSameOnTheFastPathAsInTheCodec) {
  const std::string dir = Copy("escapes");
  auto sample = events::Decode(census_->records.front().value);
  ASSERT_TRUE(sample.ok());
  events::Envelope e = sample->envelope;
  e.cptsid = "cpts-escapes";
  e.source = "/cpts/cpts-escapes";
  std::string prevhash(events::kGenesisHash);
  std::vector<log::Record> chain;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    e.sequence = Sequence(seq);
    e.prevhash = prevhash;
    e.causationid = "cmd-\"é\"/\\-" + std::to_string(seq);  // escapes and UTF-8 in the id's input
    e.id = events::DeterministicEventId(e.cptsid, e.sequence, e.causationid);
    ASSERT_TRUE(events::ValidateEnvelope(e).ok()) << events::ValidateEnvelope(e).ToString();
    chain.push_back({.key = e.cptsid, .value = events::Encode(e)});
    prevhash = events::EventHash(e);
  }
  {
    auto log = log::OpenEmbeddedLog({.directory = dir});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(topics::kEvents, chain).ok());
  }
  for (bool deep : {false, true}) {
    const projections::VerifyReport report = Verify(dir, {.deep = deep});
    EXPECT_TRUE(report.problems.empty()) << Describe(report);
    EXPECT_EQ(report.heads.at("cpts-escapes").sequence, 3u);
    EXPECT_EQ(report.heads.at("cpts-escapes").hash, prevhash);
  }
}

TEST_F(AuditTest, AMisroutedEventIsReported) {
  const std::string dir = Copy("misrouted");
  const std::string stream = census_->StreamWithAtLeast(20);
  const At original = census_->streams.at(stream).back();
  {
    auto log = log::OpenEmbeddedLog({.directory = dir});
    ASSERT_TRUE(log.ok());
    const log::Record elsewhere{.key = stream,
                                .value = census_->Record(original).value,
                                .partition = Partition((original.partition + 1) % kPartitions)};
    ASSERT_TRUE((*log)->Append(topics::kEvents, {&elsewhere, 1}).ok());
  }
  const projections::VerifyReport report = Verify(dir);
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  EXPECT_EQ(report.problems[0].kind, ProblemKind::kMisrouted);
  EXPECT_EQ(report.problems[0].partition, (original.partition + 1) % kPartitions);
}

TEST_F(AuditTest, ExportOfAWindowVerifiesOfflineAndATamperedLineIsNamed) {
  // The window: the middle third of the history's time span.
  auto log = log::OpenEmbeddedLog({.directory = Pristine(), .create_if_missing = false});
  ASSERT_TRUE(log.ok());
  std::vector<int64_t> times;
  for (const log::StoredRecord& r : census_->records) times.push_back(r.timestamp_ms);
  std::sort(times.begin(), times.end());
  const int64_t from = times[times.size() / 3], until = times[2 * times.size() / 3];
  const std::string out = dir_->path() + "/export";
  auto exported = projections::ExportHistory(**log, {.directory = out, .from_ms = from, .until_ms = until});
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_GT(exported->events, kEvents / 4);
  EXPECT_LT(exported->events, kEvents / 2);
  EXPECT_EQ(exported->manifest["events"], exported->events);

  auto verified = projections::VerifyExport(out, {});
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->intact()) << Describe(*verified);
  EXPECT_EQ(verified->events, exported->events);

  // Alter line 10 (its stream has a later event in the window for most streams; pick one that does).
  std::vector<std::string> lines;
  {
    std::ifstream in(out + "/events.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  size_t victim = 0;
  for (size_t i = 10; i < lines.size() && victim == 0; ++i) {
    const std::string id = events::Decode(lines[i])->envelope.cptsid;
    for (size_t j = i + 1; j < lines.size(); ++j) {
      if (events::Decode(lines[j])->envelope.cptsid == id) {
        victim = i;
        break;
      }
    }
  }
  ASSERT_GT(victim, 0u);
  lines[victim] = AlterTime(lines[victim]);
  {
    std::ofstream rewrite(out + "/events.jsonl", std::ios::trunc);
    for (const std::string& line : lines) rewrite << line << "\n";
  }
  verified = projections::VerifyExport(out, {});
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_FALSE(verified->intact());
  ASSERT_EQ(verified->problems.size(), 2u) << Describe(*verified);
  EXPECT_EQ(verified->problems[0].kind, ProblemKind::kAltered);  // the file's hash
  EXPECT_EQ(verified->problems[0].line, 0);
  EXPECT_EQ(verified->problems[1].kind, ProblemKind::kAltered);
  EXPECT_EQ(verified->problems[1].line, static_cast<int64_t>(victim + 1));
}

TEST_F(AuditTest, TheLastEventOfAStreamAlteredIsCaughtOnlyAgainstExpectedHeads) {
  const std::string dir = Copy("last");
  std::string out = dir_->path() + "/heads-export";
  {
    auto log = log::OpenEmbeddedLog({.directory = dir, .create_if_missing = false});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(projections::ExportHistory(**log, {.directory = out}).ok());
  }
  const std::string stream = census_->StreamWithAtLeast(5);
  const At last = census_->streams.at(stream).back();
  {
    RawEmbeddedLog raw(dir);
    raw.SetEvent(last, AlterTime(raw.Event(last)));
  }
  EXPECT_TRUE(Verify(dir).intact()) << "no later prevhash covers a stream's last event";
  auto heads = projections::ReadManifestHeads(out + "/manifest.json");
  ASSERT_TRUE(heads.ok()) << heads.status().ToString();
  const projections::VerifyReport report = Verify(dir, {.expected_heads = *heads});
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  EXPECT_EQ(report.problems[0].kind, ProblemKind::kAltered);
  EXPECT_EQ(report.problems[0].offset, last.offset);
  EXPECT_EQ(report.problems[0].cptsid, stream);
}

TEST_F(AuditTest, TheLastEventDeletedIsMissingAgainstExpectedHeads) {
  const std::string dir = Copy("last-deleted");
  auto heads = [&] {
    auto log = log::OpenEmbeddedLog({.directory = dir, .create_if_missing = false});
    EXPECT_TRUE(log.ok());
    return projections::VerifyHistory(**log, {})->heads;
  }();
  // The last record of a partition: deleting it leaves no hole, only a shorter stream.
  const log::StoredRecord* last = nullptr;
  for (const log::StoredRecord& r : census_->records) {
    if (r.partition.value() == 0) last = &r;
  }
  ASSERT_NE(last, nullptr);
  const std::string stream = events::Decode(last->value)->envelope.cptsid;
  {
    RawEmbeddedLog raw(dir);
    raw.Delete({0, last->offset.value(), 0});
  }
  EXPECT_TRUE(Verify(dir).intact());
  const projections::VerifyReport report = Verify(dir, {.expected_heads = heads});
  ASSERT_EQ(report.problems.size(), 1u) << Describe(report);
  EXPECT_EQ(report.problems[0].kind, ProblemKind::kMissing);
  EXPECT_EQ(report.problems[0].cptsid, stream);
  EXPECT_EQ(report.problems[0].sequence, heads.at(stream).sequence);
}

}  // namespace
}  // namespace cpts::audittest

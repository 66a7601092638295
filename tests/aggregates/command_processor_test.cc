// The command processor on the embedded log, in one process: effectively-once delivery,
// zombie writers, malformed and misrouted commands.

#include "aggregates/command_processor.h"

#include <gtest/gtest.h>

#include "aggregates/command.h"
#include "connectors/embedded_log.h"
#include "events/codec.h"
#include "events/topics.h"
#include "tests/aggregates/history_check.h"
#include "tests/events/samples.h"
#include "tests/log/log_test_util.h"

namespace cpts::aggregates {
namespace {

constexpr int kPartitions = 2;
const std::string kCpts = "cpts-haut-doubs";
const std::string kCommandsTopic(topics::kCommands);
const std::string kEventsTopic(topics::kEvents);

// Forwards to a real log, and can run something just before the next append to the events
// topic: a zombie writer getting its event in first.
class RacingLog final : public log::Log {
 public:
  explicit RacingLog(log::Log& inner) : inner_(inner) {}
  std::function<void()> before_next_event_append;
  bool fail_next_event_append = false;

  Status EnsureTopic(const log::TopicSpec& spec) override { return inner_.EnsureTopic(spec); }
  Result<int32_t> PartitionCount(std::string_view topic) override {
    return inner_.PartitionCount(topic);
  }
  Result<std::vector<log::Position>> Append(std::string_view topic,
                                            std::span<const log::Record> records) override {
    if (topic == kEventsTopic && before_next_event_append) {
      std::exchange(before_next_event_append, nullptr)();
    }
    if (topic == kEventsTopic && std::exchange(fail_next_event_append, false)) {
      return Status::Unavailable("injected: the disk is full");
    }
    return inner_.Append(topic, records);
  }
  Result<Offset> BeginOffset(const log::TopicPartition& tp) override {
    return inner_.BeginOffset(tp);
  }
  Result<Offset> EndOffset(const log::TopicPartition& tp) override { return inner_.EndOffset(tp); }
  Result<std::unique_ptr<log::LogReader>> OpenReader() override { return inner_.OpenReader(); }
  Result<std::unique_ptr<log::GroupConsumer>> JoinGroup(const log::GroupOptions& options,
                                                        log::GroupListener* listener) override {
    return inner_.JoinGroup(options, listener);
  }
  size_t MaxRecordBytes() const override { return inner_.MaxRecordBytes(); }
  Result<std::optional<Offset>> GroupOffset(std::string_view group,
                                            const log::TopicPartition& tp) override {
    return inner_.GroupOffset(group, tp);
  }

 private:
  log::Log& inner_;
};

class CommandProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = log::OpenEmbeddedLog({.directory = dir_.path()});
    ASSERT_TRUE(opened.ok());
    log_ = std::move(*opened);
    for (const auto& spec : topics::AllTopics(kPartitions))
      ASSERT_TRUE(log_->EnsureTopic(spec).ok());
    racing_ = std::make_unique<RacingLog>(*log_);
    auto processor = CommandProcessor::Start(*racing_, {});
    ASSERT_TRUE(processor.ok()) << processor.status().ToString();
    processor_ = std::move(*processor);
  }

  Command MakeCommand(const std::string& id, const std::string& type, ::cpts::Json data) {
    return Command{.command_id = id,
                   .type = type,
                   .cptsid = kCpts,
                   .actor = "admin:test",
                   .issued_at = "2026-11-22T10:00:00Z",
                   .data = std::move(data)};
  }
  Command Register(const std::string& id) {
    return MakeCommand(id, "cpts.register",
                       {{"name", "CPTS du Haut-Doubs"},
                        {"territory", {"25462"}},
                        {"population", 68000},
                        {"region", "27"}});
  }
  Command Join(const std::string& id, const std::string& rpps) {
    return MakeCommand(id, "membership.join",
                       {{"member_id", "rpps:" + rpps},
                        {"member_kind", "professional"},
                        {"profession", "general_practitioner"},
                        {"practice_mode", "group"},
                        {"commune", "25462"},
                        {"college", "Libéraux"},
                        {"display_name", "Dr " + rpps}});
  }

  void Send(const std::vector<Command>& commands, const std::string& key = kCpts) {
    std::vector<log::Record> records;
    for (const Command& c : commands) records.push_back({.key = key, .value = EncodeCommand(c)});
    ASSERT_TRUE(log_->Append(kCommandsTopic, records).ok());
  }
  void SendRaw(const std::string& key, const std::string& value) {
    ASSERT_TRUE(
        log_->Append(kCommandsTopic, std::vector<log::Record>{{.key = key, .value = value}}).ok());
  }

  // Runs the processor until every command sent so far is decided.
  void Decide() {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(processor_->RunOnce().ok());
      auto done = processor_->CaughtUp();
      ASSERT_TRUE(done.ok());
      if (*done) return;
    }
    FAIL() << "the processor did not catch up";
  }

  // The stored events of our stream, in order.
  std::vector<events::DecodedEvent> Stream() {
    auto all = logtest::ReadAll(*log_, kEventsTopic, kPartitions);
    EXPECT_TRUE(all.ok());
    std::vector<events::DecodedEvent> out;
    for (const auto& r : *all) {
      if (r.key == kCpts) out.push_back(*events::Decode(r.value));
    }
    return out;
  }

  // The applied chain's length and head hash (events not applied are skipped).
  std::pair<uint64_t, std::string> Head() {
    uint64_t length = 0;
    std::string hash(events::kGenesisHash);
    for (const auto& e : Stream()) {
      if (e.envelope.sequence.value() == length + 1 && e.envelope.prevhash == hash) {
        ++length;
        hash = e.hash;
      }
    }
    return {length, hash};
  }

  // An event a zombie decided at `sequence` on top of `prevhash` for command `cause`: a member
  // joining.
  std::string ZombieEvent(uint64_t sequence, const std::string& prevhash,
                          const std::string& cause = "zombie-command") {
    events::Envelope e;
    e.cptsid = kCpts;
    e.sequence = Sequence(sequence);
    e.prevhash = prevhash;
    e.causationid = cause;
    e.correlationid = e.causationid;
    e.id = events::DeterministicEventId(e.cptsid, e.sequence, e.causationid);
    e.source = "/cpts/" + kCpts;
    e.type = "fr.cpts.membership.member_joined.v1";
    e.time = "2026-11-22T10:00:00.000Z";
    e.actor = "system:zombie";
    e.data = events::testing::SampleData(e.type);
    EXPECT_TRUE(events::ValidateEnvelope(e).ok()) << events::ValidateEnvelope(e).ToString();
    return events::Encode(e);
  }
  void AppendEvent(const std::string& bytes) {
    ASSERT_TRUE(
        log_->Append(kEventsTopic, std::vector<log::Record>{{.key = kCpts, .value = bytes}}).ok());
  }

  logtest::TempDir dir_{"processor"};
  std::unique_ptr<log::Log> log_;
  std::unique_ptr<RacingLog> racing_;
  std::unique_ptr<CommandProcessor> processor_;
};

TEST_F(CommandProcessorTest, EachOutcomeTakesTheNextSequenceAndChainsToThePreviousEvent) {
  Send({Register("c1"), Join("c2", "10001234565"), Join("c3", "10002345675")});
  Decide();
  const auto stream = Stream();
  ASSERT_EQ(stream.size(), 3u);
  std::string prev(events::kGenesisHash);
  for (size_t i = 0; i < stream.size(); ++i) {
    const events::Envelope& e = stream[i].envelope;
    EXPECT_EQ(e.sequence.value(), i + 1);
    EXPECT_EQ(e.prevhash, prev);
    EXPECT_EQ(e.causationid, "c" + std::to_string(i + 1));
    EXPECT_EQ(e.id, events::DeterministicEventId(kCpts, e.sequence, e.causationid));
    prev = stream[i].hash;
  }
}

TEST_F(CommandProcessorTest, ACommandDeliveredTwiceHasOneOutcome) {
  Send({Register("c1"), Join("c2", "10001234565"), Join("c2", "10001234565")});
  Decide();
  EXPECT_EQ(Stream().size(), 2u);
  EXPECT_EQ(processor_->stats().duplicates, 1u);
}

TEST_F(CommandProcessorTest, ANewDeciderReadingEveryCommandAgainAppendsNothing) {
  Send({Register("c1"), Join("c2", "10001234565")});
  Decide();
  // A decider that lost its committed offsets (a new group) sees every command again.
  ASSERT_TRUE(processor_->Close().ok());
  auto fresh = CommandProcessor::Start(*log_, {.group = "deciders-after-loss"});
  ASSERT_TRUE(fresh.ok());
  for (int i = 0; i < 50 && !*(*fresh)->CaughtUp(); ++i) ASSERT_TRUE((*fresh)->RunOnce().ok());
  EXPECT_EQ(Stream().size(), 2u);
  EXPECT_EQ((*fresh)->stats().duplicates, 2u);
}

TEST_F(CommandProcessorTest, ACommandForAnUnknownCptsIsRecordedAsARejection) {
  Send({Join("c1", "10001234565")});
  Decide();
  const auto stream = Stream();
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_EQ(stream[0].envelope.type, "fr.cpts.command.rejected.v1");
  EXPECT_EQ(stream[0].envelope.data.at("code"), "unknown_cpts");
  EXPECT_EQ(stream[0].envelope.data.at("command_id"), "c1");
}

TEST_F(CommandProcessorTest, AMalformedCommandIsRejectedInItsKeysStreamNamingTheProblem) {
  Send({Register("c1")});
  SendRaw(kCpts, R"({"command_id":"c2","type":"membership.join"})");
  SendRaw(kCpts, "not json at all");
  Decide();
  const auto stream = Stream();
  ASSERT_EQ(stream.size(), 3u);
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(stream[i].envelope.type, "fr.cpts.command.rejected.v1");
    EXPECT_EQ(stream[i].envelope.data.at("code"), "malformed_command");
  }
  EXPECT_NE(stream[1].envelope.data.at("reason").get<std::string>().find("attribute"),
            std::string::npos)
      << stream[1].envelope.data.dump();
}

TEST_F(CommandProcessorTest, ACommandKeyedToAnotherStreamIsRejectedInTheKeysStream) {
  Send({Register("c1")});
  Command other = Register("c2");
  other.cptsid = "cpts-vesoul";
  Send({other}, kCpts);
  Decide();
  const auto stream = Stream();
  ASSERT_EQ(stream.size(), 2u);
  EXPECT_EQ(stream[1].envelope.data.at("code"), "misrouted_command");
}

TEST_F(CommandProcessorTest, AZombieEventAtATakenPositionIsNotAppliedAndIsReportedWithBothIds) {
  Send({Register("c1"), Join("c2", "10001234565")});
  Decide();
  const auto before = Stream();
  // A writer that still believes it owns the stream decides on top of #1.
  const std::string zombie = ZombieEvent(2, before[0].hash);
  AppendEvent(zombie);
  Send({Join("c3", "10002345675")});
  Decide();
  const auto incidents = processor_->incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].outcome, FoldOutcome::kConflict);
  EXPECT_EQ(incidents[0].sequence.value(), 2u);
  EXPECT_EQ(incidents[0].applied_id, before[1].envelope.id);
  EXPECT_EQ(incidents[0].event_id, events::Decode(zombie)->envelope.id);
  EXPECT_EQ(processor_->stats().conflicts, 1u);
  // c3 went on at #3, chained to the real #2.
  const test::HistoryCheck check = test::CheckHistory(*log_, kPartitions);
  EXPECT_TRUE(check.problems.empty());
  EXPECT_EQ(check.stream_lengths.at(kCpts), 3u);
  EXPECT_EQ(check.not_applied, 1u);
  EXPECT_EQ(check.outcomes.count("zombie-command"), 0u);
  EXPECT_EQ(check.outcomes.at("c3"), 1);
}

TEST_F(CommandProcessorTest, WhenAZombieGetsToTheNextPositionFirstTheCommandIsDecidedAgainAfterIt) {
  Send({Register("c1"), Join("c2", "10001234565")});
  Decide();
  // Just before the processor appends the outcome of c3 at #3, a zombie appends its own #3.
  racing_->before_next_event_append = [&] { AppendEvent(ZombieEvent(3, Stream()[1].hash)); };
  Send({Join("c3", "10002345675")});
  Decide();
  EXPECT_EQ(processor_->stats().redecided, 1u);
  const test::HistoryCheck check = test::CheckHistory(*log_, kPartitions);
  EXPECT_TRUE(check.problems.empty());
  EXPECT_EQ(check.stream_lengths.at(kCpts), 4u);  // the zombie's #3, then c3 at #4
  EXPECT_EQ(check.outcomes.at("zombie-command"), 1);
  EXPECT_EQ(check.outcomes.at("c3"), 1);
  EXPECT_EQ(check.not_applied, 1u);  // the processor's first attempt at #3
  // The first attempt is reported next to the event that holds #3.
  bool reported = false;
  for (const FoldIncident& i : processor_->incidents()) {
    reported |= i.outcome == FoldOutcome::kConflict && i.sequence.value() == 3 &&
                i.applied_id == events::DeterministicEventId(kCpts, Sequence(3), "zombie-command");
  }
  EXPECT_TRUE(reported);
}

TEST_F(CommandProcessorTest, AZombieDecidingTheSameCommandDifferentlyGetsThereFirstAndWins) {
  Send({Register("c1"), Join("c2", "10001234565")});
  Decide();
  // The zombie decides c3 too, at #3, with another outcome: same event id, other bytes.
  std::string zombie;
  racing_->before_next_event_append = [&] {
    zombie = ZombieEvent(3, Stream()[1].hash, "c3");
    AppendEvent(zombie);
  };
  Send({Join("c3", "10002345675"), Join("c4", "10004567896")});
  Decide();
  const test::HistoryCheck check = test::CheckHistory(*log_, kPartitions);
  EXPECT_TRUE(check.problems.empty());
  EXPECT_EQ(check.stream_lengths.at(kCpts), 4u);  // c1, c2, the zombie's c3, then c4
  EXPECT_EQ(check.outcomes.at("c3"), 1);
  EXPECT_EQ(check.outcomes.at("c4"), 1);
  EXPECT_EQ(Stream()[2].hash, events::Sha256Hex(zombie));
  // This processor's own #3 for c3, the same id with other content, was not applied.
  bool reported = false;
  for (const FoldIncident& i : processor_->incidents()) {
    reported |= i.outcome == FoldOutcome::kConflict && i.sequence.value() == 3 &&
                i.applied_id == i.event_id;
  }
  EXPECT_TRUE(reported);
}

TEST_F(CommandProcessorTest, ACommandThatChangedNothingIsNotDecidedAgainAfterALaterChange) {
  Send({Register("c1"), Join("c2", "10001234565")});
  Decide();
  // c3 changes nothing (already a member); c4 then removes the member.
  Send({Join("c3", "10001234565"),
        MakeCommand("c4", "membership.leave", {{"member_id", "rpps:10001234565"}})});
  Decide();
  EXPECT_EQ(processor_->stats().unchanged, 1u);
  ASSERT_EQ(Stream().size(), 3u);
  // A decider that lost its committed offsets reads c3 and c4 again: c3 must not re-join.
  ASSERT_TRUE(processor_->Close().ok());
  auto fresh = CommandProcessor::Start(*log_, {.group = "deciders-after-loss"});
  ASSERT_TRUE(fresh.ok());
  for (int i = 0; i < 50 && !*(*fresh)->CaughtUp(); ++i) ASSERT_TRUE((*fresh)->RunOnce().ok());
  EXPECT_EQ(Stream().size(), 3u);
  EXPECT_EQ((*fresh)->stats().duplicates, 4u);
}

TEST_F(CommandProcessorTest, AfterAFailedAppendTheProcessorRefusesToGoOnUntilRestarted) {
  Send({Register("c1")});
  Decide();
  racing_->fail_next_event_append = true;
  Send({Join("c2", "10001234565")});
  Status first = Status::Ok();
  for (int i = 0; i < 50 && first.ok(); ++i) first = processor_->RunOnce();
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.message().find("restart"), std::string::npos) << first.ToString();
  Send({Join("c3", "10002345675")});
  EXPECT_FALSE(processor_->RunOnce().ok());  // sticky: its state may be ahead of the log
  // A new processor resumes from the log and decides c2 and c3 in order.
  ASSERT_TRUE(processor_->Close().ok());
  auto restarted = CommandProcessor::Start(*log_, {});
  ASSERT_TRUE(restarted.ok());
  for (int i = 0; i < 50 && !*(*restarted)->CaughtUp(); ++i) {
    ASSERT_TRUE((*restarted)->RunOnce().ok());
  }
  const test::HistoryCheck check = test::CheckHistory(*log_, kPartitions);
  EXPECT_TRUE(check.problems.empty());
  EXPECT_EQ(check.outcomes.at("c2"), 1);
  EXPECT_EQ(check.outcomes.at("c3"), 1);
}

TEST_F(CommandProcessorTest, EachConflictingEventIsCountedOnceWhateverTheRebuilds) {
  Send({Register("c1"), Join("c2", "10001234565")});
  Decide();
  AppendEvent(ZombieEvent(2, Stream()[0].hash));  // a stale zombie: conflict
  // Two divergences force two rebuilds, each reading the stale zombie again.
  for (const char* id : {"c3", "c4"}) {
    racing_->before_next_event_append = [&] {
      const auto [length, hash] = Head();
      AppendEvent(ZombieEvent(length + 1, hash, std::string("zombie-") + id));
    };
    Send({Join(id, id == std::string("c3") ? "10002345675" : "10004567896")});
    Decide();
  }
  // The stale zombie, and this processor's two pre-empted drafts.
  EXPECT_EQ(processor_->stats().conflicts, 3u);
  const test::HistoryCheck check = test::CheckHistory(*log_, kPartitions);
  EXPECT_EQ(check.not_applied, 3u);
}

}  // namespace
}  // namespace cpts::aggregates

#include "aggregates/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "aggregates/internal.h"
#include "events/upcasters.h"
#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kNir[] = "253072B07300470";

json ValidCommand() {
  return {{"command_id", "cmd-1"},
          {"type", "access.issue_referral"},
          {"cptsid", kCpts},
          {"actor", kCoordinator},
          {"issued_at", "2026-11-22T16:05:00+01:00"},
          {"data", {{"referral_id", "R1"}, {"patient", Patient(1)}, {"gp", kGp}}}};
}

// DecodeCommand's message for `bytes`; "ok" when it decodes.
std::string DecodeError(std::string_view bytes) {
  const Result<Command> command = DecodeCommand(bytes);
  return command.ok() ? "ok" : command.status().message();
}

std::string DecodeJsonError(const json& command) { return DecodeError(command.dump()); }

json With(const std::string& attribute, json value) {
  json command = ValidCommand();
  command[attribute] = std::move(value);
  return command;
}

json Without(const std::string& attribute) {
  json command = ValidCommand();
  command.erase(attribute);
  return command;
}

// --- The declarations.

TEST(CommandTypes, NameEveryTypeAreaDotVerb) {
  const std::regex pattern(R"([a-z]+\.[a-z_]+)");
  for (const auto& spec : CommandTypes()) {
    EXPECT_TRUE(std::regex_match(std::string(spec.type), pattern)) << spec.type;
  }
}

TEST(CommandTypes, HaveNoTypeTwiceAndADescriptionInOneLine) {
  std::set<std::string_view> names;
  for (const auto& spec : CommandTypes()) {
    EXPECT_TRUE(names.insert(spec.type).second) << spec.type;
    EXPECT_FALSE(spec.description.empty()) << spec.type;
    EXPECT_EQ(spec.description.find('\n'), std::string_view::npos) << spec.type;
  }
}

TEST(CommandTypes, EachYieldsACurrentEventTypeAndTakesItsFieldsFromIt) {
  for (const auto& spec : CommandTypes()) {
    const std::string_view event_type = internal::EventTypeFor(spec.type);
    const events::EventTypeSpec* event = events::FindEventType(event_type);
    ASSERT_NE(event, nullptr) << spec.type;
    EXPECT_EQ(events::FindUpcaster(event_type), nullptr) << event_type << " is superseded";
    EXPECT_FALSE(spec.fields.empty()) << spec.type;
    for (const auto& field : spec.fields) {
      const auto same =
          std::find_if(event->fields.begin(), event->fields.end(), [&](const auto& f) {
            return f.name == field.name && f.kind == field.kind && f.required == field.required;
          });
      EXPECT_NE(same, event->fields.end()) << spec.type << "." << field.name;
    }
  }
}

TEST(CommandTypes, CarryTheFieldsOfTheFactTheyState) {
  // The commands that carry part of their event: the rest comes from the state.
  const std::map<std::string_view, std::vector<std::string_view>> partial = {
      {"access.issue_referral", {"referral_id", "patient", "gp"}},
      {"access.accept_referral", {"referral_id"}},
      {"access.decline_referral", {"referral_id", "reason", "note"}},
      {"access.assign_gp", {"patient", "gp", "referral_id"}},
      {"access.withdraw_request", {"patient", "reason", "note"}},
      {"followup.acknowledge", {"followup_id"}},
      {"followup.complete", {"followup_id", "visited_at"}},
  };
  for (const auto& spec : CommandTypes()) {
    std::vector<std::string_view> names;
    for (const auto& field : spec.fields) names.push_back(field.name);
    std::vector<std::string_view> expected;
    if (const auto it = partial.find(spec.type); it != partial.end()) {
      expected = it->second;
    } else {
      const events::EventTypeSpec* event = events::FindEventType(internal::EventTypeFor(spec.type));
      ASSERT_NE(event, nullptr) << spec.type;
      for (const auto& field : event->fields) expected.push_back(field.name);
    }
    EXPECT_EQ(names, expected) << spec.type;
  }
}

TEST(CommandTypes, AreDocumentedTypeByTypeInDocsCommandsMd) {
  std::ifstream file(std::string(CPTS_SOURCE_DIR) + "/docs/commands.md");
  ASSERT_TRUE(file) << "docs/commands.md is missing";
  std::stringstream docs;
  docs << file.rdbuf();
  for (const auto& spec : CommandTypes()) {
    EXPECT_THAT(docs.str(), HasSubstr("`" + std::string(spec.type) + "`"));
  }
}

TEST(FindCommandType, FindsAKnownTypeAndNotAnUnknownOne) {
  ASSERT_NE(FindCommandType("access.issue_referral"), nullptr);
  EXPECT_EQ(FindCommandType("access.issue_referral")->type, "access.issue_referral");
  EXPECT_EQ(FindCommandType("fr.cpts.access.referral_issued.v1"), nullptr);
}

// --- Encoding.

TEST(EncodeCommand, WritesCanonicalJson) {
  const Command command = Cmd("prevention.close_campaign", {{"campaign_id", "C1"}});
  EXPECT_EQ(EncodeCommand(command),
            R"({"actor":"coordinator:cpts-grand-besancon:alice","command_id":")" +
                command.command_id +
                R"(","cptsid":"cpts-grand-besancon","data":{"campaign_id":"C1"},)"
                R"("issued_at":"2026-11-22T16:05:00+01:00","type":"prevention.close_campaign"})");
}

TEST(EncodeCommand, RoundTripsThroughDecodeCommand) {
  Command command =
      Cmd("discharge.notify", CommandSample("discharge.notify"), HospitalActor(kHospital));
  command.correlation_id = "hl7-MSG00042";
  const Result<Command> decoded = DecodeCommand(EncodeCommand(command));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->command_id, command.command_id);
  EXPECT_EQ(decoded->type, command.type);
  EXPECT_EQ(decoded->cptsid, command.cptsid);
  EXPECT_EQ(decoded->actor, command.actor);
  EXPECT_EQ(decoded->issued_at, command.issued_at);
  EXPECT_EQ(decoded->correlation_id, command.correlation_id);
  EXPECT_EQ(decoded->data, command.data);
  EXPECT_EQ(EncodeCommand(*decoded), EncodeCommand(command));
}

TEST(EncodeCommand, LeavesOutAnAbsentCorrelationId) {
  const Result<Command> decoded = DecodeCommand(ValidCommand().dump());
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->correlation_id);
  EXPECT_THAT(EncodeCommand(*decoded), Not(HasSubstr("correlation_id")));
}

// --- Decoding: every attribute, named in the message.

TEST(DecodeCommand, AcceptsAValidCommand) { EXPECT_EQ(DecodeJsonError(ValidCommand()), "ok"); }

TEST(DecodeCommand, RejectsBytesThatAreNotJson) {
  EXPECT_THAT(DecodeError("{\"command_id\": "),
              StartsWith("the command is not valid JSON at byte"));
}

TEST(DecodeCommand, RejectsJsonThatIsNotAnObject) {
  EXPECT_EQ(DecodeError("[1]"), "a command is a JSON object, got array");
}

TEST(DecodeCommand, RejectsAKeyGivenTwice) {
  std::string bytes = ValidCommand().dump();
  bytes.insert(1, R"("type":"cpts.register",)");
  EXPECT_EQ(DecodeError(bytes), "the command holds the key \"type\" twice in one object");
}

TEST(DecodeCommand, RejectsAKeyGivenTwiceInsideData) {
  std::string bytes = ValidCommand().dump();
  bytes.insert(bytes.find("\"data\":{") + 8, R"("gp":"rpps:10000000017",)");
  EXPECT_EQ(DecodeError(bytes), "the command holds the key \"gp\" twice in one object");
}

TEST(DecodeCommand, RejectsAnUnknownAttributeListingTheKnownOnes) {
  EXPECT_EQ(DecodeJsonError(With("cptsId", "x")),
            "unknown attribute \"cptsId\" (attributes are: command_id, type, cptsid, actor, "
            "issued_at, correlation_id, data)");
}

TEST(DecodeCommand, RejectsAMissingAttribute) {
  for (const char* attribute : {"command_id", "type", "cptsid", "actor", "issued_at", "data"}) {
    EXPECT_EQ(DecodeJsonError(Without(attribute)),
              "attribute " + std::string(attribute) + ": is missing");
  }
}

TEST(DecodeCommand, RejectsAnAttributeThatIsNotAString) {
  EXPECT_EQ(DecodeJsonError(With("command_id", 42)),
            "attribute command_id: must be a string, got number");
}

TEST(DecodeCommand, RejectsABadCommandId) {
  for (const json& id : {json(""), json("cmd 1"), json(std::string(101, 'a'))}) {
    EXPECT_THAT(DecodeJsonError(With("command_id", id)),
                StartsWith("attribute command_id: must be 1 to 100"));
  }
  EXPECT_EQ(DecodeJsonError(With("command_id", std::string(100, 'a'))), "ok");
}

TEST(DecodeCommand, RejectsAnUnknownType) {
  EXPECT_EQ(DecodeJsonError(With("type", "access.teleport")),
            "attribute type: \"access.teleport\" is not a command type (docs/commands.md)");
}

TEST(DecodeCommand, RejectsABadCptsId) {
  EXPECT_THAT(DecodeJsonError(With("cptsid", "cpts grand besançon")),
              StartsWith("attribute cptsid: "));
  EXPECT_THAT(DecodeJsonError(With("cptsid", std::string(65, 'a'))),
              StartsWith("attribute cptsid: "));
}

TEST(DecodeCommand, RejectsAnActorParseActorRefuses) {
  EXPECT_THAT(DecodeJsonError(With("actor", "user:alice")), StartsWith("attribute actor: "));
}

TEST(DecodeCommand, RejectsAnIssuedAtThatIsNotRfc3339) {
  EXPECT_THAT(DecodeJsonError(With("issued_at", "2026-11-22 16:05")),
              StartsWith("attribute issued_at: is not an RFC 3339 timestamp"));
}

TEST(DecodeCommand, AcceptsACorrelationIdAndRejectsABadOne) {
  EXPECT_EQ(DecodeJsonError(With("correlation_id", "hl7-MSG00042")), "ok");
  EXPECT_THAT(DecodeJsonError(With("correlation_id", "hl7 MSG")),
              StartsWith("attribute correlation_id: must be 1 to 100"));
  EXPECT_EQ(DecodeJsonError(With("correlation_id", nullptr)),
            "attribute correlation_id: must be a string, got null");
}

TEST(DecodeCommand, RejectsDataThatBreaksAFieldRuleNamingTheField) {
  json command = ValidCommand();
  command["data"]["gp"] = "rpps:12345";
  EXPECT_THAT(DecodeJsonError(command), StartsWith("access.issue_referral: data.gp: "));
}

TEST(DecodeCommand, RejectsADataFieldTheCommandDoesNotTake) {
  json command = ValidCommand();
  command["data"]["identity"] = events::testing::SampleIdentity();
  EXPECT_EQ(DecodeJsonError(command),
            "access.issue_referral: data.identity: unknown field (known fields: referral_id, "
            "patient, gp)");
}

TEST(DecodeCommand, RejectsAMissingDataField) {
  json command = ValidCommand();
  command["data"].erase("referral_id");
  EXPECT_EQ(DecodeJsonError(command),
            "access.issue_referral: data.referral_id: required field is missing");
}

TEST(DecodeCommand, AppliesTheEventsCrossFieldRules) {
  json command = With("type", "membership.join");
  command["data"] = CommandSample("membership.join", {{"structure_kind", "hospital"}});
  EXPECT_EQ(DecodeJsonError(command),
            "membership.join: data.structure_kind: not allowed when member_kind is professional");
}

TEST(DecodeCommand, NeverShowsANir) {
  json in_data = ValidCommand();
  in_data["data"]["patient"] = kNir;
  json in_actor = With("actor", std::string("professional:") + kNir);
  json in_key = ValidCommand();
  in_key[kNir] = 1;
  for (const std::string& bytes :
       {in_data.dump(), in_actor.dump(), in_key.dump(), With("type", kNir).dump(),
        With("issued_at", kNir).dump(), With("cptsid", std::string(kNir) + " ").dump(),
        std::string("{\"command_id\": ") + kNir + "x}"}) {
    const std::string message = DecodeError(bytes);
    EXPECT_NE(message, "ok");
    EXPECT_THAT(message, Not(HasSubstr(kNir))) << message;
    EXPECT_THAT(message, Not(HasSubstr("2530"))) << message;
  }
}

}  // namespace
}  // namespace cpts::aggregates::testing

#include "events/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "events/catalogue.h"
#include "events/upcasters.h"
#include "tests/events/samples.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::SampleEnvelope;
using ::testing::StartsWith;

constexpr std::string_view kDischarge = "fr.cpts.discharge.notified.v1";

// The message of a failed Decode; "ok" when it succeeded.
std::string DecodeError(std::string_view bytes) {
  const Result<DecodedEvent> decoded = Decode(bytes);
  return decoded.ok() ? "ok" : decoded.status().message();
}

// The stored form of the sample discharge with `edit` applied to its JSON.
std::string EditedDischarge(const std::function<void(json&)>& edit) {
  json j = json::parse(Encode(SampleEnvelope(kDischarge)));
  edit(j);
  return j.dump();
}

std::string ValidationError(const Envelope& envelope) {
  const Status status = ValidateEnvelope(envelope);
  return status.ok() ? "ok" : status.message();
}

// --- Round trips.

TEST(Codec, RoundTripsASampleOfEveryCurrentType) {
  for (const auto& spec : EventTypes()) {
    if (FindUpcaster(spec.type) != nullptr) continue;  // superseded: see upcaster_test.cc
    const Envelope envelope = SampleEnvelope(spec.type, 5, Sha256Hex("previous"));
    ASSERT_EQ(ValidationError(envelope), "ok") << spec.type;
    const Result<DecodedEvent> decoded = Decode(Encode(envelope));
    ASSERT_TRUE(decoded.ok()) << spec.type << ": " << decoded.status().ToString();
    EXPECT_EQ(decoded->envelope, envelope) << spec.type;
    EXPECT_FALSE(decoded->upcast()) << spec.type;
  }
}

TEST(Codec, RoundTripsAnEnvelopeWithoutSubject) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.subject.reset();
  const Result<DecodedEvent> decoded = Decode(Encode(envelope));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->envelope, envelope);
}

// A reader reuses one DecodedEvent for every record: nothing of the previous event may remain,
// whether it had a subject, was upcast or failed half-way.
TEST(Codec, DecodeIntoAReusedEventGivesWhatAFreshDecodeGives) {
  std::vector<std::string> stored;
  bool with_subject = true;
  for (const auto& spec : EventTypes()) {
    Envelope envelope = SampleEnvelope(spec.type, 5, Sha256Hex("previous"));
    if (!with_subject) envelope.subject.reset();
    with_subject = !with_subject;
    stored.push_back(Encode(envelope));
    // Failures after the parse too: valid JSON, data of another type.
    stored.push_back(R"({"id":"not an event")");
    Envelope wrong_data = envelope;
    wrong_data.data = json{{"unexpected", 1}};
    stored.push_back(Encode(wrong_data));
  }
  DecodedEvent reused;
  for (const std::string& bytes : stored) {
    const Result<DecodedEvent> fresh = Decode(bytes);
    const Status status = DecodeInto(bytes, reused);
    ASSERT_EQ(status.ok(), fresh.ok()) << bytes;
    if (!fresh.ok()) {
      EXPECT_EQ(status.message(), fresh.status().message());
      continue;
    }
    EXPECT_EQ(reused.envelope, fresh->envelope) << bytes;
    EXPECT_EQ(reused.stored_type, fresh->stored_type) << bytes;
    EXPECT_EQ(reused.hash, fresh->hash) << bytes;
  }
}

TEST(Codec, EncodesCanonicalJsonWithEveryAttribute) {
  const std::string bytes = Encode(SampleEnvelope("fr.cpts.prevention.campaign_closed.v1"));
  EXPECT_EQ(
      bytes,
      R"({"actor":"user:coordinator","causationid":"cmd-1","correlationid":"cmd-1",)"
      R"("cptsid":"cpts-grand-besancon","data":{"campaign_id":"CAMP-2026-OR"},)"
      R"("datacontenttype":"application/json","id":")" +
          DeterministicEventId("cpts-grand-besancon", Sequence(1), "cmd-1") +
          R"(","prevhash":"0000000000000000000000000000000000000000000000000000000000000000",)"
          R"("schemaversion":1,"sequence":1,"source":"/cpts/cpts-grand-besancon",)"
          R"("specversion":"1.0","subject":"sample/1","time":"2026-11-22T15:05:00.123Z",)"
          R"("type":"fr.cpts.prevention.campaign_closed.v1"})");
}

TEST(Codec, EncodesTheSameBytesWhateverTheDataKeyOrder) {
  Envelope a = SampleEnvelope("fr.cpts.snp.slot_offered.v1");
  Envelope b = a;
  b.data = json::object();
  b.data["slot_at"] = a.data["slot_at"];
  b.data["professional"] = a.data["professional"];
  b.data["request_id"] = a.data["request_id"];
  EXPECT_EQ(Encode(a), Encode(b));
  EXPECT_EQ(EventHash(a), EventHash(b));
}

TEST(Codec, HashesTheStoredBytes) {
  const Envelope envelope = SampleEnvelope(kDischarge);
  const std::string bytes = Encode(envelope);
  const Result<DecodedEvent> decoded = Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->hash, Sha256Hex(bytes));
  EXPECT_EQ(decoded->hash, EventHash(envelope));
}

TEST(Codec, HashesStoredBytesAsTheyAreEvenWhenNotCanonical) {
  // Whoever wrote them, the chain names the bytes in the log; re-encoding is never needed.
  const std::string spaced = json::parse(Encode(SampleEnvelope(kDischarge))).dump(2);
  const Result<DecodedEvent> decoded = Decode(spaced);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->hash, Sha256Hex(spaced));
  EXPECT_NE(decoded->hash, EventHash(decoded->envelope));
}

TEST(EventHash, ChangesWhenAnyAttributeOrDataChanges) {
  const Envelope base = SampleEnvelope(kDischarge, 2, Sha256Hex("previous"));
  const std::vector<std::pair<std::string, std::function<void(Envelope&)>>> edits = {
      {"id", [](Envelope& e) { e.id[0] = e.id[0] == 'a' ? 'b' : 'a'; }},
      {"source", [](Envelope& e) { e.source += "x"; }},
      {"type", [](Envelope& e) { e.type = "fr.cpts.discharge.cancelled.v1"; }},
      {"specversion", [](Envelope& e) { e.specversion = "1.1"; }},
      {"time", [](Envelope& e) { e.time = "2026-11-22T15:05:00.124Z"; }},
      {"datacontenttype", [](Envelope& e) { e.datacontenttype = "text/json"; }},
      {"subject", [](Envelope& e) { e.subject.reset(); }},
      {"cptsid", [](Envelope& e) { e.cptsid += "x"; }},
      {"sequence", [](Envelope& e) { e.sequence = e.sequence.Next(); }},
      {"prevhash", [](Envelope& e) { e.prevhash = Sha256Hex("other"); }},
      {"causationid", [](Envelope& e) { e.causationid += "x"; }},
      {"correlationid", [](Envelope& e) { e.correlationid += "x"; }},
      {"actor", [](Envelope& e) { e.actor = "system:decider"; }},
      {"schemaversion", [](Envelope& e) { e.schemaversion = 2; }},
      {"data value", [](Envelope& e) { e.data["needs"] = {"home_nursing"}; }},
      {"data field", [](Envelope& e) { e.data.erase("gp"); }},
      {"nested data", [](Envelope& e) { e.data["identity"]["key_id"] = "patient-key-2"; }},
  };
  std::set<std::string> hashes = {EventHash(base)};
  for (const auto& [name, edit] : edits) {
    Envelope edited = base;
    edit(edited);
    EXPECT_TRUE(hashes.insert(EventHash(edited)).second) << name;
  }
}

// --- What a writer may store.

TEST(ValidateEnvelope, AcceptsTheSampleEnvelope) {
  EXPECT_EQ(ValidationError(SampleEnvelope(kDischarge)), "ok");
}

TEST(ValidateEnvelope, RequiresTheDeterministicId) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  EXPECT_THAT(ValidationError(envelope), StartsWith("attribute id: is not the id of "
                                                    "cpts-grand-besancon sequence 1"));
}

TEST(ValidateEnvelope, RefusesSequenceZero) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.sequence = Sequence(0);
  EXPECT_EQ(ValidationError(envelope),
            "attribute sequence: must be 1 or more (1 is the first event)");
}

TEST(ValidateEnvelope, RequiresZerosAsPrevhashOfTheFirstEvent) {
  EXPECT_EQ(ValidationError(SampleEnvelope(kDischarge, 1, Sha256Hex("x"))),
            "attribute prevhash: must be 64 zeros for the first event of a stream (sequence 1)");
}

TEST(ValidateEnvelope, RefusesZerosAsPrevhashAfterTheFirstEvent) {
  EXPECT_THAT(ValidationError(SampleEnvelope(kDischarge, 2)),
              StartsWith("attribute prevhash: must be the previous event's hash"));
}

TEST(ValidateEnvelope, RefusesUppercaseHexInPrevhash) {
  std::string upper = Sha256Hex("x");
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(ValidationError(SampleEnvelope(kDischarge, 2, upper)),
            "attribute prevhash: must be 64 lowercase hex characters");
}

TEST(ValidateEnvelope, RequiresAUtcTime) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.time = "2026-11-22T16:05:00.123+01:00";
  EXPECT_EQ(ValidationError(envelope),
            "attribute time: is not an RFC 3339 UTC time (e.g. 2026-11-22T16:05:00.123Z)");
}

TEST(ValidateEnvelope, RequiresAnActorKind) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.actor = "alice";
  EXPECT_EQ(ValidationError(envelope),
            "attribute actor: must read <kind>:<name>, e.g. user:alice or hospital:250000015");
}

TEST(ValidateEnvelope, RequiresACausation) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.causationid.clear();
  EXPECT_EQ(ValidationError(envelope), "attribute causationid: must not be empty");
}

TEST(ValidateEnvelope, RefusesACptsIdWithSpaces) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.cptsid = "cpts grand besancon";
  envelope.id = DeterministicEventId(envelope.cptsid, envelope.sequence, envelope.causationid);
  EXPECT_THAT(ValidationError(envelope),
              StartsWith("attribute cptsid: must be 1 to 64 characters"));
}

TEST(ValidateEnvelope, RefusesAnUnknownType) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.type = "fr.cpts.discharge.notified.v7";
  EXPECT_EQ(ValidationError(envelope),
            "attribute type: \"fr.cpts.discharge.notified.v7\" is not in the event catalogue "
            "(docs/events.md)");
}

TEST(ValidateEnvelope, NamesTheTypeAndFieldOfInvalidData) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.data["needs"] = {"massage"};
  EXPECT_THAT(
      ValidationError(envelope),
      StartsWith("fr.cpts.discharge.notified.v1: data.needs[0]: \"massage\" is not one of"));
}

TEST(ValidateEnvelope, RefusesInvalidUtf8InAnAttribute) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.subject = "discharge/\xff";
  EXPECT_EQ(ValidationError(envelope), "the envelope holds a string that is not valid UTF-8");
}

// --- What a reader refuses.

TEST(Decode, RefusesBytesThatAreNotJsonNamingTheBytePosition) {
  EXPECT_EQ(DecodeError(R"({"id": "x",)"),
            "the event is not valid JSON at byte 12: syntax error while parsing object key - "
            "unexpected end of input; expected string literal");
}

TEST(Decode, DoesNotQuoteWhatItCouldNotParse) {
  const std::string message = DecodeError(R"({"patient": 253072B07300470})");
  EXPECT_THAT(message, StartsWith("the event is not valid JSON at byte "));
  EXPECT_THAT(message, Not(HasSubstr("253072")));
}

TEST(Decode, RefusesAJsonValueOtherThanAnObject) {
  EXPECT_EQ(DecodeError("[1,2]"), "an event is a JSON object, got array");
}

TEST(Decode, NamesAMissingAttribute) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j.erase("causationid"); })),
            "attribute causationid: is missing");
}

TEST(Decode, NamesAnAttributeOfTheWrongType) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["sequence"] = "1"; })),
            "attribute sequence: must be an integer of 1 or more, got string");
}

TEST(Decode, RefusesANegativeSequence) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["sequence"] = -1; })),
            "attribute sequence: must be an integer of 1 or more, got -1");
}

TEST(Decode, RefusesAnUnknownAttributeToCatchTypos) {
  EXPECT_THAT(DecodeError(EditedDischarge([](json& j) { j["cptsId"] = "cpts-grand-besancon"; })),
              StartsWith("unknown attribute \"cptsId\" (attributes are: actor, causationid,"));
}

TEST(Decode, DoesNotQuoteAnUnknownAttributeThatCouldBeANir) {
  const std::string message =
      DecodeError(EditedDischarge([](json& j) { j["253072B07300470"] = true; }));
  EXPECT_THAT(message, StartsWith("unknown attribute (name not shown)"));
  EXPECT_THAT(message, Not(HasSubstr("07300470")));
}

TEST(Decode, RefusesAnotherSpecVersion) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["specversion"] = "0.3"; })),
            "attribute specversion: must be \"1.0\" (CloudEvents 1.0)");
}

TEST(Decode, RefusesASchemaVersionItDoesNotKnow) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["schemaversion"] = 2; })),
            "attribute schemaversion: 2 is not supported by this build (it reads 1)");
}

TEST(Decode, RefusesAnotherContentType) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["datacontenttype"] = "text/plain"; })),
            "attribute datacontenttype: must be \"application/json\"");
}

TEST(Decode, RefusesATypeOutsideTheCatalogue) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["type"] = "fr.cpts.discharge.lost.v1"; })),
            "attribute type: \"fr.cpts.discharge.lost.v1\" is not in the event catalogue "
            "(docs/events.md)");
}

TEST(Decode, NamesTheFieldOfInvalidData) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["data"]["commune"] = "20004"; })),
            "fr.cpts.discharge.notified.v1: data.commune: \"20004\" is not an INSEE commune code "
            "(Corsica is 2A or 2B, not 20)");
}

TEST(Decode, RefusesAKeyGivenTwice) {
  std::string bytes = Encode(SampleEnvelope(kDischarge));
  bytes.insert(1, R"("sequence":9,)");
  EXPECT_EQ(DecodeError(bytes), "the event holds the key \"sequence\" twice in one object");
}

TEST(Decode, RefusesADataKeyGivenTwice) {
  std::string bytes = Encode(SampleEnvelope(kDischarge));
  const size_t data = bytes.find(R"("data":{)") + 8;
  bytes.insert(data, R"("destination":"death",)");
  EXPECT_EQ(DecodeError(bytes), "the event holds the key \"destination\" twice in one object");
}

// Decode reads attributes straight into the envelope as it parses (no object of attributes in
// between); these pin the order in which it reports problems, which follows the old one.

TEST(Decode, ReadsAttributesInAnyOrderAndSpacing) {
  const Envelope envelope = SampleEnvelope(kDischarge, 3, Sha256Hex("previous"));
  const json canonical = json::parse(Encode(envelope));
  // Keys in reverse order, spaced out: valid JSON, though not canonical.
  std::string reordered = "{";
  for (auto it = canonical.crbegin(); it != canonical.crend(); ++it) {
    reordered += reordered.size() > 1 ? ",\n  " : "\n  ";
    reordered += "\"" + it.key() + "\" : " + it.value().dump();
  }
  reordered += "\n}";
  const Result<DecodedEvent> decoded = Decode(reordered);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->envelope, envelope);
  EXPECT_EQ(decoded->hash, Sha256Hex(reordered));
}

TEST(Decode, ReadsEscapedAttributes) {
  Envelope envelope = SampleEnvelope(kDischarge);
  envelope.causationid = "cmd \"é\" \\ 1";
  envelope.id = DeterministicEventId(envelope.cptsid, envelope.sequence, envelope.causationid);
  std::string bytes = Encode(envelope);
  const size_t source = bytes.find("/cpts/");
  bytes.replace(source, 6, "\\/cpts\\/");  // "\/" is "/" in JSON
  const Result<DecodedEvent> decoded = Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->envelope, envelope);
}

TEST(Decode, NamesTheFirstUnknownAttributeInKeyOrder) {
  std::string bytes = Encode(SampleEnvelope(kDischarge));
  bytes.insert(1, R"("zeta":1,"beta":2,)");
  EXPECT_THAT(DecodeError(bytes), StartsWith("unknown attribute \"beta\" (attributes are:"));
}

TEST(Decode, RefusesAnUnknownAttributeGivenTwiceAsARepeatedKey) {
  std::string bytes = Encode(SampleEnvelope(kDischarge));
  bytes.insert(1, R"("cptsId":1,"cptsId":1,)");
  EXPECT_EQ(DecodeError(bytes), "the event holds the key \"cptsId\" twice in one object");
}

TEST(Decode, RefusesAnAttributeGivenTwiceEvenWithTheSameValue) {
  const Envelope envelope = SampleEnvelope(kDischarge);
  std::string bytes = Encode(envelope);
  bytes.insert(1, R"("actor":")" + envelope.actor + R"(",)");
  EXPECT_EQ(DecodeError(bytes), "the event holds the key \"actor\" twice in one object");
}

TEST(Decode, ReportsASyntaxErrorBeforeARepeatedAttribute) {
  std::string bytes = Encode(SampleEnvelope(kDischarge));
  bytes.insert(1, R"("sequence":9,)");
  bytes.pop_back();  // the closing brace
  EXPECT_THAT(DecodeError(bytes), StartsWith("the event is not valid JSON at byte "));
}

TEST(Decode, ReportsAnUnknownAttributeBeforeAMissingOne) {
  EXPECT_THAT(DecodeError(EditedDischarge([](json& j) {
                j.erase("id");
                j["cptsId"] = "x";
              })),
              StartsWith("unknown attribute \"cptsId\""));
}

TEST(Decode, ChecksAttributesInTheirFixedOrder) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) {
              j.erase("actor");
              j["source"] = 7;
              j.erase("data");
            })),
            "attribute source: must be a string, got number");
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) {
              j.erase("data");
              j["schemaversion"] = "1";
            })),
            "attribute schemaversion: must be a positive integer, got string");
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j.erase("data"); })),
            "attribute data: is missing");
}

TEST(Decode, NamesTheTypeOfAStringAttributeGivenAnotherValue) {
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["subject"] = nullptr; })),
            "attribute subject: must be a string, got null");
  EXPECT_EQ(DecodeError(EditedDischarge([](json& j) { j["id"] = json::array({"x"}); })),
            "attribute id: must be a string, got array");
}

TEST(Decode, RefusesANumberTooLargeForADoubleWithoutQuotingIt) {
  std::string bytes = Encode(SampleEnvelope(kDischarge));
  bytes.insert(1, R"("sequence":2530723073004701e999,)");
  const Result<DecodedEvent> decoded = Decode(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(),
            "the event is not valid JSON at byte 32: a number is too large for a double");
}

TEST(Decode, RefusesDataNestedDeeperThanTheParserLimit) {
  std::string bytes = Encode(SampleEnvelope(kDischarge));
  bytes.insert(bytes.find(R"("data":{)") + 8, R"("deep":)" + std::string(200, '[') +
                                                    std::string(200, ']') + ",");
  EXPECT_THAT(DecodeError(bytes), HasSubstr("nested deeper than 128 levels"));
}

}  // namespace
}  // namespace cpts::events

#include "events/catalogue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "tests/events/samples.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::SampleData;
using testing::SampleIdentity;
using testing::SamplePseudonym;
using ::testing::StartsWith;

constexpr char kNir[] = "253072B07300470";

// The message ValidateData gives for `type` with `data`; "ok" when valid.
std::string Check(std::string_view type, const json& data) {
  const EventTypeSpec* spec = FindEventType(type);
  if (spec == nullptr) return "unknown type " + std::string(type);
  const Status status = ValidateData(*spec, data);
  return status.ok() ? "ok" : status.message();
}

// SampleData(type) with `field` set to `value`.
json With(std::string_view type, const std::string& field, json value) {
  json data = SampleData(type);
  data[field] = std::move(value);
  return data;
}

json Without(std::string_view type, const std::string& field) {
  json data = SampleData(type);
  data.erase(field);
  return data;
}

constexpr std::string_view kDischarge = "fr.cpts.discharge.notified.v1";
constexpr std::string_view kJoined = "fr.cpts.membership.member_joined.v1";
constexpr std::string_view kRegistered = "fr.cpts.cpts.registered.v1";
constexpr std::string_view kCampaign = "fr.cpts.prevention.campaign_launched.v1";

// --- The catalogue itself.

TEST(Catalogue, NamesEveryTypeFrCptsAreaFactVersion) {
  const std::regex pattern(R"(fr\.cpts\.[a-z]+\.[a-z_]+\.v[1-9][0-9]*)");
  for (const auto& spec : EventTypes()) {
    EXPECT_TRUE(std::regex_match(std::string(spec.type), pattern)) << spec.type;
  }
}

TEST(Catalogue, HasNoTypeTwice) {
  std::set<std::string_view> names;
  for (const auto& spec : EventTypes()) EXPECT_TRUE(names.insert(spec.type).second) << spec.type;
}

TEST(Catalogue, DescribesEveryTypeInOneLine) {
  for (const auto& spec : EventTypes()) {
    EXPECT_FALSE(spec.description.empty()) << spec.type;
    EXPECT_EQ(spec.description.find('\n'), std::string_view::npos) << spec.type;
  }
}

TEST(Catalogue, FindsAKnownTypeAndNotAnUnknownOne) {
  ASSERT_NE(FindEventType(kDischarge), nullptr);
  EXPECT_EQ(FindEventType(kDischarge)->type, kDischarge);
  EXPECT_EQ(FindEventType("fr.cpts.discharge.notified.v9"), nullptr);
}

TEST(Catalogue, IsDocumentedTypeByTypeInDocsEventsMd) {
  std::ifstream file(std::string(CPTS_SOURCE_DIR) + "/docs/events.md");
  ASSERT_TRUE(file) << "docs/events.md is missing";
  std::stringstream docs;
  docs << file.rdbuf();
  for (const auto& spec : EventTypes()) {
    EXPECT_THAT(docs.str(), HasSubstr("`" + std::string(spec.type) + "`"));
  }
}

TEST(Catalogue, AcceptsTheSampleDataOfEveryType) {
  for (const auto& spec : EventTypes()) {
    EXPECT_EQ(Check(spec.type, SampleData(spec.type)), "ok") << spec.type;
  }
}

// --- Shape of the data.

TEST(ValidateData, RejectsDataThatIsNotAnObject) {
  EXPECT_EQ(Check(kRegistered, json::array()), "data: expected an object, got an array");
}

TEST(ValidateData, RejectsAnUnknownFieldListingTheKnownOnes) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "populaton", 3)),
            "data.populaton: unknown field (known fields: name, territory, population, region)");
}

TEST(ValidateData, RejectsAMissingRequiredField) {
  EXPECT_EQ(Check(kRegistered, Without(kRegistered, "population")),
            "data.population: required field is missing");
}

TEST(ValidateData, AcceptsAMissingOptionalField) {
  EXPECT_EQ(Check(kDischarge, Without(kDischarge, "gp")), "ok");
}

TEST(ValidateData, RejectsNullForAnOptionalField) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "gp", nullptr)),
            "data.gp: expected a string, got null (leave an optional field out rather than null)");
}

TEST(ValidateData, RejectsAWrongJsonType) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "population", "195000")),
            "data.population: expected an integer, got a string");
}

// --- One rule kind at a time.

TEST(StringRule, RejectsAnEmptyString) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "name", "")), "data.name: must not be empty");
}

TEST(StringRule, RejectsAStringOverItsMaximumInCharacters) {
  std::string name;
  for (int i = 0; i < 200; ++i) name += "é";  // 200 characters, 400 bytes
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "name", name)), "ok");
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "name", name + "x")),
            "data.name: is 201 characters long, at most 200");
}

TEST(StringRule, RejectsInvalidUtf8) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "name", "CPTS \xc3")),
            "data.name: is not valid UTF-8");
}

TEST(IntegerRule, RejectsAValueBelowTheMinimum) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "population", 0)),
            "data.population: 0 is below the minimum 1");
}

TEST(IntegerRule, RejectsAValueAboveTheMaximum) {
  EXPECT_EQ(Check("fr.cpts.access.gp_capacity_declared.v1",
                  With("fr.cpts.access.gp_capacity_declared.v1", "new_patients_capacity", 10001)),
            "data.new_patients_capacity: 10001 is above the maximum 10000");
}

TEST(IntegerRule, RejectsANumberWithAFraction) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "population", 1.5)),
            "data.population: expected an integer, got a number with a fraction");
}

TEST(IntegerRule, RejectsAnUnsignedValueBeyondInt64) {
  EXPECT_THAT(Check(kRegistered, With(kRegistered, "population", UINT64_MAX)),
              StartsWith("data.population: 18446744073709551615 is above the maximum"));
}

TEST(BooleanRule, RejectsAStringForABoolean) {
  constexpr std::string_view kType = "fr.cpts.access.patient_registered.v2";
  EXPECT_EQ(Check(kType, With(kType, "ald", "yes")),
            "data.ald: expected a boolean (true or false), got a string");
}

TEST(TimestampRule, RejectsATimeWithoutAZone) {
  EXPECT_THAT(Check(kDischarge, With(kDischarge, "discharged_at", "2026-11-22T16:05:00")),
              StartsWith("data.discharged_at: \"2026-11-22T16:05:00\" is not an RFC 3339 "
                         "timestamp with a zone"));
}

TEST(TimestampRule, AcceptsUtcAndOffsetsWithOrWithoutFraction) {
  EXPECT_TRUE(IsTimestamp("2026-11-22T16:05:00Z"));
  EXPECT_TRUE(IsTimestamp("2026-11-22T16:05:00.123456789+01:00"));
  EXPECT_TRUE(IsTimestamp("2024-02-29T23:59:59-10:30"));
}

TEST(TimestampRule, RejectsImpossibleTimesAndLooseForms) {
  EXPECT_FALSE(IsTimestamp("2026-11-22T24:00:00Z"));
  EXPECT_FALSE(IsTimestamp("2026-11-22T16:60:00Z"));
  EXPECT_FALSE(IsTimestamp("2026-11-22 16:05:00Z"));
  EXPECT_FALSE(IsTimestamp("2026-11-22T16:05:00.Z"));
  EXPECT_FALSE(IsTimestamp("2026-11-22T16:05:00z"));
  EXPECT_FALSE(IsTimestamp("2026-11-22T16:05:00+0100"));
  EXPECT_FALSE(IsTimestamp("2025-02-29T16:05:00Z"));
}

TEST(DateRule, RejectsADayThatDoesNotExist) {
  constexpr std::string_view kType = "fr.cpts.cpts.aci_signed.v1";
  EXPECT_EQ(Check(kType, With(kType, "signed_on", "2026-02-29")),
            "data.signed_on: \"2026-02-29\" is not a calendar date (YYYY-MM-DD, e.g. 2026-11-22)");
}

TEST(DateRule, KnowsLeapYears) {
  EXPECT_TRUE(IsDate("2024-02-29"));
  EXPECT_TRUE(IsDate("2000-02-29"));
  EXPECT_FALSE(IsDate("1900-02-29"));
  EXPECT_FALSE(IsDate("2026-13-01"));
  EXPECT_FALSE(IsDate("2026-1-01"));
}

TEST(EnumRule, RejectsAValueNotListedAndListsTheValues) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "region", "99")),
            "data.region: \"99\" is not one of 01, 02, 03, 04, 06, 11, 24, 27, 28, 32, 44, 52, 53, "
            "75, 76, 84, 93, 94");
}

TEST(EnumListRule, RejectsAnItemNotListedByItsIndex) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "needs", {"home_nursing", "pharmacy", "massage"})),
            "data.needs[2]: \"massage\" is not one of home_nursing, physiotherapy, pharmacy, "
            "gp_visit, oncology_nurse");
}

TEST(EnumListRule, RejectsARepeatedItem) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "needs", {"pharmacy", "pharmacy"})),
            "data.needs[1]: \"pharmacy\" is repeated (item 0)");
}

TEST(EnumListRule, AcceptsAnEmptyListWhereAllowed) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "needs", json::array())), "ok");
}

TEST(StringListRule, RejectsAnEmptyList) {
  EXPECT_EQ(Check(kCampaign, With(kCampaign, "partners", json::array())),
            "data.partners: must not be empty");
}

TEST(StringListRule, RejectsAnEmptyItem) {
  EXPECT_EQ(Check(kCampaign, With(kCampaign, "partners", {"CPAM du Doubs", ""})),
            "data.partners[1]: must not be empty");
}

TEST(InseeCommuneRule, RejectsTwentyAsCorsica) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "commune", "20004")),
            "data.commune: \"20004\" is not an INSEE commune code (Corsica is 2A or 2B, not 20)");
}

TEST(InseeCommuneListRule, RejectsAnEmptyTerritory) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "territory", json::array())),
            "data.territory: must not be empty");
}

TEST(InseeCommuneListRule, RejectsARepeatedCommune) {
  EXPECT_EQ(Check(kRegistered, With(kRegistered, "territory", {"25056", "2A004", "25056"})),
            "data.territory[2]: \"25056\" is repeated (item 0)");
}

TEST(InseeCommuneListRule, RejectsAnInvalidCodeByItsIndex) {
  EXPECT_THAT(Check(kRegistered, With(kRegistered, "territory", {"25056", "2505"})),
              StartsWith("data.territory[1]: \"2505\" is not an INSEE commune code"));
}

TEST(FinessRule, RejectsAWrongCheckDigit) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "finess", "250000016")),
            "data.finess: \"250000016\" is not a valid FINESS number (Luhn check digit)");
}

TEST(MemberIdRule, RejectsAShortRppsNamingTheRule) {
  EXPECT_EQ(Check(kJoined, With(kJoined, "member_id", "rpps:12345")),
            "data.member_id: \"12345\" is not an RPPS number (11 digits)");
}

TEST(MemberIdRule, RejectsAnAdeliWithAWrongCheckDigit) {
  EXPECT_EQ(Check(kJoined, With(kJoined, "member_id", "adeli:123456789")),
            "data.member_id: \"123456789\" is not a valid ADELI number (Luhn check digit)");
}

TEST(MemberIdRule, RejectsAnUnknownScheme) {
  EXPECT_EQ(Check(kJoined, With(kJoined, "member_id", "10003456786")),
            "data.member_id: \"10003456786\" is not a member id (rpps:<11 digits>, adeli:<9 "
            "digits>, finess:<9 characters> or siren:<9 digits>)");
}

TEST(ProfessionalIdRule, RejectsAnEstablishment) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "gp", "finess:250000015")),
            "data.gp: \"finess:250000015\" is not a professional id (rpps:<11 digits> or "
            "adeli:<9 digits>)");
}

TEST(PatientPseudonymRule, RejectsUppercaseHexWithoutShowingIt) {
  std::string upper = SamplePseudonym(1);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string message = Check(kDischarge, With(kDischarge, "patient", upper));
  EXPECT_THAT(message, StartsWith("data.patient: is not a patient pseudonym"));
  EXPECT_THAT(message, Not(HasSubstr(upper)));
}

TEST(PatientPseudonymRule, RejectsANirWithoutShowingIt) {
  const std::string message = Check(kDischarge, With(kDischarge, "patient", kNir));
  EXPECT_THAT(message, HasSubstr("it is a NIR"));
  EXPECT_THAT(message, Not(HasSubstr("07300470")));
}

TEST(IdentifierRules, NeverShowANirGivenWhereAnIdentifierBelongs) {
  for (const auto& [type, field, value] :
       std::vector<std::tuple<std::string_view, std::string, std::string>>{
           {kDischarge, "gp", "rpps:" + std::string(kNir)},
           {kDischarge, "finess", kNir},
           {kDischarge, "commune", kNir},
           {kDischarge, "destination", kNir},
           {kDischarge, "needs", kNir},
           {kRegistered, "name", std::string(kNir)}}) {
    const std::string message =
        Check(type, With(type, field, field == "needs" ? json::array({value}) : json(value)));
    EXPECT_THAT(message, Not(HasSubstr("07300470"))) << field;
  }
  // The name check passes (a NIR is a valid-looking name); everything else names the field.
  EXPECT_THAT(Check(kDischarge, With(kDischarge, "finess", kNir)),
              StartsWith("data.finess: (value not shown"));
}

TEST(EncryptedIdentityRule, RejectsAnotherAlgorithm) {
  json identity = SampleIdentity();
  identity["alg"] = "aes-256-gcm";
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "identity", identity)),
            "data.identity.alg: \"aes-256-gcm\" is not one of xchacha20poly1305-ietf");
}

TEST(EncryptedIdentityRule, RejectsANonceThatIsNot24Bytes) {
  json identity = SampleIdentity();
  identity["nonce"] = "AAAAAAAAAAAAAAAAAAAAAA==";  // 16 bytes
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "identity", identity)),
            "data.identity.nonce: is not the base64 of 24 bytes (an XChaCha20 nonce)");
}

TEST(EncryptedIdentityRule, RejectsACiphertextThatIsNotBase64) {
  json identity = SampleIdentity();
  identity["ciphertext"] = "Jean Dupont, 06 12 34 56 78";
  EXPECT_THAT(Check(kDischarge, With(kDischarge, "identity", identity)),
              StartsWith("data.identity.ciphertext: is not the base64 of an AEAD ciphertext"));
}

TEST(EncryptedIdentityRule, ReadsBase64ExactlyAsLibsodiumDoes) {
  // The check counts bytes without decoding; what it accepts, and the size, must be what
  // sodium_base642bin (standard alphabet, padding, nothing ignored) gives.
  const auto sodium_size = [](const std::string& text) -> std::optional<size_t> {
    std::string bytes(text.size(), '\0');
    size_t size = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                          text.data(), text.size(), nullptr, &size, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size()) {
      return std::nullopt;
    }
    return size;
  };
  std::vector<std::string> texts = {"", "=", "==", "A", "AA", "AA=", "AA==", "AA===", "AAA",
                                    "AAA=", "AAA==", "AAAA", "AAAA=", "AB==", "AQ==", "AAB=",
                                    "AAE=", "A=AA", "AA==AAAA", " AAAA", "AAAA ", "AA\n==",
                                    "-_AA", "+/AA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
  // Every byte at every place of a short text, cut where padding goes. Bytes from 0x80 up come
  // as "é" (0xc3 0xa9): strings must be valid UTF-8 before their base64 is looked at.
  for (int byte = 1; byte < 0x80; ++byte) {
    for (size_t at = 0; at < 4; ++at) {
      std::string text = "QUJD";  // "ABC"
      text[at] = static_cast<char>(byte);
      texts.push_back(text);
      texts.push_back(text.substr(0, 2) + "==");
      texts.push_back(text.substr(0, 3) + "=");
    }
  }
  for (const char* text : {"éJD", "QéD", "QUé", "é==", "Qé=", "QUJDéé==", "éé", "ééé="}) {
    texts.push_back(text);
  }
  for (const std::string& text : texts) {
    json identity = SampleIdentity();
    identity["ciphertext"] = text + std::string(24, 'A');  // 18 more bytes, past the tag size
    const bool accepted = Check(kDischarge, With(kDischarge, "identity", identity)) == "ok";
    const auto expected = sodium_size(text + std::string(24, 'A'));
    EXPECT_EQ(accepted, expected.has_value() && *expected >= 16) << "[" << text << "]";
    identity = SampleIdentity();
    identity["nonce"] = text;
    const bool nonce_accepted = Check(kDischarge, With(kDischarge, "identity", identity)) == "ok";
    EXPECT_EQ(nonce_accepted, sodium_size(text) == std::optional<size_t>(24)) << "[" << text << "]";
  }
}

TEST(EncryptedIdentityRule, RejectsAClearTextField) {
  json identity = SampleIdentity();
  identity["name"] = "Jean Dupont";
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "identity", identity)),
            "data.identity.name: unknown field (known fields: alg, key_id, nonce, ciphertext)");
}

TEST(ObjectListRule, RejectsAnEmptyList) {
  EXPECT_EQ(Check(kCampaign, With(kCampaign, "sites", json::array())),
            "data.sites: must not be empty");
}

TEST(ObjectListRule, NamesANestedFieldByItsPath) {
  json data = SampleData(kCampaign);
  data["sites"][1]["commune"] = "2C004";
  EXPECT_THAT(Check(kCampaign, data),
              StartsWith("data.sites[1].commune: \"2C004\" is not an INSEE commune code"));
}

TEST(ObjectListRule, RejectsARepeatedUniqueKey) {
  json data = SampleData(kCampaign);
  data["sites"][1]["site_id"] = "S1";
  EXPECT_EQ(Check(kCampaign, data),
            "data.sites[1].site_id: \"S1\" is repeated (site_id must be unique)");
}

TEST(ObjectListRule, RejectsAnItemThatIsNotAnObject) {
  EXPECT_EQ(Check(kCampaign, With(kCampaign, "sites", {"S1"})),
            "data.sites[0]: expected an object, got a string");
}

// Kinds no current type uses alone still hold their rule.
TEST(StandaloneIdentifierRules, CheckRppsAndAdeliNumbers) {
  const EventTypeSpec spec = {.type = "fr.cpts.test.checked.v1",
                              .fields = {{.name = "rpps", .kind = FieldKind::kRpps},
                                         {.name = "adeli", .kind = FieldKind::kAdeli}}};
  EXPECT_TRUE(ValidateData(spec, {{"rpps", "10003456786"}, {"adeli", "123456782"}}).ok());
  EXPECT_EQ(ValidateData(spec, {{"rpps", "12345"}, {"adeli", "123456782"}}).message(),
            "data.rpps: \"12345\" is not an RPPS number (11 digits)");
  EXPECT_EQ(ValidateData(spec, {{"rpps", "10003456786"}, {"adeli", "12345678"}}).message(),
            "data.adeli: \"12345678\" is not an ADELI number (9 digits)");
}

// --- Rules across fields.

TEST(MemberJoined, RequiresAProfessionForAProfessional) {
  EXPECT_EQ(Check(kJoined, Without(kJoined, "profession")),
            "data.profession: required when member_kind is professional");
}

TEST(MemberJoined, RequiresAPracticeModeForAProfessional) {
  EXPECT_EQ(Check(kJoined, Without(kJoined, "practice_mode")),
            "data.practice_mode: required when member_kind is professional");
}

TEST(MemberJoined, RefusesAProfessionalIdentifiedByFiness) {
  EXPECT_EQ(Check(kJoined, With(kJoined, "member_id", "finess:250000015")),
            "data.member_id: a professional is identified by rpps:<11 digits> or adeli:<9 "
            "digits>");
}

json Structure(std::string_view structure_kind, std::string_view member_id) {
  return {{"member_id", member_id},
          {"member_kind", "structure"},
          {"structure_kind", structure_kind},
          {"commune", "25056"},
          {"display_name", "CHU Besançon"}};
}

TEST(MemberJoined, AcceptsAHospitalIdentifiedByFiness) {
  EXPECT_EQ(Check(kJoined, Structure("hospital", "finess:250000015")), "ok");
}

TEST(MemberJoined, RefusesAHospitalIdentifiedBySiren) {
  EXPECT_EQ(Check(kJoined, Structure("hospital", "siren:212500565")),
            "data.member_id: a hospital is identified by its FINESS number (finess:<9 "
            "characters>)");
}

TEST(MemberJoined, AcceptsALocalAuthorityIdentifiedBySiren) {
  EXPECT_EQ(Check(kJoined, Structure("local_authority", "siren:212500565")), "ok");
}

TEST(MemberJoined, RejectsASirenWithAWrongCheckDigit) {
  EXPECT_EQ(Check(kJoined, Structure("local_authority", "siren:212500566")),
            "data.member_id: \"212500566\" is not a valid SIREN number (Luhn check digit)");
}

TEST(MemberJoined, RequiresAStructureKindForAStructure) {
  json data = Structure("hospital", "finess:250000015");
  data.erase("structure_kind");
  EXPECT_EQ(Check(kJoined, data), "data.structure_kind: required when member_kind is structure");
}

TEST(MemberJoined, RefusesAProfessionOnAStructure) {
  json data = Structure("hospital", "finess:250000015");
  data["profession"] = "nurse";
  EXPECT_EQ(Check(kJoined, data), "data.profession: not allowed when member_kind is structure");
}

TEST(MemberUpdated, RequiresAtLeastOneChange) {
  EXPECT_THAT(Check("fr.cpts.membership.member_updated.v1", {{"member_id", "rpps:10003456786"}}),
              StartsWith("data: names no change"));
}

TEST(AciSigned, RequiresTheEndAfterTheStart) {
  constexpr std::string_view kType = "fr.cpts.cpts.aci_signed.v1";
  EXPECT_EQ(Check(kType, With(kType, "ends_on", "2026-04-01")),
            "data.ends_on: \"2026-04-01\" must be after starts_on \"2026-04-01\"");
}

TEST(CampaignLaunched, AcceptsAOneDayCampaign) {
  EXPECT_EQ(Check(kCampaign, With(kCampaign, "ends_on", "2026-10-01")), "ok");
}

TEST(CampaignLaunched, RequiresTheEndOnOrAfterTheStart) {
  EXPECT_EQ(Check(kCampaign, With(kCampaign, "ends_on", "2026-09-30")),
            "data.ends_on: \"2026-09-30\" must be on or after starts_on \"2026-10-01\"");
}

TEST(DischargeNotified, RefusesADestinationFinessForAHomeDischarge) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "destination_finess", "750712184")),
            "data.destination_finess: only when destination is ehpad, transfer or "
            "other_structure (destination is home)");
}

TEST(DischargeNotified, AcceptsADestinationFinessForATransfer) {
  json data = With(kDischarge, "destination", "transfer");
  data["destination_finess"] = "750712184";
  EXPECT_EQ(Check(kDischarge, data), "ok");
}

TEST(DischargeNotified, RefusesCityNeedsAfterADeath) {
  EXPECT_EQ(Check(kDischarge, With(kDischarge, "destination", "death")),
            "data.needs: must be empty when destination is death");
}

TEST(SnpRequestReceived, RefusesAnIdentityWithoutAPatient) {
  constexpr std::string_view kType = "fr.cpts.snp.request_received.v1";
  EXPECT_EQ(Check(kType, Without(kType, "patient")), "data.identity: only when patient is given");
}

TEST(ParticipationRecorded, AcceptsAnAnonymousParticipant) {
  constexpr std::string_view kType = "fr.cpts.prevention.participation_recorded.v1";
  json data = Without(kType, "participant");
  data.erase("identity");
  EXPECT_EQ(Check(kType, data), "ok");
}

// --- Derived values.

TEST(SizeCategory, FollowsTheAciBoundaries) {
  EXPECT_EQ(SizeCategory(1), 1);
  EXPECT_EQ(SizeCategory(39'999), 1);
  EXPECT_EQ(SizeCategory(40'000), 2);
  EXPECT_EQ(SizeCategory(79'999), 2);
  EXPECT_EQ(SizeCategory(80'000), 3);
  EXPECT_EQ(SizeCategory(175'000), 3);
  EXPECT_EQ(SizeCategory(175'001), 4);
  EXPECT_EQ(SizeCategory(300'000), 4);
}

TEST(AgeBand, PutsEachBoundaryInTheBandItStarts) {
  EXPECT_EQ(AgeBand(0), "0-17");
  EXPECT_EQ(AgeBand(17), "0-17");
  EXPECT_EQ(AgeBand(18), "18-39");
  EXPECT_EQ(AgeBand(39), "18-39");
  EXPECT_EQ(AgeBand(40), "40-59");
  EXPECT_EQ(AgeBand(60), "60-69");
  EXPECT_EQ(AgeBand(69), "60-69");
  EXPECT_EQ(AgeBand(70), "70-79");
  EXPECT_EQ(AgeBand(79), "70-79");
  EXPECT_EQ(AgeBand(80), "80+");
  EXPECT_EQ(AgeBand(130), "80+");
}

}  // namespace
}  // namespace cpts::events

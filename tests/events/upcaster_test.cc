#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "events/catalogue.h"
#include "events/codec.h"
#include "events/upcasters.h"
#include "tests/events/samples.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;
using testing::SampleEnvelope;
using ::testing::StartsWith;

constexpr std::string_view kV1 = "fr.cpts.access.patient_registered.v1";
constexpr std::string_view kV2 = "fr.cpts.access.patient_registered.v2";

// A v1 event as an older build stored it (ValidateEnvelope would refuse to write it today).
std::string StoredV1(int age) {
  Envelope envelope = SampleEnvelope(kV1);
  envelope.data["age"] = age;
  return Encode(envelope);
}

TEST(PatientRegisteredUpcaster, ReadsAStoredV1AsV2WithTheAgeBand) {
  const Result<DecodedEvent> decoded = Decode(StoredV1(72));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->envelope.type, kV2);
  EXPECT_EQ(decoded->envelope.data.at("age_band"), "70-79");
  EXPECT_FALSE(decoded->envelope.data.contains("age"));
}

TEST(PatientRegisteredUpcaster, KeepsEveryOtherField) {
  const Result<DecodedEvent> decoded = Decode(StoredV1(72));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->envelope.data, testing::SampleData(kV2));
}

TEST(PatientRegisteredUpcaster, DerivesEachBandFromItsBoundaryAges) {
  for (const auto& [age, band] : std::vector<std::pair<int, std::string>>{{0, "0-17"},
                                                                          {17, "0-17"},
                                                                          {18, "18-39"},
                                                                          {59, "40-59"},
                                                                          {60, "60-69"},
                                                                          {69, "60-69"},
                                                                          {70, "70-79"},
                                                                          {80, "80+"},
                                                                          {130, "80+"}}) {
    const Result<DecodedEvent> decoded = Decode(StoredV1(age));
    ASSERT_TRUE(decoded.ok()) << age;
    EXPECT_EQ(decoded->envelope.data.at("age_band"), band) << age;
  }
}

TEST(PatientRegisteredUpcaster, TellsTheReaderWhatWasStored) {
  const std::string stored = StoredV1(72);
  const Result<DecodedEvent> decoded = Decode(stored);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->upcast());
  EXPECT_EQ(decoded->stored_type, kV1);
  // The chain names the stored bytes, not the upcast envelope.
  EXPECT_EQ(decoded->hash, Sha256Hex(stored));
  EXPECT_NE(decoded->hash, EventHash(decoded->envelope));
}

TEST(PatientRegisteredUpcaster, LeavesAStoredV2Unchanged) {
  const Envelope v2 = SampleEnvelope(kV2);
  const Result<DecodedEvent> decoded = Decode(Encode(v2));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_FALSE(decoded->upcast());
  EXPECT_EQ(decoded->envelope, v2);
}

TEST(PatientRegisteredUpcaster, ValidatesTheStoredV1BeforeUpcasting) {
  EXPECT_EQ(Decode(StoredV1(-1)).status().message(),
            "fr.cpts.access.patient_registered.v1: data.age: -1 is below the minimum 0");
}

TEST(UpcastToCurrent, ReturnsCurrentDataUnchanged) {
  const json data = testing::SampleData(kV2);
  const Result<UpcastData> upcast = UpcastToCurrent(std::string(kV2), data);
  ASSERT_TRUE(upcast.ok());
  EXPECT_EQ(upcast->type, kV2);
  EXPECT_EQ(upcast->data, data);
}

TEST(UpcastToCurrent, ReportsAStepThatFailsRatherThanThrowing) {
  const Result<UpcastData> upcast = UpcastToCurrent(std::string(kV1), json::object());
  ASSERT_FALSE(upcast.ok());
  EXPECT_EQ(upcast.status().code(), StatusCode::kInternal);
}

TEST(Upcasters, LinkTypesOfTheCatalogueToTheirNextVersion) {
  for (const auto& step : Upcasters()) {
    EXPECT_NE(FindEventType(step.from_type), nullptr) << step.from_type;
    EXPECT_NE(FindEventType(step.to_type), nullptr) << step.to_type;
    const auto stem = [](std::string_view type) { return type.substr(0, type.rfind(".v")); };
    const auto version = [](std::string_view type) {
      return std::stoi(std::string(type.substr(type.rfind(".v") + 2)));
    };
    EXPECT_EQ(stem(step.from_type), stem(step.to_type));
    EXPECT_EQ(version(step.to_type), version(step.from_type) + 1) << step.from_type;
  }
}

TEST(Upcasters, LeaveNoCatalogueTypeUnreadable) {
  for (const auto& spec : EventTypes()) {
    const Result<UpcastData> upcast =
        UpcastToCurrent(std::string(spec.type), testing::SampleData(spec.type));
    ASSERT_TRUE(upcast.ok()) << spec.type << ": " << upcast.status().ToString();
    const EventTypeSpec* current = FindEventType(upcast->type);
    ASSERT_NE(current, nullptr);
    EXPECT_TRUE(ValidateData(*current, upcast->data).ok()) << spec.type;
  }
}

TEST(ValidateEnvelope, RefusesToWriteASupersededVersion) {
  EXPECT_EQ(ValidateEnvelope(SampleEnvelope(kV1)).message(),
            "attribute type: \"fr.cpts.access.patient_registered.v1\" is superseded by "
            "fr.cpts.access.patient_registered.v2: write the current version");
}

}  // namespace
}  // namespace cpts::events

// Patient-level reads (projections/patient_reads.h): one access trace per read, naming every
// patient in the answer; identities opened only for readers who may see them; erased patients
// shown as erased; a read whose trace cannot be recorded fails. Real embedded log, real RocksDB
// store, real key store.

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "connectors/embedded_key_store.h"
#include "events/identity.h"
#include "projections/access_log.h"
#include "projections/patient_reads.h"
#include "projections/read_models.h"
#include "tests/projections/projection_test_util.h"

namespace cpts::projections::testing {
namespace {

constexpr char kCpts[] = "cpts-grand-besancon";
constexpr int64_t kClock = 1'795'000'000'000;  // 2026-11-18, after every event below

const json kAlice = {{"family_name", "Quelmaroux"}, {"given_names", "Zéphirine"},
                     {"birth_date", "1941-03-02"},  {"phone", "+33 6 12 34 56 78"}};
const json kBruno = {{"family_name", "Vandoeuvre"}, {"given_names", "Bruno"},
                     {"birth_date", "1950-07-14"}};

class PatientReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.log().EnsureTopic({std::string(topics::kAccess), 4, false}).ok());
    master.fill(0x5a);
    auto opened = cpts::keys::OpenEmbeddedKeyStore(h.path("keys"), master);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    key_store = std::move(*opened);

    h.Add("fr.cpts.cpts.registered.v1", {}, "2026-01-05T08:00:00.000Z");
    h.Add("fr.cpts.membership.member_joined.v1", {{"member_id", Rpps(1)}},
          "2026-01-06T08:00:00.000Z");
    h.Add("fr.cpts.membership.member_joined.v1",
          {{"member_id", Rpps(2)}, {"profession", "nurse"}}, "2026-01-06T08:00:00.000Z");
    h.Add("fr.cpts.access.patient_registered.v2",
          {{"patient", Patient(1)}, {"identity", Seal(Patient(1), kAlice)}},
          "2026-02-01T08:00:00.000Z");
    h.Add("fr.cpts.access.patient_registered.v2",
          {{"patient", Patient(2)}, {"identity", Seal(Patient(2), kBruno)}},
          "2026-02-01T09:00:00.000Z");
    h.Add("fr.cpts.access.referral_issued.v1",
          {{"referral_id", "REF-1"}, {"patient", Patient(1)}, {"gp", Rpps(1)}, {"identity", nullptr}},
          "2026-02-02T08:00:00.000Z");
    h.Add("fr.cpts.discharge.notified.v1",
          {{"discharge_id", "DIS-1"}, {"patient", Patient(1)}, {"gp", Rpps(1)},
           {"discharged_at", "2026-03-02T10:00:00Z"}, {"identity", Seal(Patient(1), kAlice)}},
          "2026-03-02T10:05:00.000Z");
    h.Add("fr.cpts.followup.assigned.v1",
          {{"followup_id", "FU-1"}, {"discharge_id", "DIS-1"}, {"professional", Rpps(2)}},
          "2026-03-02T11:00:00.000Z");
    h.Add("fr.cpts.snp.request_received.v1",
          {{"request_id", "SNP-1"}, {"patient", Patient(2)}, {"identity", nullptr},
           {"received_at", "2026-03-03T08:00:00Z"}},
          "2026-03-03T08:00:00.000Z");
  }

  json Seal(const std::string& patient, const json& clear) {
    auto key = key_store->KeyFor(patient);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    auto sealed = events::SealIdentity(clear, patient, *key);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return *sealed;
  }

  std::vector<AccessTrace> Traces() {
    std::vector<AccessTrace> traces;
    EXPECT_TRUE(AccessLog(h.log()).Scan([&](const AccessTrace& t) {
      traces.push_back(t);
      return true;
    }).ok());
    return traces;
  }

  // Each patient-level view once, as `reader`.
  std::vector<Result<json>> ReadEveryView(const PatientReads& reads, const Reader& reader) {
    std::vector<Result<json>> answers;
    answers.push_back(reads.AccessQueue(reader, kCpts, {}));
    answers.push_back(reads.Referrals(reader, kCpts, std::nullopt, {}));
    answers.push_back(reads.Handoff(reader, kCpts, {}, kClock, {}));
    answers.push_back(reads.Worklist(reader, Rpps(2), kClock, true, {}));
    answers.push_back(reads.Snp(reader, kCpts, std::nullopt, kClock, {}));
    return answers;
  }

  History h;
  std::array<unsigned char, 32> master{};
  std::unique_ptr<cpts::keys::KeyStore> key_store;
  const Reader coordinator{.user = "coordinator:cpts-grand-besancon:claire",
                           .role = "coordinator",
                           .purpose = "suivi des sorties",
                           .show_identity = true};
};

TEST_F(PatientReadsTest, EveryPatientLevelReadLeavesExactlyOneTraceNamingItsPatients) {
  h.Project(h.Store());
  AccessLog access(h.log());
  const PatientReads reads(h.Store(), access, key_store.get());
  const char* views[] = {"access_queue", "referrals", "handoff", "worklist", "snp"};
  const std::vector<std::vector<std::string>> patients = {
      {std::min(Patient(1), Patient(2)), std::max(Patient(1), Patient(2))},  // sorted
      {Patient(1)}, {Patient(1)}, {Patient(1)}, {Patient(2)}};
  std::vector<Result<json>> answers = ReadEveryView(reads, coordinator);
  const std::vector<AccessTrace> traces = Traces();
  ASSERT_EQ(traces.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(answers[i].ok()) << answers[i].status().ToString();
    // Traces of one CPTS keep their order; the worklist's (keyed by its reader) may come first.
    const auto trace = std::find_if(traces.begin(), traces.end(),
                                    [&](const AccessTrace& t) { return t.view == views[i]; });
    ASSERT_NE(trace, traces.end()) << views[i];
    EXPECT_EQ(trace->user, coordinator.user);
    EXPECT_EQ(trace->role, "coordinator");
    EXPECT_EQ(trace->purpose, "suivi des sorties");
    EXPECT_EQ(trace->patients, patients[i]) << views[i];
    EXPECT_TRUE(trace->identities);
    EXPECT_EQ(trace->trace_id.size(), 32u);
    EXPECT_FALSE(trace->at.empty());
  }
  // Aggregates leave no trace.
  ASSERT_TRUE(ReadModels(h.Store()).Indicators(kCpts, kClock).ok());
  EXPECT_EQ(Traces().size(), 5u);
}

TEST_F(PatientReadsTest, IdentitiesOpenOnlyForReadersAllowedToSeeThem) {
  h.Project(h.Store());
  AccessLog access(h.log());
  const PatientReads reads(h.Store(), access, key_store.get());
  json queue = *reads.AccessQueue(coordinator, kCpts, {});
  ASSERT_EQ(queue["items"].size(), 2u);
  for (const json& item : queue["items"]) {
    EXPECT_EQ(item["identity_status"], "open");
    EXPECT_EQ(item["identity"], item["patient"] == Patient(1) ? kAlice : kBruno);
  }
  Reader auditor{.user = "auditor:ars-bfc", .role = "auditor", .purpose = "contrôle"};
  queue = *reads.AccessQueue(auditor, kCpts, {});
  for (const json& item : queue["items"]) {
    EXPECT_EQ(item["identity_status"], "sealed");
    EXPECT_FALSE(item.contains("identity"));
  }
  // The handoff's patient has the identity of her discharge (the latest block).
  const json handoff = *reads.Handoff(coordinator, kCpts, {}, kClock, {});
  EXPECT_EQ(handoff["items"][0]["identity"], kAlice);
  // A referral was sent without identity: the patient's registration still names her.
  const json referrals = *reads.Referrals(coordinator, kCpts, std::nullopt, {});
  EXPECT_EQ(referrals["items"][0]["identity"], kAlice);
}

TEST_F(PatientReadsTest, ErasedPatientIsShownErasedAndNoRowKeepsHerSealedIdentity) {
  ASSERT_TRUE(key_store->Destroy(Patient(1)).ok());
  h.Add("fr.cpts.patient.erased.v1", {{"patient", Patient(1)}, {"basis", "erasure_request"}},
        "2026-03-04T08:00:00.000Z");
  h.Project(h.Store());
  AccessLog access(h.log());
  const PatientReads reads(h.Store(), access, key_store.get());
  for (Result<json>& answer : ReadEveryView(reads, coordinator)) {
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    for (const json& item : (*answer)["items"]) {
      if (item["patient"] == Patient(1)) {
        EXPECT_EQ(item["identity_status"], "erased");
        EXPECT_FALSE(item.contains("identity"));
      }
      if (item.value("patient", "") == Patient(2)) {
        EXPECT_EQ(item["identity"], kBruno);
      }
    }
  }
  // The identity row keeps the fact only; no other row ever held the sealed block.
  const auto snapshot = h.Store().Snapshot();
  const auto row = snapshot->Get(keys::Key({rows::kIdentity, kCpts, Patient(1)}));
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((**row)["erased"], true);
  EXPECT_FALSE((**row).contains("sealed"));
  size_t sealed_rows = 0;
  ASSERT_TRUE(snapshot->ScanKeys("", [&](std::string_view key, std::string_view value) {
    if (value.find("ciphertext") != std::string_view::npos) {
      ++sealed_rows;
      EXPECT_EQ(keys::Split(key)[0], rows::kIdentity) << "a sealed identity outside its row";
    }
    return true;
  }).ok());
  EXPECT_EQ(sealed_rows, 1u);  // Bruno's
}

TEST_F(PatientReadsTest, KeyDestroyedWithoutItsErasureEventStillHidesTheIdentity) {
  h.Project(h.Store());
  ASSERT_TRUE(key_store->Destroy(Patient(2)).ok());
  AccessLog access(h.log());
  const PatientReads reads(h.Store(), access, key_store.get());
  const json snp = *reads.Snp(coordinator, kCpts, std::nullopt, kClock, {});
  EXPECT_EQ(snp["items"][0]["identity_status"], "erased");
}

TEST_F(PatientReadsTest, AReadWhoseTraceCannotBeRecordedFailsAndReturnsNothing) {
  h.Project(h.Store());
  History other;  // its log has no access topic: every trace append fails
  AccessLog broken(other.log());
  const PatientReads reads(h.Store(), broken, key_store.get());
  for (Result<json>& answer : ReadEveryView(reads, coordinator)) {
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(answer.status().message().find("access trace"), std::string::npos);
  }
}

TEST_F(PatientReadsTest, AReaderMustSayWhoAndWhy) {
  h.Project(h.Store());
  AccessLog access(h.log());
  const PatientReads reads(h.Store(), access, key_store.get());
  Reader anonymous = coordinator;
  anonymous.purpose.clear();
  Result<json> answer = reads.Handoff(anonymous, kCpts, {}, kClock, {});
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.status().message().find("purpose"), std::string::npos);
  EXPECT_TRUE(Traces().empty());
}

}  // namespace
}  // namespace cpts::projections::testing

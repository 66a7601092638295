#include "tests/events/samples.h"

#include <map>

namespace cpts::events::testing {

using json = ::cpts::Json;

std::string SamplePseudonym(int n) { return Sha256Hex("patient-" + std::to_string(n)); }

json SampleIdentity() {
  return {{"alg", "xchacha20poly1305-ietf"},
          {"key_id", "patient-key-1"},
          {"nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},  // 24 bytes
          {"ciphertext", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw=="}};
}

json SampleData(std::string_view type) {
  const std::string gp(kSampleGp);
  const std::string nurse(kSampleNurse);
  const std::string patient = SamplePseudonym(1);
  const std::string commune(kSampleCommune);
  const std::map<std::string_view, json> samples = {
      {"fr.cpts.cpts.registered.v1",
       {{"name", "CPTS du Grand Besançon"},
        {"territory", {"25056", "25031", "25212"}},
        {"population", 195000},
        {"region", "27"}}},
      {"fr.cpts.cpts.aci_signed.v1",
       {{"signed_on", "2026-03-02"},
        {"starts_on", "2026-04-01"},
        {"ends_on", "2031-03-31"},
        {"cpam_signatory", "CPAM du Doubs"},
        {"ars_signatory", "ARS Bourgogne-Franche-Comté"}}},
      {"fr.cpts.membership.member_joined.v1",
       {{"member_id", gp},
        {"member_kind", "professional"},
        {"profession", "general_practitioner"},
        {"practice_mode", "maison_de_sante"},
        {"commune", commune},
        {"college", "Professionnels de santé libéraux"},
        {"display_name", "Dr Alice Martin"}}},
      {"fr.cpts.membership.member_left.v1", {{"member_id", gp}, {"reason", "retirement"}}},
      {"fr.cpts.membership.member_updated.v1", {{"member_id", gp}, {"practice_mode", "group"}}},
      {"fr.cpts.access.gp_capacity_declared.v1", {{"gp", gp}, {"new_patients_capacity", 15}}},
      {"fr.cpts.access.patient_registered.v1",
       {{"patient", patient},
        {"age", 72},
        {"ald", true},
        {"c2s", false},
        {"commune", commune},
        {"registered_at", "2026-11-22T09:30:00+01:00"},
        {"identity", SampleIdentity()}}},
      {"fr.cpts.access.patient_registered.v2",
       {{"patient", patient},
        {"age_band", "70-79"},
        {"ald", true},
        {"c2s", false},
        {"commune", commune},
        {"registered_at", "2026-11-22T09:30:00+01:00"},
        {"identity", SampleIdentity()}}},
      {"fr.cpts.access.referral_issued.v1",
       {{"referral_id", "REF-0001"},
        {"patient", patient},
        {"gp", gp},
        {"identity", SampleIdentity()}}},
      {"fr.cpts.access.referral_accepted.v1",
       {{"referral_id", "REF-0001"}, {"patient", patient}, {"gp", gp}}},
      {"fr.cpts.access.referral_declined.v1",
       {{"referral_id", "REF-0001"},
        {"patient", patient},
        {"gp", gp},
        {"reason", "no_capacity"},
        {"note", "No capacity before March."}}},
      {"fr.cpts.access.gp_assigned.v1",
       {{"patient", patient}, {"gp", gp}, {"referral_id", "REF-0001"}}},
      {"fr.cpts.access.request_withdrawn.v1",
       {{"patient", patient}, {"reason", "found_gp_elsewhere"}}},
      {"fr.cpts.stay.admission_notified.v1",
       {{"finess", kSampleHospital},
        {"movement_id", "MVT-1001"},
        {"visit_id", "VIS-2001"},
        {"patient", patient},
        {"unit", "CARDIO"},
        {"admitted_at", "2026-11-18T10:12:00+01:00"},
        {"commune", commune},
        {"identity", SampleIdentity()}}},
      {"fr.cpts.discharge.notified.v1",
       {{"discharge_id", "DIS-3001"},
        {"finess", kSampleHospital},
        {"movement_id", "MVT-1002"},
        {"visit_id", "VIS-2001"},
        {"patient", patient},
        {"unit", "CARDIO"},
        {"discharged_at", "2026-11-22T16:05:00+01:00"},
        {"destination", "home"},
        {"circumstance", "medical advice"},
        {"exit_mode", "8"},
        {"gp", gp},
        {"needs", {"home_nursing", "gp_visit"}},
        {"commune", commune},
        {"identity", SampleIdentity()}}},
      {"fr.cpts.discharge.cancelled.v1",
       {{"discharge_id", "DIS-3001"},
        {"movement_id", "MVT-1002"},
        {"reason", "A13: the hospital cancelled the discharge"}}},
      {"fr.cpts.followup.assigned.v1",
       {{"followup_id", "FU-4001"},
        {"discharge_id", "DIS-3001"},
        {"professional", nurse},
        {"need", "home_nursing"}}},
      {"fr.cpts.followup.acknowledged.v1", {{"followup_id", "FU-4001"}, {"professional", nurse}}},
      {"fr.cpts.followup.completed.v1",
       {{"followup_id", "FU-4001"},
        {"professional", nurse},
        {"visited_at", "2026-11-24T09:00:00+01:00"}}},
      {"fr.cpts.snp.request_received.v1",
       {{"request_id", "SNP-5001"},
        {"patient", patient},
        {"received_at", "2026-11-22T08:00:00+01:00"},
        {"motive", "fever for two days"},
        {"commune", commune},
        {"identity", SampleIdentity()}}},
      {"fr.cpts.snp.slot_offered.v1",
       {{"request_id", "SNP-5001"},
        {"professional", gp},
        {"slot_at", "2026-11-22T17:30:00+01:00"}}},
      {"fr.cpts.snp.care_given.v1",
       {{"request_id", "SNP-5001"},
        {"professional", gp},
        {"given_at", "2026-11-22T17:40:00+01:00"}}},
      {"fr.cpts.snp.request_redirected.v1",
       {{"request_id", "SNP-5001"},
        {"redirected_to", "sos_medecins"},
        {"redirected_at", "2026-11-22T08:20:00+01:00"},
        {"note", "No slot before the evening."}}},
      {"fr.cpts.prevention.campaign_launched.v1",
       {{"campaign_id", "CAMP-2026-OR"},
        {"theme", "breast_cancer"},
        {"title", "Octobre rose 2026"},
        {"target_population", 12000},
        {"sites",
         {{{"site_id", "S1"}, {"name", "Maison de santé de Planoise"}, {"commune", "25056"}},
          {{"site_id", "S2"}, {"name", "Pharmacie de Saint-Vit"}, {"commune", "25527"}}}},
        {"partners", {"CPAM du Doubs", "Ligue contre le cancer"}},
        {"starts_on", "2026-10-01"},
        {"ends_on", "2026-10-31"}}},
      {"fr.cpts.prevention.participation_recorded.v1",
       {{"campaign_id", "CAMP-2026-OR"},
        {"site_id", "S1"},
        {"professional", gp},
        {"participant", SamplePseudonym(2)},
        {"participated_at", "2026-10-12T11:00:00+02:00"},
        {"identity", SampleIdentity()}}},
      {"fr.cpts.prevention.campaign_closed.v1", {{"campaign_id", "CAMP-2026-OR"}}},
      {"fr.cpts.patient.erased.v1", {{"patient", patient}, {"basis", "erasure_request"}}},
      {"fr.cpts.command.rejected.v1",
       {{"command_id", "cmd-42"},
        {"command_type", "access.issue_referral"},
        {"code", "gp_at_capacity"},
        {"reason", "Dr Alice Martin has no capacity left for new patients."}}},
  };
  const auto it = samples.find(type);
  return it == samples.end() ? json() : it->second;
}

Envelope SampleEnvelope(std::string_view type, uint64_t sequence, std::string_view prevhash) {
  Envelope e;
  e.cptsid = std::string(kSampleCptsId);
  e.sequence = Sequence(sequence);
  e.source = "/cpts/" + e.cptsid;
  e.type = std::string(type);
  e.time = "2026-11-22T15:05:00.123Z";
  e.subject = "sample/1";
  e.prevhash = std::string(prevhash);
  e.causationid = "cmd-" + std::to_string(sequence);
  e.correlationid = "cmd-" + std::to_string(sequence);
  e.id = DeterministicEventId(e.cptsid, e.sequence, e.causationid);
  e.actor = "user:coordinator";
  e.data = SampleData(type);
  return e;
}

}  // namespace cpts::events::testing

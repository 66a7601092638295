#pragma once
// Valid sample events for tests: data for every catalogue type, and an envelope around it.
// Later tests (deciders, projections) build on these rather than repeating the catalogue's rules.
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>

#include "events/envelope.h"
#include "events/json.h"

namespace cpts::events::testing {

inline constexpr std::string_view kSampleCptsId = "cpts-grand-besancon";
inline constexpr std::string_view kSampleGp = "rpps:10003456786";
inline constexpr std::string_view kSampleNurse = "rpps:10100000008";
inline constexpr std::string_view kSampleHospital = "250000015";  // a FINESS number
inline constexpr std::string_view kSampleCommune = "25056";       // Besançon

// A valid patient pseudonym, distinct for each n (the SHA-256 of "patient-<n>").
std::string SamplePseudonym(int n);

// A well-formed encrypted identity block (its bytes decrypt to nothing: zeros).
::cpts::Json SampleIdentity();

// Valid data for `type`, with most optional fields filled; null for a type the catalogue lacks.
::cpts::Json SampleData(std::string_view type);

// A valid envelope of `type` carrying SampleData(type), at `sequence` of kSampleCptsId's stream.
Envelope SampleEnvelope(std::string_view type, uint64_t sequence = 1,
                        std::string_view prevhash = kGenesisHash);

}  // namespace cpts::events::testing

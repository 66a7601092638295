#pragma once
// Upcasters: how an event stored under an older type version is read as the current one.
// Stored events are never rewritten (the hash chain covers their bytes); they are upcast each
// time they are read, by a chain of steps vN -> vN+1 until the current version.
//
// Contract:
//   - A step receives data already valid for its from_type (the codec validates before
//     upcasting) and returns data valid for its to_type (the codec validates again after).
//   - Steps are pure, total and deterministic: replaying the log twice gives the same events.
//   - A type is current when no step starts from it; writers only write current types.
// Thread-safety: the registry is immutable; every function here is pure.

#include <string>
#include <string_view>
#include <vector>

#include "events/json.h"
#include "events/status.h"

namespace cpts::events {

struct Upcaster {
  std::string_view from_type;  // e.g. "fr.cpts.access.patient_registered.v1"
  std::string_view to_type;    // the next version: "fr.cpts.access.patient_registered.v2"
  ::cpts::Json (*upcast)(::cpts::Json data);
};

// Every registered step.
const std::vector<Upcaster>& Upcasters();

// The step that starts from `type`, or null when `type` is current (or unknown).
const Upcaster* FindUpcaster(std::string_view type);

struct UpcastData {
  std::string type;     // the current type
  ::cpts::Json data;    // the data as the current type carries it
};

// Applies steps from `type` until the current version; returns the input unchanged when `type`
// is current. Fails (Internal) only on a broken registry or step: a cycle, or a step throwing.
Result<UpcastData> UpcastToCurrent(std::string type, ::cpts::Json data);

}  // namespace cpts::events

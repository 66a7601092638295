#include "events/upcasters.h"

#include <utility>

#include "events/catalogue.h"

namespace cpts::events {
namespace {

// v2 carries an age band instead of the exact age: the access mission only needs the priority
// group (70 and over), and an exact age narrows down who the pseudonym is.
::cpts::Json PatientRegisteredV1ToV2(::cpts::Json data) {
  const int64_t age = data.at("age").get<int64_t>();
  data.erase("age");
  data["age_band"] = std::string(AgeBand(age));
  return data;
}

}  // namespace

const std::vector<Upcaster>& Upcasters() {
  static const auto* const kUpcasters = new std::vector<Upcaster>{
      {.from_type = "fr.cpts.access.patient_registered.v1",
       .to_type = "fr.cpts.access.patient_registered.v2",
       .upcast = &PatientRegisteredV1ToV2},
  };
  return *kUpcasters;
}

const Upcaster* FindUpcaster(std::string_view type) {
  for (const auto& upcaster : Upcasters()) {
    if (upcaster.from_type == type) return &upcaster;
  }
  return nullptr;
}

Result<UpcastData> UpcastToCurrent(std::string type, ::cpts::Json data) {
  // A chain longer than the registry would revisit a step: the registry has a cycle.
  for (size_t steps = 0; steps <= Upcasters().size(); ++steps) {
    const Upcaster* step = FindUpcaster(type);
    if (step == nullptr) return UpcastData{std::move(type), std::move(data)};
    try {
      data = step->upcast(std::move(data));
    } catch (const ::cpts::Json::exception& e) {
      return Status::Internal("upcasting " + type + " to " + std::string(step->to_type) + ": " +
                              e.what());
    }
    type = std::string(step->to_type);
  }
  return Status::Internal("the upcasters from " + type + " form a cycle");
}

}  // namespace cpts::events

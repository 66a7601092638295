// Health data: a patient's erasure (ARCHITECTURE.md, 7).
#include "aggregates/internal.h"

namespace cpts::aggregates::internal {
namespace {

// The key is destroyed at the edge before the command is sent (connectors/patient_edge.h), so
// the erasure has already taken effect; the event records it in the CPTS's history, without
// personal data. Erasing twice is harmless and recorded twice: each request is a fact.
Decision Erase(const Context& ctx) { return Accept(ctx, ctx.data, std::nullopt); }

// The deciders keep no identity, so there is nothing to forget: a patient's open request or
// discharge goes on under their pseudonym, only their identity is gone.
void Erased(CptsState&, const json&) {}

}  // namespace

std::vector<CommandHandler> PatientCommands() { return {{.type = "patient.erase", .decide = &Erase}}; }

std::vector<EventHandler> PatientEvents() { return {{"fr.cpts.patient.erased.v1", &Erased}}; }

}  // namespace cpts::aggregates::internal

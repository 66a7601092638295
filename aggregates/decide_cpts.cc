// The CPTS itself: its registration and its ACI contract.
#include "aggregates/internal.h"

namespace cpts::aggregates::internal {
namespace {

Decision Register(const Context& ctx) {
  if (ctx.state.registered) {
    return Reject("already_registered", "The CPTS " + ctx.command.cptsid +
                                            " is already registered, as \"" + ctx.state.name +
                                            "\".");
  }
  return Accept(ctx, ctx.data, std::nullopt);
}

// A contract is signed for five years and then renewed: each signing is a new fact.
Decision SignAci(const Context& ctx) { return Accept(ctx, ctx.data, std::nullopt); }

void Registered(CptsState& state, const json& data) {
  state.registered = true;
  state.name = Str(data, "name");
  state.territory.clear();
  if (const auto it = data.find("territory"); it != data.end() && it->is_array()) {
    for (const json& commune : *it) {
      if (commune.is_string()) state.territory.push_back(commune.get<std::string>());
    }
  }
  state.population = Int(data, "population");
  state.region = Str(data, "region");
}

void AciSigned(CptsState& state, const json& data) {
  state.aci = Aci{.signed_on = Str(data, "signed_on"),
                  .starts_on = Str(data, "starts_on"),
                  .ends_on = Str(data, "ends_on")};
}

}  // namespace

std::vector<CommandHandler> CptsCommands() {
  return {{.type = "cpts.register", .decide = &Register},
          {.type = "cpts.sign_aci", .decide = &SignAci}};
}

std::vector<EventHandler> CptsEvents() {
  return {{"fr.cpts.cpts.registered.v1", &Registered}, {"fr.cpts.cpts.aci_signed.v1", &AciSigned}};
}

}  // namespace cpts::aggregates::internal

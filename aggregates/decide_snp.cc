// Unscheduled care (soins non programmés): a request, slots offered by members, then care given
// or a redirection, either of which closes the request.
#include "aggregates/internal.h"

namespace cpts::aggregates::internal {
namespace {

Decision ReceiveRequest(const Context& ctx) {
  const std::string id = Str(ctx.data, "request_id");
  if (ctx.state.snp_requests.contains(id)) {
    return Reject("duplicate_request", "Request " + id + " already exists.");
  }
  return Accept(ctx, ctx.data, Subject("snp", id));
}

// The request must be known and open; `by_member` also checks data.professional is a member.
std::optional<Rejection> CheckOpen(const Context& ctx, bool by_member) {
  const std::string id = Str(ctx.data, "request_id");
  const auto request = ctx.state.snp_requests.find(id);
  if (request == ctx.state.snp_requests.end()) {
    return Rejection{"unknown_request", "Request " + id + " is unknown."};
  }
  if (!request->second.open) {
    return Rejection{"request_closed",
                     "Request " + id + " is closed: care was given or it was redirected."};
  }
  const std::string professional = Str(ctx.data, "professional");
  if (by_member && FindMember(ctx.state, professional) == nullptr) {
    return Rejection{"not_a_member",
                     professional + " is not a member of the CPTS " + ctx.command.cptsid + "."};
  }
  return std::nullopt;
}

Decision OfferSlot(const Context& ctx) {
  if (auto rejection = CheckOpen(ctx, /*by_member=*/true)) return {.rejection = rejection};
  return Accept(ctx, ctx.data, Subject("snp", Str(ctx.data, "request_id")));
}

Decision GiveCare(const Context& ctx) {
  if (auto rejection = CheckOpen(ctx, /*by_member=*/true)) return {.rejection = rejection};
  return Accept(ctx, ctx.data, Subject("snp", Str(ctx.data, "request_id")));
}

Decision Redirect(const Context& ctx) {
  if (auto rejection = CheckOpen(ctx, /*by_member=*/false)) return {.rejection = rejection};
  return Accept(ctx, ctx.data, Subject("snp", Str(ctx.data, "request_id")));
}

void RequestReceived(CptsState& state, const json& data) {
  state.snp_requests.try_emplace(Str(data, "request_id"));
}

void CloseRequest(CptsState& state, const json& data) {
  const auto request = state.snp_requests.find(Str(data, "request_id"));
  if (request != state.snp_requests.end()) request->second.open = false;
}

}  // namespace

std::vector<CommandHandler> SnpCommands() {
  const auto data_professional = [](const Context& ctx) -> std::optional<std::string> {
    return Str(ctx.data, "professional");
  };
  return {
      {.type = "snp.receive_request", .decide = &ReceiveRequest},
      {.type = "snp.offer_slot",
       .delegate = Role::kProfessional,
       .delegate_who = "the professional named by data.professional",
       .owner = data_professional,
       .decide = &OfferSlot},
      {.type = "snp.give_care",
       .delegate = Role::kProfessional,
       .delegate_who = "the professional named by data.professional",
       .owner = data_professional,
       .decide = &GiveCare},
      {.type = "snp.redirect", .decide = &Redirect},
  };
}

// A slot offered changes nothing the rules read.
std::vector<EventHandler> SnpEvents() {
  return {
      {"fr.cpts.snp.request_received.v1", &RequestReceived},
      {"fr.cpts.snp.care_given.v1", &CloseRequest},
      {"fr.cpts.snp.request_redirected.v1", &CloseRequest},
  };
}

}  // namespace cpts::aggregates::internal

// Membership. A CPTS cannot refuse a professional's adhesion (CSP L1434-12): a valid join is
// always accepted, and a member may leave at any time.
#include "aggregates/internal.h"

namespace cpts::aggregates::internal {
namespace {

Decision Join(const Context& ctx) {
  const std::string member_id = Str(ctx.data, "member_id");
  // Joining again while a member changes nothing; details change through membership.update.
  if (FindMember(ctx.state, member_id) != nullptr) return Nothing();
  return Accept(ctx, ctx.data, Subject("member", member_id));
}

std::optional<Rejection> CheckMember(const Context& ctx, const std::string& member_id) {
  if (FindMember(ctx.state, member_id) != nullptr) return std::nullopt;
  return Rejection{"not_a_member",
                   member_id + " is not a member of the CPTS " + ctx.command.cptsid + "."};
}

Decision Leave(const Context& ctx) {
  const std::string member_id = Str(ctx.data, "member_id");
  if (auto rejection = CheckMember(ctx, member_id)) return {.rejection = rejection};
  return Accept(ctx, ctx.data, Subject("member", member_id));
}

Decision Update(const Context& ctx) {
  const std::string member_id = Str(ctx.data, "member_id");
  if (auto rejection = CheckMember(ctx, member_id)) return {.rejection = rejection};
  return Accept(ctx, ctx.data, Subject("member", member_id));
}

void Joined(CptsState& state, const json& data) {
  state.members[Str(data, "member_id")] = Member{.kind = Str(data, "member_kind"),
                                                 .profession = Str(data, "profession"),
                                                 .display_name = Str(data, "display_name")};
}

// A member who leaves takes their declared capacity along: joining again starts afresh.
void Left(CptsState& state, const json& data) { state.members.erase(Str(data, "member_id")); }

void Updated(CptsState& state, const json& data) {
  const auto it = state.members.find(Str(data, "member_id"));
  if (it == state.members.end() || !Has(data, "display_name")) return;
  it->second.display_name = Str(data, "display_name");
}

}  // namespace

std::vector<CommandHandler> MembershipCommands() {
  return {{.type = "membership.join", .decide = &Join},
          {.type = "membership.leave", .decide = &Leave},
          {.type = "membership.update", .decide = &Update}};
}

std::vector<EventHandler> MembershipEvents() {
  return {{"fr.cpts.membership.member_joined.v1", &Joined},
          {"fr.cpts.membership.member_left.v1", &Left},
          {"fr.cpts.membership.member_updated.v1", &Updated}};
}

}  // namespace cpts::aggregates::internal

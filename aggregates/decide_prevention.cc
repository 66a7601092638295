// Prevention campaigns: launched with their sites, participations recorded at a site while the
// campaign is open, then closed.
#include <algorithm>

#include "aggregates/internal.h"

namespace cpts::aggregates::internal {
namespace {

const Campaign* FindCampaign(const Context& ctx) {
  const auto it = ctx.state.campaigns.find(Str(ctx.data, "campaign_id"));
  return it == ctx.state.campaigns.end() ? nullptr : &it->second;
}

Decision UnknownCampaign(const std::string& id) {
  return Reject("unknown_campaign", "Campaign " + id + " is unknown.");
}

Decision Launch(const Context& ctx) {
  const std::string id = Str(ctx.data, "campaign_id");
  if (ctx.state.campaigns.contains(id)) {
    return Reject("duplicate_campaign", "Campaign " + id + " already exists.");
  }
  return Accept(ctx, ctx.data, Subject("campaign", id));
}

// Dates are not checked against the campaign's: paper forms are entered after it ends, and the
// coordinator closes the campaign when the last one is in.
Decision RecordParticipation(const Context& ctx) {
  const std::string id = Str(ctx.data, "campaign_id");
  const Campaign* campaign = FindCampaign(ctx);
  if (campaign == nullptr) return UnknownCampaign(id);
  if (campaign->closed) {
    return Reject("campaign_closed", "Campaign " + id + " is closed: it takes no participations.");
  }
  const std::string site = Str(ctx.data, "site_id");
  if (std::find(campaign->sites.begin(), campaign->sites.end(), site) == campaign->sites.end()) {
    return Reject("unknown_site", "Site " + site + " is not a site of campaign " + id + ".");
  }
  // A professional recording a participation acts for the CPTS: only a member may.
  if (const auto professional = Str(ctx.data, "professional");
      !professional.empty() && FindMember(ctx.state, professional) == nullptr) {
    return Reject("not_a_member",
                  professional + " is not a member of the CPTS " + ctx.command.cptsid + ".");
  }
  return Accept(ctx, ctx.data, Subject("campaign", id));
}

Decision Close(const Context& ctx) {
  const std::string id = Str(ctx.data, "campaign_id");
  const Campaign* campaign = FindCampaign(ctx);
  if (campaign == nullptr) return UnknownCampaign(id);
  if (campaign->closed) return Nothing();
  return Accept(ctx, ctx.data, Subject("campaign", id));
}

void Launched(CptsState& state, const json& data) {
  Campaign campaign;
  if (const auto sites = data.find("sites"); sites != data.end() && sites->is_array()) {
    for (const json& site : *sites) campaign.sites.push_back(Str(site, "site_id"));
  }
  state.campaigns.try_emplace(Str(data, "campaign_id"), std::move(campaign));
}

void Closed(CptsState& state, const json& data) {
  const auto campaign = state.campaigns.find(Str(data, "campaign_id"));
  if (campaign != state.campaigns.end()) campaign->second.closed = true;
}

}  // namespace

std::vector<CommandHandler> PreventionCommands() {
  return {
      {.type = "prevention.launch_campaign", .decide = &Launch},
      {.type = "prevention.record_participation",
       .delegate = Role::kProfessional,
       .delegate_who = "the professional named by data.professional",
       // Absent, it names nobody: an anonymous participation is the coordinator's to record.
       .owner = [](const Context& ctx) -> std::optional<std::string> {
         return Str(ctx.data, "professional");
       },
       .decide = &RecordParticipation},
      {.type = "prevention.close_campaign", .decide = &Close},
  };
}

// A participation changes nothing the rules read.
std::vector<EventHandler> PreventionEvents() {
  return {
      {"fr.cpts.prevention.campaign_launched.v1", &Launched},
      {"fr.cpts.prevention.campaign_closed.v1", &Closed},
  };
}

}  // namespace cpts::aggregates::internal

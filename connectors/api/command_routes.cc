#include "connectors/api/command_routes.h"

#include <sodium.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "aggregates/command.h"
#include "events/encoding.h"
#include "events/envelope.h"
#include "events/topics.h"
#include "projections/clock.h"
#include "projections/queries.h"
#include "projections/read_models.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;
using Clock = std::chrono::steady_clock;

// How often a waiting POST asks the log for the deciders' progress: an unchanged command writes
// no event, so no commit of the read models wakes its waiter.
constexpr std::chrono::milliseconds kProgressPoll{50};

// Commands whose request this process took, remembered for a reused Idempotency-Key (the body's
// hash) and for GET of a command decided with nothing to record (its place on the commands
// topic). Bounded: the oldest are forgotten first.
constexpr size_t kRememberedCommands = 10'000;

}  // namespace

// The rejection codes of the deciders (aggregates/decide*.cc, command_processor.cc) and their
// HTTP status. 409: the command is sound but the CPTS's current state is against it (it was
// done already, its id is taken, the thing is closed or has no room left): retrying the same
// command will not help, looking at the state will. 422: the command names something that does
// not exist in this CPTS, or asks for a step this state does not allow yet: the request itself
// must change.
const std::map<std::string, int, std::less<>>& RejectionHttpStatuses() {
  static const auto* const kTable = new std::map<std::string, int, std::less<>>{
      // Already done: the same fact again under another id.
      {"already_registered", 409},
      {"already_acknowledged", 409},
      {"already_completed", 409},
      // An id used before (a different fact under a taken id).
      {"duplicate_campaign", 409},
      {"duplicate_discharge", 409},
      {"duplicate_followup", 409},
      {"duplicate_referral", 409},
      {"duplicate_request", 409},
      // The state is busy or closed for it.
      {"request_already_open", 409},
      {"referral_pending", 409},
      {"referral_not_pending", 409},
      {"gp_at_capacity", 409},
      {"campaign_closed", 409},
      {"request_closed", 409},
      {"discharge_cancelled", 409},
      {"followup_voided", 409},
      // Names something this CPTS does not have.
      {"unknown_cpts", 422},
      {"unknown_referral", 422},
      {"unknown_discharge", 422},
      {"unknown_followup", 422},
      {"unknown_request", 422},
      {"unknown_campaign", 422},
      {"unknown_site", 422},
      {"not_a_member", 422},
      {"not_a_gp_member", 422},
      {"no_open_request", 422},
      // Not allowed in this state, or inconsistent with what it names.
      {"movement_mismatch", 422},
      {"referral_not_accepted", 422},
      {"not_acknowledged", 422},
      // What DecodeCommand refuses first; the processor's own refusals of a bad record.
      {"unknown_command", 422},
      {"malformed_command", 422},
      {"misrouted_command", 422},
      // Who: the decider's final word on the sender (AuthorizeCommand refused what it could).
      {"forbidden", 403},
      // A decider produced an event that does not validate: our bug, not the caller's.
      {"invalid_outcome", 500},
  };
  return *kTable;
}

namespace {

std::string Sha256Hex(std::string_view text) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return events::ToHex(hash, sizeof hash);
}

// The Idempotency-Key rule: 1-128 visible ASCII characters.
bool IsIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// The command id rule (docs/commands.md): 1-100 letters, digits, '.', '_', ':', '-'.
bool IsCommandId(std::string_view id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The body's field a refusal names: DecodeCommand and PatientEdge messages read
// "[<type>: ]data.<path>: what"; an attribute we filled from the path is the path's.
std::string FieldOf(std::string_view type, std::string_view message) {
  const std::string prefix = std::string(type) + ": ";
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  if (message.starts_with("attribute cptsid")) return "path.cpts";
  if (message.starts_with("data") &&
      (message.size() == 4 || message[4] == '.' || message[4] == '[' || message[4] == ':')) {
    const size_t end = message.find(": ");
    return std::string(message.substr(0, end));
  }
  // A cross-field rule of the type ("ends_on must be after starts_on") names the data as a whole.
  return "data";
}

struct Remembered {
  std::string cpts;
  std::string type;
  std::string body_sha256;                // of the type, the CPTS and the canonical body
  std::optional<log::Position> position;  // on the commands topic, once appended
  int64_t taken_ms = 0;                   // when this process took it
};

// The per-process table of commands taken (see kRememberedCommands).
class CommandTable {
 public:
  // The entry of `command_id`, if remembered.
  std::optional<Remembered> Find(const std::string& command_id) const {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(command_id);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  // Remembers `entry` unless the id is known; returns the entry now held.
  Remembered Remember(const std::string& command_id, Remembered entry) {
    std::lock_guard lock(mu_);
    const auto [it, inserted] = entries_.try_emplace(command_id, std::move(entry));
    if (inserted) {
      order_.push_back(command_id);
      while (order_.size() > kRememberedCommands) {
        entries_.erase(order_.front());
        order_.pop_front();
      }
    }
    return it->second;
  }
  void SetPosition(const std::string& command_id, log::Position position) {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(command_id);
    if (it != entries_.end() && !it->second.position) it->second.position = position;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Remembered> entries_;
  std::deque<std::string> order_;
};

struct Shared {
  ApiContext* context;
  CommandTable table;
};

int64_t NowMs(const ApiContext& context) {
  return context.now_ms ? context.now_ms() : projections::WallClockMs();
}

// The answer for a command whose outcome row exists (projections::ReadModels::CommandOutcome).
Response OutcomeResponse(const std::string& command_id, const json& row) {
  const json event = {{"id", row.value("id", "")},
                      {"type", row.value("type", "")},
                      {"sequence", row.value("sequence", 0)},
                      {"time", row.value("time", "")}};
  const std::string position = std::to_string(row.value("partition", 0)) + ":" +
                               std::to_string(row.value("offset", int64_t{0}) + 1);
  if (row.contains("rejection") && row["rejection"].is_object()) {
    const std::string code = row["rejection"].value("code", "");
    Response r =
        Response::Error(RejectionHttpStatus(code), code, row["rejection"].value("reason", ""));
    (*r.body)["outcome"] = "rejected";
    (*r.body)["command_id"] = command_id;
    (*r.body)["event"] = event;
    (*r.body)["position"] = position;
    return r;
  }
  return Response::Json(201, {{"outcome", "accepted"},
                              {"command_id", command_id},
                              {"event", event},
                              {"position", position}});
}

Response Unchanged(const std::string& command_id) {
  return Response::Json(200, {{"outcome", "unchanged"}, {"command_id", command_id}});
}

Response Pending(const std::string& command_id) {
  return Response::Json(202, {{"outcome", "pending"}, {"command_id", command_id}});
}

// What is known of a command appended at `position`, now.
struct Decided {
  std::optional<json> row;  // its outcome row
  bool unchanged = false;   // decided with nothing to record
};

// Tells, without waiting, whether the command `command_id` of `cpts`, appended at `position`,
// is decided. `events_end` carries between calls the end of the events partition read once the
// deciders had passed the command (the read models must reach it before "no row" means
// unchanged); `check_progress` says whether to ask the log for the deciders' offset this time.
Result<Decided> CheckDecided(const ApiContext& context, const std::string& cpts,
                             const std::string& command_id, const log::Position& position,
                             std::optional<int64_t>* events_end, bool check_progress) {
  const projections::ReadModels reads(*context.store);
  Decided decided;
  if (!events_end->has_value() && check_progress) {
    const log::TopicPartition commands{std::string(topics::kCommands), position.partition};
    // The progress is a hint: when it cannot be read (a broker away for a moment), the
    // outcome row still tells accepted and rejected commands, and an unchanged one is answered
    // 202 at worst, which GET resolves later. So these failures are deliberately not the
    // request's: the command is on the log already.
    Result<std::optional<Offset>> committed =
        context.log->GroupOffset(context.decider_group, commands);
    if (committed.ok() && committed->has_value() &&
        (*committed)->value() > position.offset.value()) {
      // Read after the commit: every outcome of the command is before this end (the deciders
      // commit a command's offset only once its outcome is on the log).
      Result<Offset> end =
          context.log->EndOffset({std::string(topics::kEvents), position.partition});
      if (end.ok()) *events_end = end->value();
    }
  }
  // The read models' progress first, then the row: a commit between the two would otherwise
  // make a row written just now look absent.
  const bool reached =
      events_end->has_value() &&
      (**events_end == 0 || context.live->Reached({{position.partition.value(), **events_end}}));
  Result<std::optional<json>> row = reads.CommandOutcome(cpts, command_id, NowMs(context));
  if (!row.ok()) return row.status();
  decided.row = std::move(*row);
  decided.unchanged = !decided.row && reached;
  return decided;
}

// Waits up to kDecisionWait for the outcome of a command just appended.
Response AwaitOutcome(const ApiContext& context, const aggregates::Command& command,
                      const log::Position& position) {
  const auto deadline = Clock::now() + kDecisionWait;
  std::optional<int64_t> events_end;
  Status failed;
  std::optional<Decided> decided;
  auto last_progress_check = Clock::now() - kProgressPoll;
  const auto ready = [&] {
    const bool check_progress = Clock::now() - last_progress_check >= kProgressPoll;
    if (check_progress) last_progress_check = Clock::now();
    Result<Decided> now = CheckDecided(context, command.cptsid, command.command_id, position,
                                       &events_end, check_progress);
    if (!now.ok()) {
      failed = now.status();
      return true;
    }
    if (now->row || now->unchanged) {
      decided = std::move(*now);
      return true;
    }
    return false;
  };
  // In slices of kProgressPoll: a commit of the read models wakes the wait at once, the
  // deciders' progress (which commits nothing there) is looked at between slices.
  while (true) {
    const auto slice_end = std::min(deadline, Clock::now() + kProgressPoll);
    if (context.live->WaitUntil(ready, slice_end)) break;
    // Back before its slice ended without an answer: the live view stopped (the daemon is
    // stopping), and will not wake anyone again. The command is on the log: 202.
    if (Clock::now() >= deadline || Clock::now() < slice_end) break;
  }
  if (!failed.ok()) return ErrorResponse(failed);
  if (!decided) return Pending(command.command_id);
  if (context.metrics != nullptr) {
    if (decided->row && decided->row->contains("rejection")) {
      context.metrics->CommandDecided(command.type, CommandOutcome::kRejected,
                                      (*decided->row)["rejection"].value("code", ""));
    } else {
      context.metrics->CommandDecided(
          command.type, decided->row ? CommandOutcome::kAccepted : CommandOutcome::kUnchanged);
    }
  }
  if (decided->row) return OutcomeResponse(command.command_id, *decided->row);
  return Unchanged(command.command_id);
}

Response PostCommand(Shared& shared, const std::string& type, const Request& request) {
  const ApiContext& context = *shared.context;
  Response error;
  Result<Principal> principal = Authenticate(context, request, &error);
  if (!principal.ok()) return error;
  const std::string cpts = request.Param("cpts").value_or("");
  if (!request.json || !request.json->is_object()) {
    return Response::Error(400, "invalid",
                           "the body must be the command's data, a JSON object (docs/commands.md)",
                           "data");
  }
  const json& body = *request.json;
  if (Status allowed = AuthorizeCommand(*principal, type, cpts, body); !allowed.ok()) {
    return Forbidden(allowed);
  }

  aggregates::Command command;
  const std::optional<std::string> key = request.Header("Idempotency-Key");
  // The hash of what is asked, to recognise a key reused for something else.
  const std::string body_sha256 =
      Sha256Hex(type + "\n" + cpts + "\n" + events::CanonicalJson(body));
  if (key) {
    if (!IsIdempotencyKey(*key)) {
      return Response::Error(400, "invalid",
                             "Idempotency-Key must be 1 to 128 visible ASCII characters",
                             "header.Idempotency-Key");
    }
    command.command_id = IdempotentCommandId(principal->Actor(), *key);
  } else {
    command.command_id = "api-" + events::RandomHex(16);
  }
  command.type = type;
  command.cptsid = cpts;
  command.actor = principal->Actor();
  command.issued_at = events::FormatEventTime(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(NowMs(context))));
  // A tracing header in another format (a proxy's UUID in braces) does not refuse a command.
  if (std::optional<std::string> correlation = request.Header("X-Correlation-Id");
      correlation && IsCommandId(*correlation)) {
    command.correlation_id = *correlation;
  }

  Result<json> sealed = context.edge->Seal(type, body);
  if (!sealed.ok()) {
    if (sealed.status().code() != StatusCode::kInvalidArgument)
      return ErrorResponse(sealed.status());
    return Response::Error(400, "invalid", sealed.status().message(),
                           FieldOf(type, sealed.status().message()));
  }
  command.data = std::move(*sealed);
  Result<aggregates::Command> checked =
      aggregates::DecodeCommand(aggregates::EncodeCommand(command));
  if (!checked.ok()) {
    if (checked.status().code() != StatusCode::kInvalidArgument) {
      return ErrorResponse(checked.status());
    }
    return Response::Error(400, "invalid", checked.status().message(),
                           FieldOf(type, checked.status().message()));
  }
  command = std::move(*checked);

  if (key) {
    const Remembered held = shared.table.Remember(
        command.command_id, Remembered{.cpts = cpts,
                                        .type = type,
                                        .body_sha256 = body_sha256,
                                        .taken_ms = NowMs(context)});
    if (held.body_sha256 != body_sha256) {
      return Response::Error(422, "idempotency_key_reused",
                             "this Idempotency-Key was used for another request: a retry must "
                             "send the same command with the same body; use a new key for a new "
                             "command",
                             "header.Idempotency-Key");
    }
    // A retry: the first outcome, if the read models hold it, without appending again.
    Result<std::optional<json>> row =
        projections::ReadModels(*context.store).CommandOutcome(cpts, command.command_id,
                                                               NowMs(context));
    if (!row.ok()) return ErrorResponse(row.status());
    if (row->has_value()) {
      // Marked as a replay (the name Stripe's API made common), so a client can tell it apart.
      Response replay = OutcomeResponse(command.command_id, **row);
      replay.headers.emplace_back("Idempotent-Replayed", "true");
      return replay;
    }
    // Otherwise the command is appended (again): the deciders skip a command id already
    // decided, so a retry of a command still in flight, or decided with nothing to record,
    // changes nothing and gets the first outcome; one whose outcome expired gets "unchanged".
  } else {
    shared.table.Remember(command.command_id,
                          Remembered{.cpts = cpts,
                                        .type = type,
                                        .body_sha256 = body_sha256,
                                        .taken_ms = NowMs(context)});
  }

  if (type == "patient.erase") {
    // The keys go first, as with `cpts patient erase`: the erasure must hold even if the command
    // never reaches the log. Destroying is idempotent, so a retry does no harm.
    Result<int> destroyed = context.edge->DestroyKeys(command.data.value("patient", ""));
    if (!destroyed.ok()) return ErrorResponse(destroyed.status());
  }

  const log::Record record{.key = command.cptsid, .value = aggregates::EncodeCommand(command)};
  Result<std::vector<log::Position>> appended =
      context.log->Append(topics::kCommands, std::span<const log::Record>(&record, 1));
  if (!appended.ok()) return ErrorResponse(appended.status());
  if (appended->size() != 1) return ErrorResponse(Status::Internal("append gave no position"));
  shared.table.SetPosition(command.command_id, appended->front());
  return AwaitOutcome(context, command, appended->front());
}

Response GetCommand(Shared& shared, const Request& request) {
  const ApiContext& context = *shared.context;
  Response error;
  Result<Principal> principal = Authenticate(context, request, &error);
  if (!principal.ok()) return error;
  const std::string cpts = request.Param("cpts").value_or("");
  const std::string command_id = request.Param("command_id").value_or("");
  // Outcomes hold no patient data, but only those who may send commands, or audit, follow them;
  // a coordinator, in its own CPTS.
  if (principal->role == Role::kDashboard) {
    return Forbidden(Status::FailedPrecondition(
        "A dashboard token reads aggregates only: it sends no commands and follows none."));
  }
  if (principal->role == Role::kCoordinator && principal->cptsid != cpts) {
    return Forbidden(Status::FailedPrecondition(
        "A coordinator follows the commands of its own CPTS (" + principal->cptsid + ") only."));
  }
  if (!IsCommandId(command_id)) {
    return Response::Error(400, "invalid",
                           "a command id is 1 to 100 letters, digits, '.', '_', ':' or '-'",
                           "path.command_id");
  }
  Result<std::optional<json>> row =
      projections::ReadModels(*context.store).CommandOutcome(cpts, command_id, NowMs(context));
  if (!row.ok()) return ErrorResponse(row.status());
  if (row->has_value()) return OutcomeResponse(command_id, **row);
  // Decided with nothing to record leaves no row: told apart only where the command's place on
  // the log is known, in the process that appended it, and while its outcome would be kept.
  if (std::optional<Remembered> held = shared.table.Find(command_id);
      held && held->cpts == cpts && held->position &&
      held->taken_ms >= NowMs(context) - projections::kOutcomeRetentionMs) {
    std::optional<int64_t> events_end;
    Result<Decided> decided =
        CheckDecided(context, cpts, command_id, *held->position, &events_end, true);
    if (!decided.ok()) return ErrorResponse(decided.status());
    if (decided->row) return OutcomeResponse(command_id, *decided->row);
    if (decided->unchanged) return Unchanged(command_id);
    return Pending(command_id);
  }
  return Response::Error(404, "not_found",
                         "no outcome is known for command " + command_id + " in " + cpts +
                             " (not decided yet, unknown, decided with nothing to record, or "
                             "expired: outcomes are kept " +
                             std::to_string(projections::kOutcomeRetentionMs / projections::kDayMs) +
                             " days)");
}

}  // namespace

int RejectionHttpStatus(std::string_view code) {
  const auto& table = RejectionHttpStatuses();
  const auto it = table.find(code);
  return it == table.end() ? 422 : it->second;
}

std::string IdempotentCommandId(std::string_view actor, std::string_view idempotency_key) {
  return "api-" + Sha256Hex(std::string(actor) + "\n" + std::string(idempotency_key)).substr(0, 32);
}

Status RegisterCommandRoutes(HttpServer& server, ApiContext& context) {
  if (context.log == nullptr || context.store == nullptr || context.edge == nullptr ||
      context.tokens == nullptr || context.live == nullptr) {
    return Status::InvalidArgument(
        "the command routes need the log, the read models, the "
        "patient edge, the tokens and the live view");
  }
  // Shared by every handler, for as long as the server holds them.
  auto shared = std::make_shared<Shared>();
  shared->context = &context;
  for (const events::EventTypeSpec& spec : aggregates::CommandTypes()) {
    const std::string type(spec.type);
    CPTS_RETURN_IF_ERROR(server.Route(
        "POST", "/v1/cpts/:cpts/commands/" + type,
        [shared, type](const Request& request) { return PostCommand(*shared, type, request); }));
  }
  return server.Route("GET", "/v1/cpts/:cpts/commands/:command_id",
                      [shared](const Request& request) { return GetCommand(*shared, request); });
}

}  // namespace cpts::api

#pragma once
// PatientReads: the only door to patient-level read models (ARCHITECTURE.md, 7). Each read
//   1. runs the query (projections/queries.h) on one snapshot,
//   2. opens the sealed identities of the patients in the answer, when the reader may see them
//      and their keys still exist (an erased patient shows "identity_status":"erased"),
//   3. records one access trace (projections/access_log.h) naming every patient in the answer,
//      durably, and only then returns the answer: when the trace cannot be recorded, the read
//      fails, it never goes on untraced.
// ReadModels keeps these queries private; only PatientReads calls them.
// Thread-safety: const reads; safe from any thread when the key store is thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "events/json.h"
#include "events/key_store.h"
#include "events/status.h"
#include "projections/access_log.h"
#include "projections/queries.h"

namespace cpts::projections {

// Who reads, and why: recorded with every read.
struct Reader {
  std::string user;     // an actor id ("coordinator:cpts-x:alice") or "operator:<login>"
  std::string role;     // the role read in: coordinator, professional, hospital, auditor, admin...
  std::string purpose;  // why, as stated by the reader or their tool ("handoff follow-up")
  // Open sealed identities for this reader. The caller decides it from the role: a coordinator
  // or a professional on their own worklist needs names and phones; an auditor does not.
  bool show_identity = false;
};

class PatientReads {
 public:
  // `keys` may be null: identities then stay sealed ("identity_status":"sealed").
  PatientReads(const ProjectionStore& store, AccessLog& access, ::cpts::keys::KeyStore* keys,
               std::function<int64_t()> now_ms = nullptr);

  Result<::cpts::Json> AccessQueue(const Reader& reader, const std::string& cpts,
                                   const Page& page) const;
  Result<::cpts::Json> Referrals(const Reader& reader, const std::string& cpts,
                                 const std::optional<std::string>& status, const Page& page) const;
  Result<::cpts::Json> Handoff(const Reader& reader, const std::string& cpts,
                               const HandoffFilter& filter, int64_t clock_ms,
                               const Page& page) const;
  Result<::cpts::Json> Worklist(const Reader& reader, const std::string& professional,
                                int64_t clock_ms, bool include_closed, const Page& page) const;
  Result<::cpts::Json> Snp(const Reader& reader, const std::string& cpts,
                           const std::optional<std::string>& status, int64_t clock_ms,
                           const Page& page) const;

 private:
  // Steps 2 and 3 above for an answer of `view`.
  Result<::cpts::Json> Deliver(const Reader& reader, const std::string& view,
                               const std::string& cpts, ::cpts::Json query,
                               Result<::cpts::Json> answer) const;
  // Adds "identity" (opened) or "identity_status" beside every "patient"/"participant" field.
  Status AttachIdentities(const Reader& reader, const std::string& cpts,
                          ::cpts::Json& answer) const;

  const ProjectionStore& store_;
  ReadModels models_;
  AccessLog& access_;
  ::cpts::keys::KeyStore* keys_;
  std::function<int64_t()> now_ms_;
};

}  // namespace cpts::projections

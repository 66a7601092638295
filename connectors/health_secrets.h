#pragma once
// The secrets of health data (docs/health-data.md): the pseudonym secret (HMAC key of patient
// pseudonyms, events/pseudonym.h) and the master key that wraps every data key in the key stores.
//
// Sources, in order: the secrets file given by --secrets, a JSON object
//   {"pseudonym_secret": "<at least 32 bytes>", "master_key": "<64 hex characters>"}
// that must not be readable by group or others (chmod 600); then the environment variables
// CPTS_PSEUDONYM_SECRET and CPTS_MASTER_KEY, which override the file's values. There is no default:
// with nothing configured, loading fails and says how to configure it. Messages never show a
// secret. Thread-safety: plain functions (LoadHealthSecrets reads the environment).

#include <CLI/CLI.hpp>
#include <array>
#include <string>

#include "events/status.h"

namespace cpts {

struct HealthSecrets {
  std::string pseudonym_secret;
  std::array<unsigned char, 32> master_key{};
};

struct HealthFlags {
  std::string secrets_file;  // Default: none (then the environment variables must be set)
};

inline constexpr const char* kPseudonymSecretEnv = "CPTS_PSEUDONYM_SECRET";
inline constexpr const char* kMasterKeyEnv = "CPTS_MASTER_KEY";

// Adds --secrets FILE.
void AddHealthFlags(CLI::App& app, HealthFlags& flags);

// The secrets from the file the flags name and the environment. InvalidArgument (naming the file,
// the field or the variable, never the value) when something is missing or malformed;
// FailedPrecondition when the file is readable by group or others.
Result<HealthSecrets> LoadHealthSecrets(const HealthFlags& flags);

// Writes a new secrets file with random secrets, mode 0600, fsynced. Refuses (AlreadyExists) to
// overwrite a file: new secrets would orphan every pseudonym and data key made with the old ones.
Status GenerateSecretsFile(const std::string& path);

}  // namespace cpts

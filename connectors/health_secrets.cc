#include "connectors/health_secrets.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "connectors/private_file.h"
#include "events/json.h"
#include "events/json_input.h"

namespace cpts {
namespace {

const char* const kHowToConfigure =
    "give --secrets FILE (JSON {\"pseudonym_secret\": ..., \"master_key\": ...}, mode 600; "
    "cpts can generate one) or set CPTS_PSEUDONYM_SECRET and CPTS_MASTER_KEY";

Status CheckPseudonymSecret(std::string_view secret, const std::string& where) {
  if (secret.size() >= 32) return Status::Ok();
  return Status::InvalidArgument(where +
                                 ": the pseudonym secret must hold at least 32 bytes (it "
                                 "holds " +
                                 std::to_string(secret.size()) + ")");
}

// 64 hex characters -> 32 bytes. The message never quotes the text.
Status ParseMasterKey(std::string_view hex, std::array<unsigned char, 32>& out,
                      const std::string& where) {
  size_t size = 0;
  const char* end = nullptr;
  if (hex.size() != 64 ||
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &size, &end) != 0 ||
      size != 32 || end != hex.data() + hex.size()) {
    sodium_memzero(out.data(), out.size());
    return Status::InvalidArgument(where +
                                   ": the master key must be 64 hex characters (32 bytes); "
                                   "the value is not shown");
  }
  return Status::Ok();
}

Result<std::string> ReadSecretsFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument("cannot read the secrets file " + path + ": " +
                                   std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("the secrets file " + path + " is not a regular file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::FailedPrecondition("the secrets file " + path +
                                      " is readable by group or others: run chmod 600 " + path);
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return Status::IoError("cannot read the secrets file " + path);
  }
  return text.str();
}

}  // namespace

void AddHealthFlags(CLI::App& app, HealthFlags& flags) {
  app.add_option("--secrets", flags.secrets_file,
                 "Secrets file (JSON: pseudonym_secret, master_key; mode 600). The environment "
                 "variables CPTS_PSEUDONYM_SECRET and CPTS_MASTER_KEY override its values");
}

Result<HealthSecrets> LoadHealthSecrets(const HealthFlags& flags) {
  HealthSecrets secrets;
  bool have_secret = false;
  bool have_master = false;
  if (!flags.secrets_file.empty()) {
    const std::string& path = flags.secrets_file;
    Result<std::string> text = ReadSecretsFile(path);
    if (!text.ok()) return text.status();
    Result<::cpts::Json> doc = events::ParseStrictJson(*text, "the secrets file");
    sodium_memzero(text->data(), text->size());
    // The parser's message may quote the file's text, that is a secret: say only where.
    if (!doc.ok())
      return Status::InvalidArgument("the secrets file " + path + " is not valid JSON");
    if (!doc->is_object()) {
      return Status::InvalidArgument("the secrets file " + path + " must hold a JSON object");
    }
    for (const auto& [key, value] : doc->items()) {
      if (key != "pseudonym_secret" && key != "master_key") {
        return Status::InvalidArgument("the secrets file " + path + " has an unknown field " +
                                       events::QuotedName(key) +
                                       " (known: pseudonym_secret, master_key)");
      }
      if (!value.is_string()) {
        return Status::InvalidArgument("the secrets file " + path + ": " + key +
                                       " must be a string");
      }
    }
    if (doc->contains("pseudonym_secret")) {
      secrets.pseudonym_secret = (*doc)["pseudonym_secret"].get<std::string>();
      CPTS_RETURN_IF_ERROR(
          CheckPseudonymSecret(secrets.pseudonym_secret, path + ", pseudonym_secret"));
      have_secret = true;
    }
    if (doc->contains("master_key")) {
      CPTS_RETURN_IF_ERROR(ParseMasterKey((*doc)["master_key"].get_ref<const std::string&>(),
                                          secrets.master_key, path + ", master_key"));
      have_master = true;
    }
  }
  if (const char* env = std::getenv(kPseudonymSecretEnv); env != nullptr && *env != '\0') {
    secrets.pseudonym_secret = env;
    CPTS_RETURN_IF_ERROR(CheckPseudonymSecret(secrets.pseudonym_secret, kPseudonymSecretEnv));
    have_secret = true;
  }
  if (const char* env = std::getenv(kMasterKeyEnv); env != nullptr && *env != '\0') {
    CPTS_RETURN_IF_ERROR(ParseMasterKey(env, secrets.master_key, kMasterKeyEnv));
    have_master = true;
  }
  if (!have_secret && !have_master) {
    return Status::InvalidArgument(std::string("no health-data secrets are configured: ") +
                                   kHowToConfigure);
  }
  if (!have_secret) {
    return Status::InvalidArgument(std::string("no pseudonym secret is configured: ") +
                                   kHowToConfigure);
  }
  if (!have_master) {
    return Status::InvalidArgument(std::string("no master key is configured: ") + kHowToConfigure);
  }
  return secrets;
}

Status GenerateSecretsFile(const std::string& path) {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  unsigned char secret[32];
  unsigned char master[32];
  randombytes_buf(secret, sizeof secret);
  randombytes_buf(master, sizeof master);
  char secret_hex[sizeof secret * 2 + 1];
  char master_hex[sizeof master * 2 + 1];
  sodium_bin2hex(secret_hex, sizeof secret_hex, secret, sizeof secret);
  sodium_bin2hex(master_hex, sizeof master_hex, master, sizeof master);
  std::string text =
      ::cpts::Json{{"pseudonym_secret", secret_hex}, {"master_key", master_hex}}.dump(2) + "\n";
  sodium_memzero(secret, sizeof secret);
  sodium_memzero(master, sizeof master);
  sodium_memzero(secret_hex, sizeof secret_hex);
  sodium_memzero(master_hex, sizeof master_hex);

  // O_EXCL: never replace existing secrets; 0600 from the start, never readable by others.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    sodium_memzero(text.data(), text.size());
    if (err == EEXIST) {
      return Status::AlreadyExists("the secrets file " + path +
                                   " already exists; it is kept (new secrets would orphan every "
                                   "pseudonym and data key made with it)");
    }
    return Status::IoError("cannot create the secrets file " + path + ": " + std::strerror(err));
  }
  const bool written = WriteAll(fd, text);
  sodium_memzero(text.data(), text.size());
  const bool ok = written && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::IoError("cannot write the secrets file " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

}  // namespace cpts

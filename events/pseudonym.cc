#include "events/pseudonym.h"

#include <sodium.h>

#include <cctype>
#include <string>

#include "events/identifiers.h"

namespace cpts::events {

Result<std::string> PatientPseudonym(std::string_view nir, std::string_view secret) {
  if (secret.size() < 32) {
    return Status::InvalidArgument("the pseudonym secret must hold at least 32 bytes");
  }
  CPTS_RETURN_IF_ERROR(ids::CheckNir(nir));
  // One person, one pseudonym: "2a" and "2A" are the same département.
  std::string canonical(nir);
  for (char& c : canonical) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(canonical.data()),
                                canonical.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string(hex);
}

}  // namespace cpts::events

#pragma once
// The encrypted identity block of patient-naming events (ARCHITECTURE.md, 7; docs/health-data.md).
// What identifies a person and a coordinator must see (names, birth date, phone, address) travels
// encrypted under the patient's data key with XChaCha20-Poly1305 (IETF AEAD, libsodium), so
// destroying the key erases the person from every replay (crypto-shredding).
// Pure functions, no I/O; thread-safe. Messages never show identity values, keys or pseudonyms.

#include <array>
#include <string>
#include <string_view>

#include "events/json.h"
#include "events/status.h"

namespace cpts::events {

// A 256-bit data key and its id (random, 32 lowercase hex chars).
struct DataKey {
  std::string key_id;
  std::array<unsigned char, 32> bytes{};
};

// The block's algorithm name, as events/catalogue.cc accepts it.
inline constexpr std::string_view kIdentityAlg = "xchacha20poly1305-ietf";

// Checks a clear identity as a person enters it: an object with optional string fields
// family_name, given_names, birth_date (YYYY-MM-DD, real date), sex ("F"|"M"|"U"), phone, email,
// address (object: line, postal_code (5 digits), city, commune (INSEE code)), at least one name;
// unknown fields refused; errors name the field ("identity.birth_date: ...") and never echo values.
Status ValidateClearIdentity(const ::cpts::Json& identity);

// Encrypts the clear identity (validated first; canonical JSON) into the catalogue's identity block
// {"alg":"xchacha20poly1305-ietf","key_id":...,"nonce":base64,"ciphertext":base64}. The associated
// data binds it to the patient pseudonym and the key id, so a block copied onto another patient
// does not open. The nonce is random (24 bytes: no practical risk of reuse under one key).
Result<::cpts::Json> SealIdentity(const ::cpts::Json& clear_identity, std::string_view patient,
                                  const DataKey& key);

// Opens a block sealed for `patient` under `key`. InvalidArgument, with no secret in the message,
// when the block is malformed, names another key, or was altered or moved to another patient.
Result<::cpts::Json> OpenIdentity(const ::cpts::Json& block, std::string_view patient,
                                  const DataKey& key);

// The key id a block names (for looking its key up); empty when it names none.
std::string IdentityKeyId(const ::cpts::Json& block);

// True for a patient pseudonym: 64 lowercase hex characters (events/pseudonym.h).
bool IsPatientPseudonym(std::string_view s);
// InvalidArgument, without the value, when `patient` is not a pseudonym.
Status CheckPatientPseudonym(std::string_view patient);

}  // namespace cpts::events

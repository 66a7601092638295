#include "events/identity.h"


#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "events/encoding.h"
#include "events/identifiers.h"
#include "events/json_input.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;

// Bounds of what a person types; they also keep a sealed block well under the catalogue's limit
// of 8192 base64 characters of ciphertext.
constexpr size_t kMaxName = 200;
constexpr size_t kMaxEmail = 254;  // RFC 5321's longest path
constexpr size_t kMaxPhone = 32;
constexpr size_t kMaxCiphertextBytes = 8192 / 4 * 3;

Status Fail(const std::string& field, const std::string& why) {
  return Status::InvalidArgument("identity." + field + ": " + why);
}

// Well-formed UTF-8 (nlohmann would otherwise throw when sealing), no control characters.
bool IsCleanText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    if (c < 0x20 || c == 0x7f) return false;
    if (c >= 0x80) {
      if (c >= 0xc2 && c <= 0xdf)
        extra = 1;
      else if (c >= 0xe0 && c <= 0xef)
        extra = 2;
      else if (c >= 0xf0 && c <= 0xf4)
        extra = 3;
      else
        return false;
      if (i + extra >= s.size()) return false;  // truncated sequence
      uint32_t cp = c & (0x3f >> extra);
      for (size_t k = 1; k <= extra; ++k) {
        const auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xc0) != 0x80) return false;
        cp = (cp << 6) | (d & 0x3f);
      }
      // Overlong forms, surrogates and code points past U+10FFFF.
      if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
          (cp >= 0xd800 && cp <= 0xdfff)) {
        return false;
      }
      if (cp >= 0x80 && cp < 0xa0) return false;  // C1 controls
    }
    i += extra + 1;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A non-empty string of at most `max` bytes of clean text, or the failure naming `field`.
Result<std::string_view> Text(const json& object, const std::string& key, const std::string& field,
                              size_t max) {
  const json& v = object.at(key);
  if (!v.is_string()) return Fail(field, "must be a string");
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty()) return Fail(field, "must not be empty");
  if (s.size() > max) return Fail(field, "is longer than " + std::to_string(max) + " bytes");
  if (!IsCleanText(s)) {
    return Fail(field, "must be UTF-8 text without control characters; the value is not shown");
  }
  return std::string_view(s);
}

Status CheckBirthDate(std::string_view s) {
  const bool shape = s.size() == 10 && s[4] == '-' && s[7] == '-' && AllDigits(s.substr(0, 4)) &&
                     AllDigits(s.substr(5, 2)) && AllDigits(s.substr(8, 2));
  if (shape) {
    const int y = std::stoi(std::string(s.substr(0, 4)));
    const auto m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
    const auto d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
    const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(m),
                                           std::chrono::day(d)};
    if (date.ok() && y >= 1850 && y <= 2199) return Status::Ok();
  }
  return Fail("birth_date",
              "is not a date YYYY-MM-DD (a real calendar day); the value is not shown");
}

Status CheckPhone(std::string_view s) {
  size_t digits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (!(c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' ||
                 (c == '+' && i == 0))) {
      digits = 0;
      break;
    }
  }
  if (digits >= 6 && digits <= 15) return Status::Ok();  // 15: E.164's longest number
  return Fail("phone",
              "is not a phone number (6 to 15 digits, with optional leading +, spaces, dots, "
              "dashes or parentheses); the value is not shown");
}

Status CheckEmail(std::string_view s) {
  const size_t at = s.find('@');
  const bool ok = at != std::string_view::npos && at > 0 &&
                  s.find('@', at + 1) == std::string_view::npos &&
                  s.find('.', at) != std::string_view::npos && s.back() != '.' &&
                  s.find(' ') == std::string_view::npos && s[at + 1] != '.';
  if (ok) return Status::Ok();
  return Fail("email", "is not an email address (name@domain); the value is not shown");
}

Status CheckAddress(const json& address) {
  if (!address.is_object()) return Fail("address", "must be an object");
  for (const auto& [key, value] : address.items()) {
    const std::string field = "address." + key;
    if (key == "line" || key == "city") {
      if (auto t = Text(address, key, field, kMaxName); !t.ok()) return t.status();
    } else if (key == "postal_code") {
      auto t = Text(address, key, field, 5);
      if (!t.ok()) return t.status();
      if (t->size() != 5 || !AllDigits(*t)) {
        return Fail(field, "is not a postal code (5 digits); the value is not shown");
      }
    } else if (key == "commune") {
      auto t = Text(address, key, field, 5);
      if (!t.ok()) return t.status();
      // CheckInseeCommune's own message quotes the code: not here.
      if (!ids::CheckInseeCommune(*t).ok()) {
        return Fail(field,
                    "is not an INSEE commune code (5 digits, or 2A/2B then 3 digits); the value "
                    "is not shown");
      }
    } else {
      return Fail("address", "unknown field " + QuotedName(key) +
                                 " (known: line, postal_code, city, commune)");
    }
  }
  return Status::Ok();
}

// What the AEAD authenticates besides the plaintext: the block belongs to this patient and key.
std::string AssociatedData(std::string_view patient, std::string_view key_id) {
  std::string ad = "cpts.identity.v1\n";
  ad += kIdentityAlg;
  ad += '\n';
  ad += patient;
  ad += '\n';
  ad += key_id;
  return ad;
}

bool IsKeyId(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status CheckSealInputs(std::string_view patient, const DataKey& key) {
  CPTS_RETURN_IF_ERROR(CheckPatientPseudonym(patient));
  if (!IsKeyId(key.key_id)) {
    return Status::InvalidArgument("the data key id is not 32 lowercase hex characters");
  }
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

}  // namespace

bool IsPatientPseudonym(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status CheckPatientPseudonym(std::string_view patient) {
  if (IsPatientPseudonym(patient)) return Status::Ok();
  return Status::InvalidArgument(
      "the patient is not a pseudonym (64 lowercase hex characters); the value is not shown");
}

Status ValidateClearIdentity(const json& identity) {
  if (!identity.is_object()) return Status::InvalidArgument("identity: must be an object");
  for (const auto& [key, value] : identity.items()) {
    if (key == "family_name" || key == "given_names") {
      if (auto t = Text(identity, key, key, kMaxName); !t.ok()) return t.status();
    } else if (key == "birth_date") {
      auto t = Text(identity, key, key, 10);
      if (!t.ok()) return t.status();
      CPTS_RETURN_IF_ERROR(CheckBirthDate(*t));
    } else if (key == "sex") {
      auto t = Text(identity, key, key, 1);
      if (!t.ok()) return t.status();
      if (*t != "F" && *t != "M" && *t != "U") return Fail(key, "must be \"F\", \"M\" or \"U\"");
    } else if (key == "phone") {
      auto t = Text(identity, key, key, kMaxPhone);
      if (!t.ok()) return t.status();
      CPTS_RETURN_IF_ERROR(CheckPhone(*t));
    } else if (key == "email") {
      auto t = Text(identity, key, key, kMaxEmail);
      if (!t.ok()) return t.status();
      CPTS_RETURN_IF_ERROR(CheckEmail(*t));
    } else if (key == "address") {
      CPTS_RETURN_IF_ERROR(CheckAddress(value));
    } else {
      return Status::InvalidArgument(
          "identity: unknown field " + QuotedName(key) +
          " (known: family_name, given_names, birth_date, sex, phone, email, address)");
    }
  }
  if (!identity.contains("family_name") && !identity.contains("given_names")) {
    return Status::InvalidArgument("identity: needs a family_name or given_names");
  }
  return Status::Ok();
}

Result<json> SealIdentity(const json& clear_identity, std::string_view patient,
                          const DataKey& key) {
  CPTS_RETURN_IF_ERROR(ValidateClearIdentity(clear_identity));
  CPTS_RETURN_IF_ERROR(CheckSealInputs(patient, key));
  // cpts::Json keeps object keys sorted: the same identity always gives the same plaintext.
  std::string plain = clear_identity.dump();
  const size_t cipher_size = plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (cipher_size > kMaxCiphertextBytes) {
    sodium_memzero(plain.data(), plain.size());
    return Status::InvalidArgument("identity: too large to seal (" + std::to_string(plain.size()) +
                                   " bytes of JSON)");
  }
  std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce;
  randombytes_buf(nonce.data(), nonce.size());
  const std::string ad = AssociatedData(patient, key.key_id);
  std::vector<unsigned char> cipher(cipher_size);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      cipher.data(), &written, reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce.data(),
      key.bytes.data());
  sodium_memzero(plain.data(), plain.size());
  return json{{"alg", kIdentityAlg},
              {"key_id", key.key_id},
              {"nonce", ToBase64(nonce.data(), nonce.size())},
              {"ciphertext", ToBase64(cipher.data(), written)}};
}

Result<json> OpenIdentity(const json& block, std::string_view patient, const DataKey& key) {
  CPTS_RETURN_IF_ERROR(CheckSealInputs(patient, key));
  const auto is_string = [&](const char* name) {
    return block.contains(name) && block.at(name).is_string();
  };
  if (!block.is_object() || block.size() != 4 || !is_string("alg") || !is_string("key_id") ||
      !is_string("nonce") || !is_string("ciphertext")) {
    return Status::InvalidArgument(
        "the identity block is not {alg, key_id, nonce, ciphertext} with string values");
  }
  if (block.at("alg").get_ref<const std::string&>() != kIdentityAlg) {
    return Status::InvalidArgument("the identity block's alg is not xchacha20poly1305-ietf");
  }
  if (block.at("key_id").get_ref<const std::string&>() != key.key_id) {
    return Status::InvalidArgument("the identity block names another key than the one given");
  }
  const auto nonce = FromBase64(block.at("nonce").get_ref<const std::string&>());
  const auto cipher = FromBase64(block.at("ciphertext").get_ref<const std::string&>());
  if (!nonce || nonce->size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES || !cipher ||
      cipher->size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return Status::InvalidArgument(
        "the identity block's nonce or ciphertext is not base64 of the right size");
  }
  const std::string ad = AssociatedData(patient, key.key_id);
  std::string plain(cipher->size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long plain_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plain_size, nullptr, cipher->data(),
          cipher->size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
          nonce->data(), key.bytes.data()) != 0) {
    return Status::InvalidArgument(
        "the identity block does not open: it was altered, copied from another patient, or "
        "sealed under another key");
  }
  plain.resize(plain_size);
  Result<json> identity = ParseStrictJson(plain, "the decrypted identity");
  sodium_memzero(plain.data(), plain.size());
  if (!identity.ok()) {
    // Authentic but unreadable: only a sealing bug can do this. The parser's message may quote it.
    return Status::Corruption("the decrypted identity is not JSON");
  }
  return identity;
}

std::string IdentityKeyId(const json& block) {
  if (!block.is_object()) return "";
  const auto it = block.find("key_id");
  if (it == block.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace cpts::events

// The identity block: sealing, opening, tampering, and the checks of a clear identity.

#include "events/identity.h"

#include <gtest/gtest.h>

#include <string>

#include "connectors/key_wrap.h"
#include "events/catalogue.h"
#include "events/identifiers.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;

const std::string kPatient(64, 'a');
const std::string kOtherPatient(64, 'b');

json Alice() {
  return json{{"family_name", "Martin"},
              {"given_names", "Alice Marie"},
              {"birth_date", "1948-02-29"},
              {"sex", "F"},
              {"phone", "+33 6 12 34 56 78"},
              {"email", "alice.martin@example.fr"},
              {"address",
               {{"line", "12 rue des Lilas"},
                {"postal_code", "25000"},
                {"city", "Besançon"},
                {"commune", "25056"}}}};
}

DataKey NewKey() {
  Result<DataKey> key = keys::NewDataKey();
  EXPECT_TRUE(key.ok());
  return *key;
}

// Replaces one base64 character of block[field] by another, keeping it valid base64.
json Altered(json block, const char* field) {
  std::string& s = block[field].get_ref<std::string&>();
  s[5] = s[5] == 'A' ? 'B' : 'A';
  return block;
}

TEST(IdentityTest, ASealedIdentityOpensForItsPatientUnderItsKey) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok()) << block.status().ToString();
  Result<json> opened = OpenIdentity(*block, kPatient, key);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, Alice());
  EXPECT_EQ(IdentityKeyId(*block), key.key_id);
}

TEST(IdentityTest, TheBlockIsWhatTheCatalogueAcceptsAndShowsNoClearValue) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->size(), 4u);
  EXPECT_EQ((*block)["alg"], "xchacha20poly1305-ietf");
  EXPECT_EQ((*block)["nonce"].get<std::string>().size(), 32u);  // base64 of 24 bytes
  const std::string text = block->dump();
  EXPECT_EQ(text.find("Martin"), std::string::npos);
  EXPECT_EQ(text.find("25000"), std::string::npos);

  const EventTypeSpec* spec = FindEventType("fr.cpts.access.referral_issued.v1");
  ASSERT_NE(spec, nullptr);
  const json data = {{"referral_id", "r-1"},
                     {"patient", kPatient},
                     {"gp", "rpps:" + ids::WithLuhnDigit("1000000000")},
                     {"identity", *block}};
  Status valid = ValidateData(*spec, data);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
}

TEST(IdentityTest, SealingTwiceGivesDifferentNoncesAndCiphertexts) {
  const DataKey key = NewKey();
  Result<json> a = SealIdentity(Alice(), kPatient, key);
  Result<json> b = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)["nonce"], (*b)["nonce"]);
  EXPECT_NE((*a)["ciphertext"], (*b)["ciphertext"]);
}

TEST(IdentityTest, AnAlteredCiphertextDoesNotOpen) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok());
  Result<json> opened = OpenIdentity(Altered(*block, "ciphertext"), kPatient, key);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("does not open"), std::string::npos);
}

TEST(IdentityTest, AnAlteredNonceDoesNotOpen) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok());
  EXPECT_FALSE(OpenIdentity(Altered(*block, "nonce"), kPatient, key).ok());
}

TEST(IdentityTest, ABlockNamingAnotherKeyIdDoesNotOpen) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok());
  // The block relabelled with another key id, opened with the right bytes under that id: the
  // associated data binds the id, so it still fails.
  DataKey relabelled = key;
  relabelled.key_id = NewKey().key_id;
  json moved = *block;
  moved["key_id"] = relabelled.key_id;
  EXPECT_FALSE(OpenIdentity(moved, kPatient, relabelled).ok());
  // And the untouched block with a key of another id is refused before decrypting.
  Result<json> other = OpenIdentity(*block, kPatient, relabelled);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("another key"), std::string::npos);
}

TEST(IdentityTest, ABlockCopiedOntoAnotherPatientDoesNotOpen) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok());
  EXPECT_FALSE(OpenIdentity(*block, kOtherPatient, key).ok());
}

TEST(IdentityTest, AnotherKeyWithTheSameIdDoesNotOpen) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok());
  DataKey impostor = NewKey();
  impostor.key_id = key.key_id;
  Result<json> opened = OpenIdentity(*block, kPatient, impostor);
  ASSERT_FALSE(opened.ok());
  // No key material or identity in the message.
  EXPECT_EQ(opened.status().message().find("Martin"), std::string::npos);
}

TEST(IdentityTest, MalformedBlocksAreRefused) {
  const DataKey key = NewKey();
  Result<json> block = SealIdentity(Alice(), kPatient, key);
  ASSERT_TRUE(block.ok());
  json extra = *block;
  extra["more"] = "x";
  EXPECT_FALSE(OpenIdentity(extra, kPatient, key).ok());
  json bad_alg = *block;
  bad_alg["alg"] = "aes-256-gcm";
  EXPECT_FALSE(OpenIdentity(bad_alg, kPatient, key).ok());
  json not_base64 = *block;
  not_base64["nonce"] = "!!!";
  EXPECT_FALSE(OpenIdentity(not_base64, kPatient, key).ok());
  EXPECT_FALSE(OpenIdentity(json::array(), kPatient, key).ok());
  EXPECT_EQ(IdentityKeyId(json::array()), "");
}

TEST(IdentityTest, SealingNeedsAPseudonymAndAValidIdentity) {
  const DataKey key = NewKey();
  Result<json> not_pseudonym = SealIdentity(Alice(), "1850775123456", key);
  ASSERT_FALSE(not_pseudonym.ok());
  EXPECT_EQ(not_pseudonym.status().message().find("1850775123456"), std::string::npos);
  json no_name = Alice();
  no_name.erase("family_name");
  no_name.erase("given_names");
  EXPECT_FALSE(SealIdentity(no_name, kPatient, key).ok());
}

// Each invalid identity is refused with a message naming the field and never its value.
TEST(IdentityTest, ValidationNamesTheFieldAndNeverTheValue) {
  struct Case {
    json identity;
    std::string field;
    std::string secret;  // must not appear in the message
  };
  const auto with = [](const char* field, json value) {
    json id = {{"family_name", "Martin"}};
    id[field] = std::move(value);
    return id;
  };
  const auto with_address = [](const char* field, const char* value) {
    json id = {{"family_name", "Martin"}, {"address", {{"city", "Pontarlier"}}}};
    id["address"][field] = value;
    return id;
  };
  const std::vector<Case> cases = {
      {with("birth_date", "1948-02-30"), "identity.birth_date:", "1948-02-30"},
      {with("birth_date", "29/02/1948"), "identity.birth_date:", "29/02/1948"},
      {with("sex", "X"), "identity.sex:", "\"X\""},
      {with("phone", "call me 0612"), "identity.phone:", "call me"},
      {with("email", "alice.example.fr"), "identity.email:", "alice.example.fr"},
      {with("given_names", 42), "identity.given_names:", "42"},
      {with("given_names", ""), "identity.given_names:", "Martin"},
      {with("given_names", "Al\x01ice"), "identity.given_names:", "Al"},
      {with("given_names", std::string(201, 'x')), "identity.given_names:", "xxxxxxxx"},
      {with("address", "12 rue des Lilas"), "identity.address:", "Lilas"},
      {with_address("postal_code", "2500"), "identity.address.postal_code:", "2500"},
      {with_address("commune", "99999x"), "identity.address.commune:", "99999x"},
      {with_address("commune", "20004"), "identity.address.commune:", "20004"},
      {with_address("street", "Lilas"), "identity.address:", "Lilas"},
      {with("nir", "1850775123456"), "identity:", "1850775123456"},
      {json{{"sex", "F"}}, "identity:", "\"F\""},
      {json::array(), "identity:", "["},
  };
  for (const Case& c : cases) {
    Status s = ValidateClearIdentity(c.identity);
    ASSERT_FALSE(s.ok()) << c.identity.dump();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message().rfind(c.field, 0), 0u) << s.message();
    EXPECT_EQ(s.message().find(c.secret), std::string::npos) << s.message();
  }
}

TEST(IdentityTest, ValidIdentitiesPass) {
  EXPECT_TRUE(ValidateClearIdentity(Alice()).ok());
  EXPECT_TRUE(ValidateClearIdentity({{"given_names", "Zoé"}}).ok());
  EXPECT_TRUE(
      ValidateClearIdentity({{"family_name", "Santoni"}, {"address", {{"commune", "2A004"}}}})
          .ok());
  EXPECT_TRUE(
      ValidateClearIdentity({{"family_name", "Durand"}, {"birth_date", "2000-02-29"}}).ok());
}

}  // namespace
}  // namespace cpts::events

#include "events/pseudonym.h"

#include <gtest/gtest.h>

namespace cpts::events {
namespace {

constexpr char kSecret[] = "a-test-secret-of-at-least-32-bytes!!";
constexpr char kNir[] = "295109912611193";

TEST(PatientPseudonymTest, TheSameNirUnderOneSecretAlwaysGivesTheSamePseudonym) {
  auto a = PatientPseudonym(kNir, kSecret);
  auto b = PatientPseudonym(kNir, kSecret);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(PatientPseudonymTest, IsTheHmacSha256OfTheNir) {
  // HMAC-SHA256 with this key and message, computed independently
  // (python3 -c "import hmac,hashlib; print(hmac.new(b'a-test-secret-of-at-least-32-bytes!!',
  // b'295109912611193', hashlib.sha256).hexdigest())").
  auto p = PatientPseudonym(kNir, kSecret);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "fb7f9709ef1ead7db67109e7343c790f5eed20246d20b715a7b3bfde107de39e");
}

TEST(PatientPseudonymTest, ACorsicanNirGivesOnePseudonymWhateverItsCase) {
  auto upper = PatientPseudonym("253072B07300470", kSecret);
  auto lower = PatientPseudonym("253072b07300470", kSecret);
  ASSERT_TRUE(upper.ok() && lower.ok());
  EXPECT_EQ(*upper, *lower);
}

TEST(PatientPseudonymTest, AnotherSecretGivesAnotherPseudonym) {
  auto a = PatientPseudonym(kNir, kSecret);
  auto b = PatientPseudonym(kNir, "another-secret-of-at-least-32-bytes!");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(PatientPseudonymTest, AnInvalidNirIsRejectedWithoutBeingEchoed) {
  auto p = PatientPseudonym("295109912611194", kSecret);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message().find("29510991261119"), std::string::npos);
}

TEST(PatientPseudonymTest, AShortSecretIsRefused) {
  auto p = PatientPseudonym(kNir, "too-short");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("32 bytes"), std::string::npos);
}

}  // namespace
}  // namespace cpts::events

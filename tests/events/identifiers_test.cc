#include "events/identifiers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cpts::ids {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CheckNir, AcceptsAMainlandNir) { EXPECT_TRUE(CheckNir("295109912611193").ok()); }

TEST(CheckNir, AcceptsACorsicanNirWhoseKeyCountsTwoBAsEighteen) {
  EXPECT_TRUE(CheckNir("253072B07300470").ok());
}

TEST(CheckNir, RejectsAWrongKeyWithoutShowingTheNumber) {
  const Status status = CheckNir("295109912611194");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("key does not match"));
  EXPECT_THAT(status.message(), Not(HasSubstr("2951099126111")));
}

TEST(CheckNir, RejectsAWrongLength) {
  EXPECT_THAT(CheckNir("29510991261119").message(), HasSubstr("15 characters"));
}

TEST(CheckNir, RejectsLettersOutsideTheCorsicanDepartement) {
  EXPECT_FALSE(CheckNir("2951099126X1193").ok());
}

TEST(CheckNir, RejectsAnUnknownFirstDigit) { EXPECT_FALSE(CheckNir("595109912611193").ok()); }

TEST(WithLuhnDigit, AppendsTheDigitLuhnValidAccepts) {
  EXPECT_EQ(WithLuhnDigit("7992739871"), "79927398713");  // the textbook example
  EXPECT_EQ(WithLuhnDigit("1000345678"), "10003456786");  // an RPPS of the samples
  for (const char* body : {"0", "1", "25000001", "123456789012"}) {
    EXPECT_TRUE(LuhnValid(WithLuhnDigit(body))) << body;
  }
}

TEST(LuhnValid, AcceptsDigitsWhoseLastDigitIsTheLuhnCheck) {
  EXPECT_TRUE(LuhnValid("79927398713"));  // the textbook example
  EXPECT_FALSE(LuhnValid("79927398710"));
  EXPECT_FALSE(LuhnValid(""));
  EXPECT_FALSE(LuhnValid("7992739871a"));
}

TEST(CheckRpps, AcceptsElevenDigitsWithTheirLuhnDigit) {
  // 1000345678 -> sum of the Luhn-doubled digits is 34, so the check digit is 6.
  EXPECT_TRUE(CheckRpps("10003456786").ok());
  EXPECT_TRUE(CheckRpps("10100000008").ok());
}

TEST(CheckRpps, RejectsAWrongCheckDigit) {
  EXPECT_THAT(CheckRpps("10003456789").message(), HasSubstr("Luhn"));
}

TEST(CheckRpps, RejectsAWrongLengthNamingTheRule) {
  EXPECT_EQ(CheckRpps("12345").message(), "\"12345\" is not an RPPS number (11 digits)");
}

TEST(CheckRpps, RejectsLetters) { EXPECT_FALSE(CheckRpps("1000345678A").ok()); }

TEST(CheckAdeli, AcceptsNineDigitsWithTheirLuhnDigit) { EXPECT_TRUE(CheckAdeli("123456782").ok()); }

TEST(CheckAdeli, RejectsAWrongCheckDigit) { EXPECT_FALSE(CheckAdeli("123456789").ok()); }

TEST(CheckAdeli, RejectsAnRppsLengthNumber) { EXPECT_FALSE(CheckAdeli("10003456786").ok()); }

TEST(CheckFiness, AcceptsNineDigitsWithTheirLuhnDigit) {
  EXPECT_TRUE(CheckFiness("250000015").ok());
  EXPECT_TRUE(CheckFiness("750712184").ok());
}

TEST(CheckFiness, RejectsAWrongCheckDigit) {
  EXPECT_THAT(CheckFiness("250000016").message(), HasSubstr("Luhn"));
}

TEST(CheckFiness, AcceptsACorsicanFinessByShape) { EXPECT_TRUE(CheckFiness("2A0000001").ok()); }

TEST(CheckFiness, RejectsAWrongLength) { EXPECT_FALSE(CheckFiness("25000001").ok()); }

TEST(CheckInseeCommune, AcceptsFiveDigits) { EXPECT_TRUE(CheckInseeCommune("25056").ok()); }

TEST(CheckInseeCommune, AcceptsACorsicanCode) {
  EXPECT_TRUE(CheckInseeCommune("2A004").ok());
  EXPECT_TRUE(CheckInseeCommune("2B033").ok());
}

TEST(CheckInseeCommune, RejectsTwentyAsCorsica) {
  EXPECT_THAT(CheckInseeCommune("20004").message(), HasSubstr("Corsica is 2A or 2B"));
}

TEST(CheckInseeCommune, RejectsAWrongLengthOrLetters) {
  EXPECT_FALSE(CheckInseeCommune("2505").ok());
  EXPECT_FALSE(CheckInseeCommune("250560").ok());
  EXPECT_FALSE(CheckInseeCommune("2C004").ok());
  EXPECT_FALSE(CheckInseeCommune("25O56").ok());
}

}  // namespace
}  // namespace cpts::ids

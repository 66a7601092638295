// The key store on RocksDB: keys persist, are wrapped, and leave no trace on disk once destroyed.

#include "connectors/embedded_key_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <set>
#include <thread>

#include "events/json.h"
#include "tests/log/log_test_util.h"
#include "tests/vault/vault_test_util.h"

namespace cpts::keys {
namespace {

using vaulttest::FilesContaining;
using vaulttest::Patient;

class EmbeddedKeyStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyStore> Open() {
    auto store = OpenEmbeddedKeyStore(dir_, master_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // The stored row of `key_id`, read with RocksDB directly (the store must be closed).
  std::string StoredRow(const std::string& key_id) {
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string value;
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "k" + key_id, &value).ok());
    return value;
  }

  logtest::TempDir temp_{"keystore"};
  std::string dir_ = temp_.path() + "/keys";
  vaulttest::MasterKey master_ = vaulttest::RandomMasterKey();
};

TEST_F(EmbeddedKeyStoreTest, APatientKeepsOneKeyFoundByItsIdAcrossReopens) {
  events::DataKey first;
  {
    auto store = Open();
    Result<events::DataKey> key = store->KeyFor(Patient(1));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    first = *key;
    EXPECT_EQ(first.key_id.size(), 32u);
    Result<events::DataKey> again = store->KeyFor(Patient(1));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->key_id, first.key_id);
    EXPECT_EQ(again->bytes, first.bytes);
    Result<events::DataKey> other = store->KeyFor(Patient(2));
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->key_id, first.key_id);
    EXPECT_NE(other->bytes, first.bytes);
  }
  auto store = Open();
  Result<std::optional<events::DataKey>> found = store->Find(first.key_id);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->bytes, first.bytes);
  EXPECT_EQ(store->KeyFor(Patient(1))->key_id, first.key_id);
}

TEST_F(EmbeddedKeyStoreTest, UnknownAndMalformedKeyIdsAreNotFound) {
  auto store = Open();
  EXPECT_FALSE(store->Find(std::string(32, 'a'))->has_value());
  EXPECT_FALSE(store->Find("not a key id")->has_value());
}

TEST_F(EmbeddedKeyStoreTest, APatientMustBeAPseudonym) {
  auto store = Open();
  Result<events::DataKey> key = store->KeyFor("1850775123456");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(key.status().message().find("1850775123456"), std::string::npos);
  EXPECT_FALSE(store->Destroy("somebody").ok());
}

TEST_F(EmbeddedKeyStoreTest, DestroyForgetsTheKeyForGoodAndANewKeyTakesItsPlace) {
  auto store = Open();
  const events::DataKey old = *store->KeyFor(Patient(1));
  const events::DataKey kept = *store->KeyFor(Patient(2));
  Result<int> destroyed = store->Destroy(Patient(1));
  ASSERT_TRUE(destroyed.ok()) << destroyed.status().ToString();
  EXPECT_EQ(*destroyed, 1);
  EXPECT_FALSE(store->Find(old.key_id)->has_value());
  EXPECT_EQ(*store->Destroy(Patient(1)), 0);  // idempotent
  EXPECT_TRUE(store->Find(kept.key_id)->has_value());

  Result<events::DataKey> renewed = store->KeyFor(Patient(1));
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(renewed->key_id, old.key_id);
  EXPECT_NE(renewed->bytes, old.bytes);
  store.reset();
  store = Open();
  EXPECT_FALSE(store->Find(old.key_id)->has_value());
  EXPECT_EQ(store->KeyFor(Patient(1))->key_id, renewed->key_id);
}

// Crypto-shredding on disk: after Destroy, no file of the store holds the wrapped key, while the
// scan still finds another patient's wrapped key (so it would have found this one).
TEST_F(EmbeddedKeyStoreTest, DestroyRemovesTheWrappedKeyFromEveryFile) {
  events::DataKey erased, kept;
  {
    auto store = Open();
    erased = *store->KeyFor(Patient(1));
    kept = *store->KeyFor(Patient(2));
  }
  const auto wrapped = [](const std::string& row) {
    return ::cpts::Json::parse(row)["wrapped"].get<std::string>();
  };
  const std::string erased_wrapped = wrapped(StoredRow(erased.key_id));
  const std::string kept_wrapped = wrapped(StoredRow(kept.key_id));
  const std::string raw(reinterpret_cast<const char*>(erased.bytes.data()), erased.bytes.size());
  const std::string raw_hex = vaulttest::Hex(erased.bytes.data(), erased.bytes.size());
  EXPECT_FALSE(FilesContaining(dir_, erased_wrapped).empty()) << "the scan must see it first";
  // Never, not even before erasure, a data key in clear.
  EXPECT_TRUE(FilesContaining(dir_, raw).empty());
  EXPECT_TRUE(FilesContaining(dir_, raw_hex).empty());

  auto store = Open();
  ASSERT_EQ(*store->Destroy(Patient(1)), 1);
  // While the store is still open, and after it closes.
  EXPECT_EQ(FilesContaining(dir_, erased_wrapped), std::vector<std::string>());
  store.reset();
  EXPECT_EQ(FilesContaining(dir_, erased_wrapped), std::vector<std::string>());
  EXPECT_TRUE(FilesContaining(dir_, raw).empty());
  EXPECT_FALSE(FilesContaining(dir_, kept_wrapped).empty());
}

TEST_F(EmbeddedKeyStoreTest, AnotherMasterKeyIsRefusedAtOpenWithoutShowingIt) {
  { ASSERT_TRUE(Open()->KeyFor(Patient(1)).ok()); }
  const vaulttest::MasterKey wrong = vaulttest::RandomMasterKey();
  auto store = OpenEmbeddedKeyStore(dir_, wrong);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("master key"), std::string::npos);
  EXPECT_EQ(store.status().message().find(vaulttest::Hex(wrong.data(), wrong.size())),
            std::string::npos);
}

TEST_F(EmbeddedKeyStoreTest, ConcurrentCallersGetOneKeyPerPatient) {
  auto store = Open();
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] { ids[i] = store->KeyFor(Patient(7))->key_id; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
}

TEST_F(EmbeddedKeyStoreTest, TheDirectoryIsPrivate) {
  auto store = Open();
  const auto perms = std::filesystem::status(dir_).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

}  // namespace
}  // namespace cpts::keys

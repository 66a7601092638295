// The key store on the keys topic, on the embedded log and on Kafka (the test broker, a separate
// process): stores sharing a topic see each other's keys and erasures.

#include "connectors/log_key_store.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "events/json.h"
#include "events/topics.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"
#include "tests/vault/vault_test_util.h"

namespace cpts::keys {
namespace {

using vaulttest::Patient;

constexpr int kPartitions = 4;

enum class Backend { kEmbedded, kKafka };

class LogKeyStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kKafka) {
      auto broker = test::TestBroker::Start(
          {.brokers = 1, .topics = {{"cpts." + std::string(topics::kKeys), kPartitions}}});
      ASSERT_TRUE(broker.ok()) << broker.status().ToString();
      broker_ = std::move(*broker);
    } else {
      auto log = log::OpenEmbeddedLog({.directory = temp_.path() + "/log", .sync_writes = false});
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      embedded_ = std::move(*log);
      ASSERT_TRUE(embedded_->EnsureTopic({std::string(topics::kKeys), kPartitions, true}).ok());
    }
  }

  // A log as another process would have it: on Kafka its own client, on the embedded log (one
  // process per directory) the same log.
  log::Log& NewLog() {
    if (GetParam() == Backend::kEmbedded) return *embedded_;
    auto log = log::OpenKafkaLog(logtest::KafkaTestOptions(broker_->bootstrap()));
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    kafka_logs_.push_back(std::move(*log));
    return *kafka_logs_.back();
  }

  std::unique_ptr<KeyStore> OpenStore(const vaulttest::MasterKey& master) {
    auto store = OpenLogKeyStore(NewLog(), master);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::unique_ptr<KeyStore> OpenStore() { return OpenStore(master_); }

  logtest::TempDir temp_{"log-keystore"};
  vaulttest::MasterKey master_ = vaulttest::RandomMasterKey();
  std::unique_ptr<test::TestBroker> broker_;
  std::unique_ptr<log::Log> embedded_;
  std::vector<std::unique_ptr<log::Log>> kafka_logs_;  // outlive the tests' stores
};

// Polls `store` until `key_id` is gone, for up to 10 s.
bool Forgotten(KeyStore& store, const std::string& key_id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<std::optional<events::DataKey>> found = store.Find(key_id);
    if (found.ok() && !found->has_value()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_P(LogKeyStoreTest, AKeyMadeByOneStoreIsFoundByAnother) {
  auto first = OpenStore();
  auto second = OpenStore();  // opened before the key exists: finds it by refreshing on a miss
  Result<events::DataKey> key = first->KeyFor(Patient(1));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  Result<std::optional<events::DataKey>> found = second->Find(key->key_id);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->bytes, key->bytes);
  Result<events::DataKey> same = second->KeyFor(Patient(1));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->key_id, key->key_id);
  EXPECT_EQ(first->KeyFor(Patient(1))->key_id, key->key_id);
  EXPECT_NE(first->KeyFor(Patient(2))->key_id, key->key_id);
}

TEST_P(LogKeyStoreTest, DestroyInOneStoreIsSeenByTheOther) {
  auto first = OpenStore();
  auto second = OpenStore();
  const events::DataKey key = *first->KeyFor(Patient(1));
  ASSERT_TRUE(second->Find(key.key_id)->has_value());  // now in the second store's map

  Result<int> destroyed = first->Destroy(Patient(1));
  ASSERT_TRUE(destroyed.ok()) << destroyed.status().ToString();
  EXPECT_EQ(*destroyed, 1);
  EXPECT_FALSE(first->Find(key.key_id)->has_value());  // at once in the store that destroyed it
  EXPECT_TRUE(Forgotten(*second, key.key_id));
  EXPECT_EQ(*second->Destroy(Patient(1)), 0);
  EXPECT_EQ(*first->Destroy(Patient(1)), 0);

  const events::DataKey renewed = *second->KeyFor(Patient(1));
  EXPECT_NE(renewed.key_id, key.key_id);
  EXPECT_EQ((*first->Find(renewed.key_id))->bytes, renewed.bytes);
}

TEST_P(LogKeyStoreTest, ANewStoreLoadsTheTopicWithItsErasures) {
  events::DataKey erased, kept;
  {
    auto store = OpenStore();
    erased = *store->KeyFor(Patient(1));
    kept = *store->KeyFor(Patient(2));
    ASSERT_EQ(*store->Destroy(Patient(1)), 1);
  }
  auto store = OpenStore();
  EXPECT_FALSE(store->Find(erased.key_id)->has_value());
  ASSERT_TRUE(store->Find(kept.key_id)->has_value());
  EXPECT_EQ((*store->Find(kept.key_id))->bytes, kept.bytes);
  EXPECT_EQ(store->KeyFor(Patient(2))->key_id, kept.key_id);
  EXPECT_NE(store->KeyFor(Patient(1))->key_id, erased.key_id);
}

TEST_P(LogKeyStoreTest, TheTopicHoldsWrappedKeysAndTombstonesNeverAKeyInClear) {
  auto store = OpenStore();
  const events::DataKey key = *store->KeyFor(Patient(1));
  ASSERT_EQ(*store->Destroy(Patient(1)), 1);
  Result<std::vector<log::StoredRecord>> records =
      logtest::ReadAll(NewLog(), std::string(topics::kKeys), kPartitions);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  const std::string raw(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size());
  for (const log::StoredRecord& r : *records) {
    EXPECT_EQ(r.key, key.key_id);
    EXPECT_EQ(r.value.find(raw), std::string::npos);
    EXPECT_EQ(r.value.find(vaulttest::Hex(key.bytes.data(), key.bytes.size())), std::string::npos);
  }
  EXPECT_NE((*records)[0].value.find("wrapped"), std::string::npos);
  EXPECT_EQ((*records)[1].value, "");  // the tombstone
}

TEST_P(LogKeyStoreTest, AnotherMasterKeyIsRefusedAtOpen) {
  { ASSERT_TRUE(OpenStore()->KeyFor(Patient(1)).ok()); }
  auto store = OpenLogKeyStore(NewLog(), vaulttest::RandomMasterKey());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("master key"), std::string::npos);
}

TEST_P(LogKeyStoreTest, ConcurrentCallersInOneProcessGetOneKeyPerPatient) {
  auto store = OpenStore();
  std::vector<std::string> ids(6);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] { ids[i] = store->KeyFor(Patient(3))->key_id; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Logs, LogKeyStoreTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kKafka),
                         [](const auto& info) {
                           return info.param == Backend::kEmbedded ? "Embedded" : "Kafka";
                         });

TEST_P(LogKeyStoreTest, ATombstoneWithAValueIsRefused) {
  std::vector<log::Record> records = {log::Record{.key = "k", .value = "x", .tombstone = true}};
  Result<std::vector<log::Position>> appended = NewLog().Append(topics::kKeys, records);
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.status().code(), StatusCode::kInvalidArgument);
}

// On Kafka, a tombstone must be a NULL value (what compaction deletes), as an independent client
// (kcat) reads it, not an empty one.
TEST(LogKeyStoreKafkaTest, DestroyWritesNullValuesOnKafka) {
  auto broker = test::TestBroker::Start(
      {.brokers = 1, .topics = {{"cpts." + std::string(topics::kKeys), kPartitions}}});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  auto log = log::OpenKafkaLog(logtest::KafkaTestOptions((*broker)->bootstrap()));
  ASSERT_TRUE(log.ok());
  auto store = OpenLogKeyStore(**log, vaulttest::RandomMasterKey());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const events::DataKey key = *(*store)->KeyFor(Patient(1));
  ASSERT_EQ(*(*store)->Destroy(Patient(1)), 1);

  Result<std::string> out = test::RunAndCapture(
      {"kcat", "-b", (*broker)->bootstrap(), "-C", "-t", "cpts.keys", "-e", "-q", "-J"},
      std::chrono::seconds(30));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  int nulls = 0, values = 0;
  std::istringstream lines(*out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const ::cpts::Json j = ::cpts::Json::parse(line);
    EXPECT_EQ(j["key"], key.key_id);
    if (j["payload"].is_null())
      ++nulls;
    else
      ++values;
  }
  EXPECT_EQ(nulls, 1) << *out;
  EXPECT_EQ(values, 1) << *out;
}

}  // namespace
}  // namespace cpts::keys

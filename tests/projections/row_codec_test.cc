// The row codec and the row batch: EncodeRow writes the same bytes as nlohmann's to_msgpack (the digest and every
// stored row depend on them), and DecodeRow reads them back to the same value.

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "events/json.h"
#include "projections/read_models.h"
#include "projections/store.h"

namespace cpts::projections {
namespace {

using json = ::cpts::Json;

void ExpectSameAsNlohmann(const json& value) {
  std::string expected;
  json::to_msgpack(value, expected);
  EXPECT_EQ(EncodeRow(value), expected) << value.dump();
  Result<json> back = DecodeRow(EncodeRow(value), keys::Key({"test"}));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, value) << value.dump();
}

TEST(RowCodecTest, ScalarsAtEveryFormatBoundary) {
  for (int64_t n : std::vector<int64_t>{0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
                                        4294967296LL, std::numeric_limits<int64_t>::max(), -1,
                                        -32, -33, -128, -129, -32768, -32769, -2147483648LL,
                                        -2147483649LL, std::numeric_limits<int64_t>::min()}) {
    ExpectSameAsNlohmann(json(n));
  }
  for (uint64_t n : std::vector<uint64_t>{0, 127, 128, 255, 256, 65535, 65536, 4294967295ULL,
                                          4294967296ULL, std::numeric_limits<uint64_t>::max()}) {
    ExpectSameAsNlohmann(json(n));
  }
  ExpectSameAsNlohmann(json(nullptr));
  ExpectSameAsNlohmann(json(true));
  ExpectSameAsNlohmann(json(false));
  ExpectSameAsNlohmann(json(0.5));   // fits a float
  ExpectSameAsNlohmann(json(0.1));   // needs a double
}

TEST(RowCodecTest, StringsOfEveryLengthFormat) {
  for (size_t n : {0, 1, 31, 32, 255, 256, 65535, 65536}) {
    ExpectSameAsNlohmann(json(std::string(n, 'x')));
  }
  ExpectSameAsNlohmann(json(std::string("a\0b\xc3\xa9", 5)));
}

TEST(RowCodecTest, ArraysAndObjectsOfEverySizeFormat) {
  for (size_t n : {0, 1, 15, 16, 65535, 65536}) {
    json array = json::array();
    json object = json::object();
    for (size_t i = 0; i < n; ++i) {
      array.push_back(static_cast<int64_t>(i) - 40);
      char key[24];  // zero-padded: inserted in key order, as rows are
      std::snprintf(key, sizeof key, "k%06zu", i);
      object[key] = i;
    }
    ExpectSameAsNlohmann(array);
    ExpectSameAsNlohmann(object);
  }
}

TEST(RowCodecTest, ARowLikeTheReadModelsWrite) {
  ExpectSameAsNlohmann(json{{"discharge_id", "D-42"},
                            {"discharged_ms", 1767225600000},
                            {"cancelled", false},
                            {"needs", {"gp_visit", "nursing"}},
                            {"gp", nullptr},
                            {"followups",
                             {{{"followup_id", "F-1"}, {"status", "assigned"}, {"delta", -3}}}},
                            {"counts", json::object()}});
}

}  // namespace
}  // namespace cpts::projections

namespace cpts::projections {
namespace {

// RowWriter writes what EncodeRow would for the same value: the outcome rows it writes are read
// back through DecodeRow and count in the digest like every other row.
TEST(RowCodecTest, RowWriterWritesTheBytesOfEncodeRow) {
  const std::string id(36, 'e');
  const json outcome = {{"id", id},
                        {"offset", int64_t{70000}},
                        {"partition", 3},
                        {"rejection", {{"code", "at_capacity"}, {"reason", std::string(40, 'r')}}},
                        {"sequence", uint64_t{4294967296ULL}},
                        {"time", "2026-01-05T10:00:00.000Z"},
                        {"type", "fr.cpts.command.rejected.v1"}};
  RowWriter writer(7);
  writer.String("id", id).Signed("offset", 70000).Signed("partition", 3);
  writer.Object("rejection", 2)
      .String("code", "at_capacity")
      .String("reason", std::string(40, 'r'));
  writer.Unsigned("sequence", 4294967296ULL)
      .String("time", "2026-01-05T10:00:00.000Z")
      .String("type", "fr.cpts.command.rejected.v1");
  EXPECT_EQ(writer.Take(), EncodeRow(outcome));

  RowWriter negative(1);
  negative.Signed("n", -129);
  EXPECT_EQ(negative.Take(), EncodeRow({{"n", -129}}));
  RowWriter many(16);  // past the fixmap's 15 members
  json expected = json::object();
  for (char c = 'a'; c < 'a' + 16; ++c) {
    many.Unsigned(std::string(1, c), 1);
    expected[std::string(1, c)] = 1;
  }
  EXPECT_EQ(many.Take(), EncodeRow(expected));
}

// Dropping the cache frees each row as it is encoded: what was written must be whole.
TEST(RowBatchTest, CommitAndDropCacheWritesEveryRowThenReadsThemFromDisk) {
  const std::string directory = ::testing::TempDir() + "row_batch_drop_" +
                                std::to_string(::getpid());
  std::filesystem::remove_all(directory);
  Result<std::unique_ptr<ProjectionStore>> store = ProjectionStore::Open({.directory = directory});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RowBatch rows(store->get());
  const json row = {{"discharge_id", "D-1"}, {"followups", {{{"status", "assigned"}}}}};
  rows.Put(keys::Key({"discharge", "cpts-a", "D-1"}), row);
  rows.Put(keys::Key({"discharge", "cpts-a", "D-2"}), json{{"n", 2}});
  rows.Erase(keys::Key({"discharge", "cpts-a", "D-2"}));
  ASSERT_TRUE(rows.CommitAndDropCache({{0, 3}}).ok());
  EXPECT_EQ(rows.cached_rows(), 0u);

  Result<const json*> back = rows.Read(keys::Key({"discharge", "cpts-a", "D-1"}));
  ASSERT_TRUE(back.ok());
  ASSERT_NE(*back, nullptr);
  EXPECT_EQ(**back, row);
  Result<const json*> erased = rows.Read(keys::Key({"discharge", "cpts-a", "D-2"}));
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(*erased, nullptr);
  Result<Positions> positions = (*store)->ReadPositions();
  ASSERT_TRUE(positions.ok());
  EXPECT_EQ(*positions, (Positions{{0, 3}}));
  ASSERT_TRUE((*store)->Close().ok());
  std::filesystem::remove_all(directory);
}

// A build's RowBatch answers "absent" from the keys it has written (a Bloom filter), without
// RocksDB: every row it committed, through more layers of the filter than one, must still be
// found, and rows it never wrote are absent.
TEST(RowBatchTest, ABuildFindsEveryRowItWroteAndNoneItDidNot) {
  const std::string directory = ::testing::TempDir() + "row_batch_build_" +
                                std::to_string(::getpid());
  std::filesystem::remove_all(directory);
  Result<std::unique_ptr<ProjectionStore>> store =
      ProjectionStore::Open({.directory = directory, .bulk_load = true});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RowBatch rows(store->get());
  constexpr int kRows = 1'300'000;  // a filter layer takes 600,000 keys
  const auto key = [](int i) { return keys::Key({"discharge", "cpts-a", std::to_string(i)}); };
  for (int i = 0; i < kRows; i += 2) {
    rows.Put(key(i), json(i));
    if (rows.cached_rows() >= 100'000) {
      ASSERT_TRUE(rows.CommitAndDropCache({}).ok());
    }
  }
  ASSERT_TRUE(rows.CommitAndDropCache({}).ok());
  for (int i = 0; i < kRows; ++i) {
    Result<const json*> row = rows.Read(key(i));
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    if (i % 2 == 0) {
      ASSERT_NE(*row, nullptr) << i;
      ASSERT_EQ(**row, json(i));
    } else {
      ASSERT_EQ(*row, nullptr) << i;
    }
    if (rows.cached_rows() >= 100'000) {
      ASSERT_TRUE(rows.CommitAndDropCache({}).ok());
    }
  }
  ASSERT_TRUE((*store)->Close().ok());
  // That is only sound in a new store: a build never opens one that holds rows.
  Result<std::unique_ptr<ProjectionStore>> again =
      ProjectionStore::Open({.directory = directory, .bulk_load = true});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status().ToString();
  std::filesystem::remove_all(directory);
}

// A row that does not decode fails its read and is not cached: the next read fails again, and
// the rows cached beside it stay found. Edited and not committed, each cached row must come
// back with its edit: a row the cache lost would be read again from disk, without it.
TEST(RowBatchTest, ARowThatDoesNotDecodeFailsAndLeavesTheCachedRowsAsTheyWere) {
  const std::string directory = ::testing::TempDir() + "row_batch_corrupt_" +
                                std::to_string(::getpid());
  std::filesystem::remove_all(directory);
  Result<std::unique_ptr<ProjectionStore>> store = ProjectionStore::Open({.directory = directory});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  constexpr int kRows = 4'000;  // the cache's index is then about half full: long probe runs
  constexpr int kCorrupt = 200;
  const auto key = [](int i) { return keys::Key({"discharge", "cpts-a", std::to_string(i)}); };
  const auto corrupt = [](int i) { return keys::Key({"stay", "cpts-a", std::to_string(i)}); };
  {
    RowBatch writer(store->get());
    for (int i = 0; i < kRows; ++i) writer.Put(key(i), json{{"n", i}});
    for (int i = 0; i < kCorrupt; ++i) writer.PutUncached(corrupt(i), "\xc1");  // never MessagePack
    ASSERT_TRUE(writer.Commit({}).ok());
  }
  RowBatch rows(store->get());
  for (int i = 0; i < kRows; ++i) {
    Result<json*> row = rows.Edit(key(i));
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    ASSERT_NE(*row, nullptr);
    (**row)["n"] = i + 1;
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kCorrupt; ++i) {
      Result<const json*> row = rows.Read(corrupt(i));
      ASSERT_FALSE(row.ok()) << i;
      EXPECT_EQ(row.status().code(), StatusCode::kCorruption);
    }
  }
  EXPECT_EQ(rows.cached_rows(), static_cast<size_t>(kRows));
  for (int i = 0; i < kRows; ++i) {
    Result<const json*> row = rows.Read(key(i));
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    ASSERT_NE(*row, nullptr);
    ASSERT_EQ(**row, (json{{"n", i + 1}})) << i;
  }
  ASSERT_TRUE((*store)->Close().ok());
  std::filesystem::remove_all(directory);
}

// The digest is SHA-256 over "<length>:<key><length>:<value>" for every row in key order, positions
// (meta rows) and commands' outcomes left out. Computed here independently, over rows enough to
// fill several of the buffers the digest hashes on its own thread.
TEST(StoreDigestTest, IsTheSha256OfEveryReadModelRowInKeyOrder) {
  const std::string directory = ::testing::TempDir() + "store_digest_" + std::to_string(::getpid());
  std::filesystem::remove_all(directory);
  Result<std::unique_ptr<ProjectionStore>> store = ProjectionStore::Open({.directory = directory});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  {
    RowBatch rows(store->get());
    for (int i = 0; i < 30'000; ++i) {
      const std::string n = std::to_string(i);
      rows.Put(keys::Key({i % 3 == 0 ? "discharge" : "stay", "cpts-" + std::to_string(i % 7), n}),
               json{{"n", i}, {"text", std::string(100 + i % 50, 'a' + i % 26)}});
      if (i % 10 == 0) rows.PutUncached(keys::Key({rows::kOutcome, "cpts-1", n}), EncodeRow(json(i)));
    }
    ASSERT_TRUE(rows.Commit({{0, 30'000}, {1, 12}}).ok());
  }
  std::string hashed_bytes;
  const auto add = [&](std::string_view bytes) {
    hashed_bytes += std::to_string(bytes.size()) + ":";
    hashed_bytes += bytes;
  };
  const std::string meta = keys::Key({"meta"});
  const std::string outcome = keys::Key({rows::kOutcome});
  size_t hashed = 0;
  std::unique_ptr<StoreSnapshot> snapshot = (*store)->Snapshot();
  ASSERT_TRUE(snapshot->ScanKeys("", [&](std::string_view key, std::string_view value) {
    if (key.starts_with(meta) || key.starts_with(outcome)) return true;
    add(key);
    add(value);
    ++hashed;
    return true;
  }).ok());
  EXPECT_EQ(hashed, 30'000u);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(hashed_bytes.data()), hashed_bytes.size(), digest);
  std::string expected;
  for (unsigned char byte : digest) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", byte);
    expected += hex;
  }
  Result<std::string> actual = (*store)->Digest();
  ASSERT_TRUE(actual.ok()) << actual.status().ToString();
  EXPECT_EQ(*actual, expected);
  snapshot.reset();
  ASSERT_TRUE((*store)->Close().ok());
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace cpts::projections

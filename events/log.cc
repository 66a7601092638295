#include "events/log.h"

#include <cassert>
#include <string>

namespace cpts::log {

uint32_t Murmur2(std::string_view data) {
  // Kafka's org.apache.kafka.common.utils.Utils.murmur2, in unsigned arithmetic (same bits).
  const uint32_t length = static_cast<uint32_t>(data.size());
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28c ^ length;
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(data[i])); };
  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    uint32_t k = byte(i4) + (byte(i4 + 1) << 8) + (byte(i4 + 2) << 16) + (byte(i4 + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= byte(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

Partition PartitionForKey(std::string_view key, int32_t partitions) {
  assert(partitions > 0);
  return Partition(
      static_cast<int32_t>((Murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partitions)));
}

Status ValidateTopicName(std::string_view topic) {
  // Kafka's rule, so a name valid on one log is valid on the other.
  if (topic.empty() || topic.size() > 200) {
    return Status::InvalidArgument("topic name must have 1 to 200 characters");
  }
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("topic name \"" + std::string(topic) +
                                     "\" may hold only letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

size_t RecordBytes(const Record& record) {
  size_t bytes = record.key.size() + record.value.size();
  for (const Header& h : record.headers) bytes += h.key.size() + h.value.size();
  return bytes;
}

Status ValidateRecords(std::string_view topic, std::span<const Record> records, int32_t partitions,
                       size_t max_record_bytes) {
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const std::string where = "record " + std::to_string(i) + " for topic " + std::string(topic);
    if (r.partition.has_value()) {
      if (r.partition->value() < 0 || r.partition->value() >= partitions) {
        return Status::InvalidArgument(
            where + ": partition " + std::to_string(r.partition->value()) +
            " does not exist (the topic has " + std::to_string(partitions) + " partitions)");
      }
    } else if (r.key.empty()) {
      return Status::InvalidArgument(where +
                                     ": needs a key (the CPTS id) or an explicit partition");
    }
    const size_t bytes = RecordBytes(r);
    if (bytes > max_record_bytes) {
      return Status::InvalidArgument(where + ": " + std::to_string(bytes) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(max_record_bytes) + " bytes per record");
    }
    for (const Header& h : r.headers) {
      if (h.key.empty()) return Status::InvalidArgument(where + ": a header has an empty name");
    }
    if (r.timestamp_ms < 0) {
      return Status::InvalidArgument(where + ": timestamp must not be negative");
    }
    if (r.tombstone && !r.value.empty()) {
      return Status::InvalidArgument(where + ": a tombstone has no value");
    }
  }
  return Status::Ok();
}

Status ValidateTopicSpec(const TopicSpec& spec) {
  CPTS_RETURN_IF_ERROR(ValidateTopicName(spec.name));
  if (spec.partitions <= 0 || spec.partitions > 10000) {
    return Status::InvalidArgument("topic " + spec.name + ": partitions must be 1 to 10000, got " +
                                   std::to_string(spec.partitions));
  }
  return Status::Ok();
}

Status PartitionCountMismatch(const std::string& where, int32_t existing, int32_t wanted) {
  return Status::FailedPrecondition(
      where + " has " + std::to_string(existing) + " partitions, the configuration asks for " +
      std::to_string(wanted) +
      ": changing the count would move CPTS streams between partitions; keep the existing "
      "count, or migrate by replaying the log into new topics (docs/log.md)");
}

Status ValidatePartition(const TopicPartition& tp, int32_t partitions) {
  if (tp.partition.value() < 0 || tp.partition.value() >= partitions) {
    return Status::InvalidArgument("topic " + tp.topic + " has no partition " +
                                   std::to_string(tp.partition.value()) + " (it has " +
                                   std::to_string(partitions) + ")");
  }
  return Status::Ok();
}

Status ValidateReadPosition(const TopicPartition& tp, Offset from, Offset end) {
  if (from.value() < 0 || from > end) {
    return Status::InvalidArgument("position " + std::to_string(from.value()) + " of " + tp.topic +
                                   "/" + std::to_string(tp.partition.value()) +
                                   " is outside the log (it ends at " +
                                   std::to_string(end.value()) + ")");
  }
  return Status::Ok();
}

Partition RouteRecord(const Record& record, int32_t partitions) {
  return record.partition.has_value() ? *record.partition : PartitionForKey(record.key, partitions);
}

Status ForEachRecord(Log& log, std::string_view topic_name,
                     const std::function<bool(const StoredRecord&)>& visit) {
  const std::string topic(topic_name);
  Result<int32_t> partitions = log.PartitionCount(topic);
  if (!partitions.ok()) return partitions.status();
  Result<std::unique_ptr<LogReader>> reader = log.OpenReader();
  if (!reader.ok()) return reader.status();
  for (int32_t p = 0; p < *partitions; ++p) {
    const TopicPartition tp{topic, Partition(p)};
    Result<Offset> begin = log.BeginOffset(tp);
    if (!begin.ok()) return begin.status();
    Result<Offset> end = log.EndOffset(tp);
    if (!end.ok()) return end.status();
    if (*end <= *begin) continue;
    CPTS_RETURN_IF_ERROR((*reader)->Assign(tp, *begin));
    for (Offset next = *begin; next < *end;) {
      Result<std::vector<StoredRecord>> batch = (*reader)->Poll(std::chrono::seconds(10), 10000);
      if (!batch.ok()) return batch.status();
      if (batch->empty()) {
        return Status::TimedOut("partition " + std::to_string(p) + " of " + topic +
                                " stopped before its end offset " + std::to_string(end->value()));
      }
      for (const StoredRecord& r : *batch) {
        if (r.offset >= *end) break;
        if (!visit(r)) return Status::Ok();
        next = r.offset.Next();
      }
    }
    CPTS_RETURN_IF_ERROR((*reader)->Unassign(tp));
  }
  return Status::Ok();
}

}  // namespace cpts::log

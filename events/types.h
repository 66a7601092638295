#pragma once
// Strong types for the numbers that must never be mixed up: partitions, log offsets and stream
// sequence numbers. Plain values; thread-safe.

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace cpts {

template <typename Tag, typename T>
class StrongNumber {
 public:
  using value_type = T;
  constexpr StrongNumber() = default;
  constexpr explicit StrongNumber(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const StrongNumber&) const = default;
  constexpr StrongNumber Next() const { return StrongNumber(v_ + 1); }
  friend std::ostream& operator<<(std::ostream& os, StrongNumber n) { return os << n.v_; }

 private:
  T v_{};
};

// A partition of a topic, 0-based.
using Partition = StrongNumber<struct PartitionTag, int32_t>;
// A record's position inside one partition, 0-based, gapless on the embedded log; on Kafka,
// increasing but not always contiguous (transaction markers, compaction).
using Offset = StrongNumber<struct OffsetTag, int64_t>;
// An event's number inside its stream (one CPTS), 1-based and gapless.
using Sequence = StrongNumber<struct SequenceTag, uint64_t>;

}  // namespace cpts

template <typename Tag, typename T>
struct std::hash<cpts::StrongNumber<Tag, T>> {
  size_t operator()(cpts::StrongNumber<Tag, T> n) const { return std::hash<T>()(n.value()); }
};

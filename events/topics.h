#pragma once
// The product's topics (ARCHITECTURE.md): logical names, the same on both logs; the Kafka log
// prefixes them ("cpts.events").

#include <cstdint>
#include <string_view>
#include <vector>

#include "events/log.h"

namespace cpts::topics {

inline constexpr std::string_view kCommands = "commands";  // key = CPTS id
inline constexpr std::string_view kEvents = "events";      // key = CPTS id; the source of truth
inline constexpr std::string_view kAccess = "access";      // traces of patient-level reads
inline constexpr std::string_view kKeys = "keys";          // per-patient data keys, compacted

// Default: 16. Fixed when the topics are created: changing it moves streams between partitions.
inline constexpr int32_t kDefaultPartitions = 16;

// Every topic the product needs, commands and events with the same partition count so a CPTS's
// commands and events share a partition number.
inline std::vector<log::TopicSpec> AllTopics(int32_t partitions) {
  return {
      {std::string(kCommands), partitions, false},
      {std::string(kEvents), partitions, false},
      {std::string(kAccess), partitions, false},
      {std::string(kKeys), partitions, true},
  };
}

}  // namespace cpts::topics

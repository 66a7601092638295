#pragma once
// An independent check of the events topic, written apart from StreamFold so the code that
// builds history does not also judge it: per stream, sequences from 1 without gaps, each
// prevhash the SHA-256 of the previous event's stored bytes, and what each command caused.

#include <map>
#include <string>
#include <vector>

#include "events/log.h"

namespace cpts::test {

struct HistoryCheck {
  size_t applied = 0;                      // events that extend their stream's chain
  size_t not_applied = 0;                  // duplicates and zombie events: a position already taken
  std::vector<std::string> problems;       // gaps, broken chains, unreadable records
  std::map<std::string, int> outcomes;     // command id -> events it caused in the chain
  std::map<std::string, int> rejections;   // rejection code -> count
  std::vector<std::string> over_capacity;  // a GP accepting beyond its declared capacity
  std::map<std::string, size_t> stream_lengths;
  std::map<std::string, size_t> appended_by;  // records per cpts-decider header, applied or not
};

HistoryCheck CheckHistory(log::Log& log, int partitions);

}  // namespace cpts::test

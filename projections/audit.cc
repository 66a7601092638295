#include "projections/audit.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "events/codec.h"
#include "events/encoding.h"
#include "events/envelope.h"
#include "events/json_input.h"
#include "events/topics.h"
#include "projections/clock.h"

namespace cpts::projections {
namespace {

namespace fs = std::filesystem;
using json = ::cpts::Json;

// Records per Poll when scanning a partition.
constexpr size_t kScanBatch = 20'000;
// A partition that brings nothing new for this long has stalled: fail rather than wait forever.
constexpr auto kStallTimeout = std::chrono::seconds(30);
// Events of one stream held while waiting for a missing sequence. Past it the smallest gap is
// reported missing, so memory stays bounded whatever the log holds.
constexpr size_t kReorderWindow = 200'000;
// A sequence this far beyond a stream's last one is not believed (and not allocated for).
constexpr uint64_t kMaxJump = 10'000'000;
// Offsets past the end of a stream, used as "no upper bound".
constexpr int64_t kNoPosition = -1;
constexpr int64_t kEndPosition = INT64_MAX;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool IsLowerHex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Ids and types are printed in reports only when they look like ours: an altered attribute
// could hold anything, including personal data.
std::string ShownId(std::string_view id) {
  const bool uuid = id.size() == 36 && std::all_of(id.begin(), id.end(), [](char c) {
                      return c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                    });
  return uuid ? std::string(id) : std::string();
}
std::string ShownType(std::string_view type) {
  const bool ok = !type.empty() && type.size() <= 100 &&
                  std::all_of(type.begin(), type.end(), [](char c) {
                    return c == '.' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
                  });
  return ok ? std::string(type) : std::string();
}
std::string ShownStream(std::string_view cptsid) {
  return events::IsCptsId(cptsid) ? std::string(cptsid) : std::string();
}

using Hash16 = std::array<uint8_t, 16>;
// The first 128 bits of a hex SHA-256: enough to tell two stored events apart.
Hash16 Prefix(std::string_view hex) {
  Hash16 out{};
  const auto nibble = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (size_t i = 0; i < out.size() && 2 * i + 1 < hex.size(); ++i) {
    out[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

std::string Seq(uint64_t s) { return "#" + std::to_string(s); }

// --- Reading an event --------------------------------------------------------------------

// What the chain needs from an event.
struct Attributes {
  std::string id, cptsid, prevhash, causationid, type, time;
  uint64_t sequence = 0;
};

constexpr std::array<std::string_view, 15> kEnvelopeKeys = {
    "actor",  "causationid", "correlationid", "cptsid",        "data",
    "datacontenttype", "id", "prevhash",      "schemaversion", "sequence",
    "source", "specversion", "subject",       "time",          "type"};

// The envelope's top level, scanned without building anything: the attributes the chain needs
// are decoded, every other value (data included) is checked for JSON syntax and skipped. Much
// cheaper than the codec's strict parser, which builds `data` as a DOM; the full codec stays
// available (--deep), and any change to the stored bytes is caught by the chain anyway.
class EnvelopeScanner {
 public:
  explicit EnvelopeScanner(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  Status Scan(Attributes& a) {
    Ws();
    if (!Eat('{')) return Bad("the event is not a JSON object");
    uint32_t seen = 0;
    size_t hint = 0;
    bool have_sequence = false;
    Ws();
    if (Eat('}')) return Bad("the event is an empty object");
    std::string scratch;
    std::string_view key;
    while (true) {
      Ws();
      if (!Key(key, scratch)) return Bad("the event is not valid JSON (an object key)");
      Ws();
      if (!Eat(':')) return Bad("the event is not valid JSON (no ':' after a key)");
      Ws();
      // Stored events are canonical: keys sorted, so the next one is usually the next expected.
      size_t i = hint < kEnvelopeKeys.size() && kEnvelopeKeys[hint] == key
                     ? hint
                     : static_cast<size_t>(
                           std::find(kEnvelopeKeys.begin(), kEnvelopeKeys.end(), key) -
                           kEnvelopeKeys.begin());
      if (i == kEnvelopeKeys.size()) {
        return Bad("unknown attribute " + events::QuotedName(key));
      }
      const std::string name(kEnvelopeKeys[i]);
      if ((seen & (uint32_t{1} << i)) != 0) {
        return Bad("the event holds attribute " + name + " twice");
      }
      seen |= uint32_t{1} << i;
      hint = i + 1;
      if (std::string Attributes::*text = kTextSlots[i]; text != nullptr) {
        if (!String(&(a.*text))) return Bad(name + " must be a string");
      } else if (i == kSequenceKey) {
        if (!Unsigned(a.sequence)) return Bad("sequence must be an integer of 1 or more");
        have_sequence = true;
      } else if (!Skip(0)) {
        return Bad("the event is not valid JSON (attribute " + name + ")");
      }
      Ws();
      if (Eat(',')) continue;
      if (Eat('}')) break;
      return Bad("the event is not valid JSON (after attribute " + name + ")");
    }
    Ws();
    if (p_ != end_) return Bad("the event has bytes after its JSON object");
    for (std::string_view name : {"id", "cptsid", "prevhash", "causationid", "type", "time"}) {
      const size_t i = static_cast<size_t>(
          std::find(kEnvelopeKeys.begin(), kEnvelopeKeys.end(), name) - kEnvelopeKeys.begin());
      if ((seen & (uint32_t{1} << i)) == 0) return Bad(std::string(name) + " is missing");
    }
    if (!have_sequence || a.sequence == 0) {
      return Bad("sequence must be an integer of 1 or more");
    }
    return Status::Ok();
  }

 private:
  // Where each of kEnvelopeKeys goes: the string attributes the chain needs, by index.
  static constexpr std::array<std::string Attributes::*, 15> kTextSlots = {
      nullptr,          &Attributes::causationid, nullptr, &Attributes::cptsid, nullptr,
      nullptr,          &Attributes::id,          &Attributes::prevhash, nullptr, nullptr,
      nullptr,          nullptr,                  nullptr, &Attributes::time, &Attributes::type};
  static constexpr size_t kSequenceKey = 9;

  // A key at p_: a view of the input when it has no escape (always, in canonical JSON), else
  // decoded into `scratch`.
  bool Key(std::string_view& key, std::string& scratch) {
    if (p_ < end_ && *p_ == '"') {
      const char* q = static_cast<const char*>(std::memchr(p_ + 1, '"', static_cast<size_t>(end_ - p_ - 1)));
      if (q != nullptr && std::memchr(p_ + 1, '\\', static_cast<size_t>(q - p_ - 1)) == nullptr &&
          NoControl(p_ + 1, q)) {
        key = std::string_view(p_ + 1, static_cast<size_t>(q - p_ - 1));
        p_ = q + 1;
        return true;
      }
    }
    if (!String(&scratch)) return false;
    key = scratch;
    return true;
  }
  // No byte below 0x20 (JSON forbids raw control characters in strings), 8 bytes at a time:
  // (x - 0x20..) & ~x & 0x80.. is non-zero exactly when some byte of x is below 0x20.
  static bool NoControl(const char* from, const char* to) {
    constexpr uint64_t kLow = 0x2020202020202020ULL, kHigh = 0x8080808080808080ULL;
    for (; to - from >= 8; from += 8) {
      uint64_t x;
      std::memcpy(&x, from, 8);
      if (((x - kLow) & ~x & kHigh) != 0) return false;
    }
    for (; from < to; ++from) {
      if (static_cast<unsigned char>(*from) < 0x20) return false;
    }
    return true;
  }
  static Status Bad(const std::string& what) { return Status::InvalidArgument(what); }

  void Ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool Eat(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool Hex4(uint32_t& v) {
    if (end_ - p_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = Hex(*p_++);
      if (h < 0) return false;
      v = v << 4 | static_cast<uint32_t>(h);
    }
    return true;
  }
  static void PutUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | cp >> 6));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | cp >> 12));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | cp >> 18));
      out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  // A string at p_, decoded into *out when out is set.
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    if (out != nullptr) out->clear();
    // Most strings have no escape: find the closing quote with memchr, check the run at once.
    if (const char* q = static_cast<const char*>(std::memchr(p_, '"', static_cast<size_t>(end_ - p_)));
        q != nullptr && std::memchr(p_, '\\', static_cast<size_t>(q - p_)) == nullptr) {
      if (!NoControl(p_, q)) return false;
      if (out != nullptr) out->assign(p_, q);
      p_ = q + 1;
      return true;
    }
    const char* run = p_;  // bytes copied as they are, up to the next escape or the end
    while (p_ < end_) {
      const char c = *p_;
      if (c == '"') {
        if (out != nullptr) out->append(run, p_);
        ++p_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        ++p_;
        continue;
      }
      if (out != nullptr) out->append(run, p_);
      if (++p_ == end_) return false;
      const char e = *p_++;
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            uint32_t low = 0;
            if (!Literal("\\u") || !Hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          if (out != nullptr) PutUtf8(cp, *out);
          break;
        }
        default:
          return false;
      }
      if (plain != 0 && out != nullptr) out->push_back(plain);
      run = p_;
    }
    return false;
  }
  // A JSON integer of 1 or more that fits 64 bits (no sign, fraction or exponent).
  bool Unsigned(uint64_t& v) {
    if (p_ == end_ || *p_ < '1' || *p_ > '9') return false;
    v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      const uint64_t d = static_cast<uint64_t>(*p_ - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
      ++p_;
    }
    return p_ == end_ || (*p_ != '.' && *p_ != 'e' && *p_ != 'E');
  }
  bool Number() {
    Eat('-');
    if (Eat('0')) {
    } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    if (Eat('.')) {
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    return true;
  }
  // Any JSON value, checked and skipped.
  bool Skip(int depth) {
    if (depth > 128 || p_ == end_) return false;
    switch (*p_) {
      case '"':
        return String(nullptr);
      case '{': {
        ++p_;
        Ws();
        if (Eat('}')) return true;
        while (true) {
          Ws();
          if (!String(nullptr)) return false;
          Ws();
          if (!Eat(':')) return false;
          Ws();
          if (!Skip(depth + 1)) return false;
          Ws();
          if (Eat(',')) continue;
          return Eat('}');
        }
      }
      case '[': {
        ++p_;
        Ws();
        if (Eat(']')) return true;
        while (true) {
          Ws();
          if (!Skip(depth + 1)) return false;
          Ws();
          if (Eat(',')) continue;
          return Eat(']');
        }
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  const char* p_;
  const char* end_;
};

// The attributes the chain needs, and the rules on them that need no catalogue: the cheap path.
Status ReadAttributes(std::string_view bytes, Attributes& a) {
  CPTS_RETURN_IF_ERROR(EnvelopeScanner(bytes).Scan(a));
  if (!events::IsCptsId(a.cptsid)) return Status::InvalidArgument("cptsid is not a CPTS id");
  if (!IsLowerHex(a.prevhash, 64)) {
    return Status::InvalidArgument("prevhash must be 64 lowercase hex characters");
  }
  if ((a.sequence == 1) != (a.prevhash == events::kGenesisHash)) {
    return Status::InvalidArgument(
        "prevhash must be 64 zeros for sequence 1, and only for sequence 1");
  }
  return Status::Ok();
}

// The full codec: catalogue, data, upcasters, every attribute.
Status ReadDeep(std::string_view bytes, Attributes& a) {
  Result<events::DecodedEvent> decoded = events::Decode(bytes);
  if (!decoded.ok()) return decoded.status();
  events::Envelope& e = decoded->envelope;
  a.id = std::move(e.id);
  a.cptsid = std::move(e.cptsid);
  a.prevhash = std::move(e.prevhash);
  a.causationid = std::move(e.causationid);
  a.type = std::move(decoded->stored_type);
  a.time = std::move(e.time);
  a.sequence = e.sequence.value();
  return Status::Ok();
}

// --- The chain checker ---------------------------------------------------------------------

// One scope of verification: a partition of the log, or an export's events.jsonl. Records come
// in position order (offsets, or line numbers); every stream of the scope is checked in
// sequence order whatever order its events come in, so one out-of-place event is one problem,
// not a cascade.
class Checker {
 public:
  struct Config {
    int32_t partition = -1;  // -1: an export, positions are line numbers
    int32_t partitions = 0;
    bool deep = false;
    const Heads* expected = nullptr;  // where streams must end, with which hash
    const Heads* starts = nullptr;    // export: the sequence before each stream's first, its hash
  };
  explicit Checker(Config config) : config_(config) {}

  void Add(int64_t pos, std::string_view key, std::string_view bytes);
  // The log could not give the record at `pos` (`hole`: it has none).
  void AddBad(int64_t pos, bool hole, const std::string& detail);
  // Resolves what is still open; then problems(), heads() and the counts are final.
  void Finish();

  std::vector<Problem>& problems() { return problems_; }
  const Heads& heads() const { return heads_; }
  uint64_t records() const { return records_; }
  uint64_t events() const { return events_; }
  // Streams that had at least one event in this scope.
  std::vector<std::string> streams() const {
    std::vector<std::string> out;
    for (const auto& [id, s] : streams_) out.push_back(id);
    return out;
  }

 private:
  struct Event {
    int64_t pos = kNoPosition;
    uint64_t sequence = 0;
    std::string hash, prevhash, id, type;
  };
  struct Seen {
    Hash16 hash{};
    int64_t pos = kNoPosition;
  };
  struct Alternative {  // another event claiming a sequence (forged)
    std::string hash;
    int64_t pos;
    size_t problem;
  };
  struct Break {  // a broken link not reported yet: the next link decides which event to name
    uint64_t sequence;
    int64_t pos;
    std::string id, type;
    uint64_t next_sequence;
    int64_t next_pos;
  };
  struct Stream {
    std::string id;
    uint64_t base = 0;        // sequences up to base are before the scope (an export's window)
    std::vector<Seen> seen;   // sequence base+1+i
    uint64_t head = 0;        // last sequence placed in the chain
    std::string head_hash = std::string(events::kGenesisHash);
    int64_t head_pos = kNoPosition;
    std::string head_id, head_type;
    bool next_unchecked = false;  // the next placed event follows a gap: no link to check
    std::map<uint64_t, Event> early;                  // arrived before their turn
    std::vector<std::pair<uint64_t, int64_t>> episode;  // arrivals while some were early
    std::optional<Break> pending_break;
    std::map<uint64_t, std::vector<Alternative>> alternatives;
    std::map<std::pair<uint64_t, int64_t>, size_t> altered;  // (sequence, pos) -> problem
  };
  struct Unplaced {  // a record that could not take a place in a chain, or a hole in the log
    int64_t pos;
    int64_t last;       // holes span offsets pos..last
    std::string key;    // the stream it claims; empty when unknown
    bool hole;
    std::string detail, id, type;
    bool placed = false;
  };
  struct Misroute {
    uint64_t count = 0;
    int64_t first_pos = 0;
    int32_t routed = 0;
  };

  Stream& GetStream(const std::string& id);
  void Arrive(Stream& s, Event e);
  void Place(Stream& s, Event e);
  void Drain(Stream& s);
  void ResolveGap(Stream& s);
  void CloseEpisode(Stream& s);
  void FlushBreak(Stream& s);
  // Accounts for sequences first..last missing between positions lo and hi: unplaced records
  // of the stream (or holes) found there take their place, the rest is reported missing.
  void Attribute(Stream& s, uint64_t first, uint64_t last, int64_t lo, int64_t hi, int64_t at,
                 const std::string& why);
  Problem& Emit(ProblemKind kind, int64_t pos, const std::string& cptsid, uint64_t sequence,
                std::string detail);
  void EmitAltered(Stream& s, uint64_t sequence, int64_t pos, const std::string& id,
                   const std::string& type, const std::string& detail);
  std::string Where(int64_t pos) const {
    if (pos == kNoPosition || pos == kEndPosition) return "nowhere";
    return config_.partition < 0 ? "line " + std::to_string(pos)
                                 : "p" + std::to_string(config_.partition) + "@" +
                                       std::to_string(pos);
  }

  Config config_;
  std::unordered_map<std::string, Stream> streams_;
  std::vector<Unplaced> unplaced_;
  std::map<std::string, Misroute> misrouted_;
  std::vector<Problem> problems_;
  Heads heads_;
  uint64_t records_ = 0;
  uint64_t events_ = 0;
};

Problem& Checker::Emit(ProblemKind kind, int64_t pos, const std::string& cptsid, uint64_t sequence,
                       std::string detail) {
  Problem p;
  p.kind = kind;
  if (pos != kNoPosition && pos != kEndPosition) {
    if (config_.partition < 0) {
      p.line = pos;
    } else {
      p.partition = config_.partition;
      p.offset = pos;
    }
  } else if (config_.partition >= 0) {
    p.partition = config_.partition;
  }
  p.cptsid = ShownStream(cptsid);
  p.sequence = sequence;
  p.detail = std::move(detail);
  problems_.push_back(std::move(p));
  return problems_.back();
}

void Checker::EmitAltered(Stream& s, uint64_t sequence, int64_t pos, const std::string& id,
                          const std::string& type, const std::string& detail) {
  const auto key = std::make_pair(sequence, pos);
  if (auto it = s.altered.find(key); it != s.altered.end()) {
    problems_[it->second].detail += "; " + detail;
    return;
  }
  Problem& p = Emit(ProblemKind::kAltered, pos, s.id, sequence, detail);
  p.event_id = ShownId(id);
  p.type = ShownType(type);
  s.altered[key] = problems_.size() - 1;
}

Checker::Stream& Checker::GetStream(const std::string& id) {
  auto [it, inserted] = streams_.try_emplace(id);
  Stream& s = it->second;
  if (inserted) {
    s.id = id;
    if (config_.starts != nullptr) {
      if (auto start = config_.starts->find(id); start != config_.starts->end()) {
        s.base = start->second.sequence;
        s.head = s.base;
        s.head_hash = start->second.hash;
      }
    }
  }
  return s;
}

void Checker::Add(int64_t pos, std::string_view key, std::string_view bytes) {
  ++records_;
  Attributes a;
  const Status read = config_.deep ? ReadDeep(bytes, a) : ReadAttributes(bytes, a);
  if (!read.ok()) {
    unplaced_.push_back({.pos = pos,
                         .last = pos,
                         .key = std::string(key),
                         .hole = false,
                         .detail = "unreadable: " + read.message()});
    return;
  }
  if (a.id != events::DeterministicEventId(a.cptsid, Sequence(a.sequence), a.causationid)) {
    // Its cptsid, sequence or causationid changed after it was written: its claimed place in
    // a chain is not believed; a gap of its stream around it gets it (Attribute).
    unplaced_.push_back({.pos = pos,
                         .last = pos,
                         .key = key.empty() ? a.cptsid : std::string(key),
                         .hole = false,
                         .detail = "its id is not the DeterministicEventId of its cptsid, sequence "
                                   "and causationid",
                         .id = a.id,
                         .type = a.type});
    return;
  }
  if (config_.partition >= 0) {
    const int32_t routed = log::PartitionForKey(a.cptsid, config_.partitions).value();
    if (routed != config_.partition || key != a.cptsid) {
      Misroute& m = misrouted_[a.cptsid];
      if (m.count++ == 0) {
        m.first_pos = pos;
        m.routed = routed;
      }
      // In the wrong partition it cannot be ordered with its stream; with a wrong key in the
      // right partition it still can.
      if (routed != config_.partition) return;
    }
  }
  Stream& s = GetStream(a.cptsid);
  Arrive(s, Event{.pos = pos,
                  .sequence = a.sequence,
                  .hash = events::Sha256Hex(bytes),
                  .prevhash = std::move(a.prevhash),
                  .id = std::move(a.id),
                  .type = std::move(a.type)});
}

void Checker::AddBad(int64_t pos, bool hole, const std::string& detail) {
  if (!hole) ++records_;  // a hole holds no record
  if (hole && !unplaced_.empty() && unplaced_.back().hole && unplaced_.back().last + 1 == pos) {
    unplaced_.back().last = pos;
    return;
  }
  unplaced_.push_back({.pos = pos, .last = pos, .key = "", .hole = hole, .detail = detail});
}

void Checker::Arrive(Stream& s, Event e) {
  if (e.sequence <= s.base) {
    EmitAltered(s, e.sequence, e.pos, e.id, e.type,
                "it comes before the window the manifest gives for its stream (from " +
                    Seq(s.base + 1) + ")");
    return;
  }
  const uint64_t index = e.sequence - s.base - 1;
  if (index >= s.seen.size()) {
    if (index - s.seen.size() > kMaxJump) {
      EmitAltered(s, e.sequence, e.pos, e.id, e.type,
                  "its sequence is more than " + std::to_string(kMaxJump) +
                      " beyond the stream's previous ones");
      return;
    }
    s.seen.resize(index + 1);
  }
  Seen& seen = s.seen[index];
  const Hash16 hash = Prefix(e.hash);
  if (seen.pos != kNoPosition) {
    if (seen.hash == hash) {
      Problem& p = Emit(ProblemKind::kDuplicated, e.pos, s.id, e.sequence,
                        "the same bytes as " + Seq(e.sequence) + " at " + Where(seen.pos) +
                            ": a re-delivery, harmless");
      p.event_id = ShownId(e.id);
      p.type = ShownType(e.type);
    } else {
      Problem& p = Emit(ProblemKind::kForged, e.pos, s.id, e.sequence,
                        Seq(e.sequence) + " is already at " + Where(seen.pos) +
                            " with other bytes: a second writer claimed the position");
      p.event_id = ShownId(e.id);
      p.type = ShownType(e.type);
      s.alternatives[e.sequence].push_back({std::move(e.hash), e.pos, problems_.size() - 1});
    }
    return;
  }
  seen = Seen{hash, e.pos};
  if (e.sequence == s.head + 1 && s.early.empty()) {  // the usual case: next in line
    Place(s, std::move(e));
    return;
  }
  s.episode.emplace_back(e.sequence, e.pos);
  if (e.sequence == s.head + 1) {
    Place(s, std::move(e));
    Drain(s);
  } else if (e.sequence > s.head + 1) {
    s.early.emplace(e.sequence, std::move(e));
    if (s.early.size() > kReorderWindow) ResolveGap(s);
  } else {
    // Its gap was already reported missing (the reorder window overflowed).
    Problem& p = Emit(ProblemKind::kReordered, e.pos, s.id, e.sequence,
                      "it arrives after " + Seq(s.head) + ", more than " +
                          std::to_string(kReorderWindow) +
                          " events of its stream later than its place (reported missing above)");
    p.event_id = ShownId(e.id);
    p.type = ShownType(e.type);
  }
  if (s.early.empty()) CloseEpisode(s);
}

void Checker::Place(Stream& s, Event e) {
  bool linked = s.next_unchecked || e.prevhash == s.head_hash;
  s.next_unchecked = false;
  if (!linked) {
    // Another event claimed the head's sequence (forged): the chain may go on from it.
    if (auto alts = s.alternatives.find(s.head); alts != s.alternatives.end()) {
      for (const Alternative& alt : alts->second) {
        if (alt.hash != e.prevhash) continue;
        linked = true;
        problems_[alt.problem].detail += "; the chain goes on from this one (" +
                                         Seq(e.sequence) + " at " + Where(e.pos) +
                                         " names it), so " + Where(s.head_pos) + " is the stray";
        break;
      }
    }
  }
  if (!linked) {
    if (s.head_pos == kNoPosition) {
      // The first event of an export's stream: its predecessor is outside the file.
      EmitAltered(s, e.sequence, e.pos, e.id, e.type,
                  "its prevhash is not the one the manifest gives for the stream's first event");
    } else if (s.pending_break && s.pending_break->next_sequence == s.head &&
               s.pending_break->next_pos == s.head_pos) {
      // Two links in a row broken: the event between them was altered (its prevhash too).
      EmitAltered(s, s.head, s.head_pos, s.head_id, s.head_type,
                  "its prevhash does not name " + Seq(s.head - 1) +
                      ", and its stored bytes no longer hash to the prevhash of " +
                      Seq(e.sequence) + " at " + Where(e.pos));
      s.pending_break.reset();
    } else {
      FlushBreak(s);
      s.pending_break =
          Break{s.head, s.head_pos, s.head_id, s.head_type, e.sequence, e.pos};
    }
  } else {
    FlushBreak(s);
  }
  s.head = e.sequence;
  s.head_hash = std::move(e.hash);
  s.head_pos = e.pos;
  s.head_id = std::move(e.id);
  s.head_type = std::move(e.type);
  ++events_;
  if (config_.expected != nullptr) {
    const auto it = config_.expected->find(s.id);
    if (it != config_.expected->end() && it->second.sequence == s.head &&
        it->second.hash != s.head_hash) {
      EmitAltered(s, s.head, s.head_pos, s.head_id, s.head_type,
                  "its hash differs from the head recorded for " + Seq(s.head) +
                      " (manifest: " + it->second.hash.substr(0, 12) + "..., found " +
                      s.head_hash.substr(0, 12) + "...)");
    }
  }
}

void Checker::FlushBreak(Stream& s) {
  if (!s.pending_break) return;
  const Break& b = *s.pending_break;
  EmitAltered(s, b.sequence, b.pos, b.id, b.type,
              "its stored bytes no longer hash to the prevhash of " + Seq(b.next_sequence) +
                  " at " + Where(b.next_pos));
  s.pending_break.reset();
}

void Checker::Drain(Stream& s) {
  while (!s.early.empty() && s.early.begin()->first == s.head + 1) {
    auto node = s.early.extract(s.early.begin());
    Place(s, std::move(node.mapped()));
  }
}

void Checker::ResolveGap(Stream& s) {
  const auto& [first, event] = *s.early.begin();
  Attribute(s, s.head + 1, first - 1, s.head_pos, event.pos, event.pos,
            Seq(first) + " at " + Where(event.pos) + " follows " +
                (s.head == 0 ? "no earlier event" : Seq(s.head) + " at " + Where(s.head_pos)));
  FlushBreak(s);  // the next link cannot be checked: decide on the one before
  s.head = first - 1;
  s.next_unchecked = true;
  Drain(s);
}

void Checker::Attribute(Stream& s, uint64_t first, uint64_t last, int64_t lo, int64_t hi,
                        int64_t at, const std::string& why) {
  uint64_t next = first;
  for (Unplaced& u : unplaced_) {
    if (next > last) break;
    if (u.placed || (!u.key.empty() && u.key != s.id)) continue;
    if ((lo != kNoPosition && u.pos <= lo) || u.pos >= hi) continue;
    u.placed = true;
    if (u.hole) {
      const uint64_t span = std::min<uint64_t>(last - next + 1, u.last - u.pos + 1);
      Problem& p = Emit(ProblemKind::kMissing, u.pos, s.id, next,
                        "the log has no record at " + Where(u.pos) +
                            (u.last > u.pos ? "-" + std::to_string(u.last) : "") + ": " +
                            (span > 1 ? Seq(next) + "-" + Seq(next + span - 1) : Seq(next)) +
                            " of the stream is missing (" + why + ")");
      if (span > 1) p.last_sequence = next + span - 1;
      next += span;
    } else {
      EmitAltered(s, next, u.pos, u.id, u.type,
                  u.detail + " (it stands where " + Seq(next) + " belongs)");
      ++next;
    }
  }
  if (next > last) return;
  Problem& p = Emit(ProblemKind::kMissing, at, s.id, next,
                    (next == last ? Seq(next) + " is missing" : Seq(next) + "-" + Seq(last) +
                                                                    " are missing") +
                        " (" + why + ")");
  if (last > next) p.last_sequence = last;
}

// The events of an episode (some arrived before their turn) in log order: the longest run in
// increasing sequence order stayed in place; each of the others is reported as reordered.
void Checker::CloseEpisode(Stream& s) {
  std::vector<std::pair<uint64_t, int64_t>> arrivals = std::move(s.episode);
  s.episode.clear();
  const size_t n = arrivals.size();
  if (n < 2) return;
  // Longest increasing subsequence (patience sorting, O(n log n)), keeping predecessors.
  std::vector<size_t> tails, previous(n, SIZE_MAX);
  for (size_t i = 0; i < n; ++i) {
    const auto it = std::lower_bound(tails.begin(), tails.end(), arrivals[i].first,
                                     [&](size_t t, uint64_t v) { return arrivals[t].first < v; });
    if (it != tails.begin()) previous[i] = *(it - 1);
    if (it == tails.end()) {
      tails.push_back(i);
    } else {
      *it = i;
    }
  }
  std::vector<bool> in_place(n, false);
  for (size_t i = tails.empty() ? SIZE_MAX : tails.back(); i != SIZE_MAX; i = previous[i]) {
    in_place[i] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (in_place[i]) continue;
    const auto [sequence, pos] = arrivals[i];
    std::string detail;
    for (size_t j = i; j-- > 0;) {  // the nearest earlier arrival with a larger sequence
      if (arrivals[j].first > sequence) {
        detail = "it comes after " + Seq(arrivals[j].first) + " at " + Where(arrivals[j].second);
        break;
      }
    }
    for (size_t j = i + 1; detail.empty() && j < n; ++j) {
      if (arrivals[j].first < sequence) {
        detail = "it comes before " + Seq(arrivals[j].first) + " at " + Where(arrivals[j].second);
      }
    }
    Emit(ProblemKind::kReordered, pos, s.id, sequence,
         detail + " in the log; the chain itself is checked in sequence order");
  }
}

void Checker::Finish() {
  std::vector<std::string> ids = streams();
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    Stream& s = streams_.at(id);
    while (!s.early.empty()) ResolveGap(s);
    if (!s.episode.empty()) CloseEpisode(s);
    FlushBreak(s);
    if (config_.expected != nullptr) {
      const auto it = config_.expected->find(id);
      if (it != config_.expected->end() && s.head < it->second.sequence) {
        Attribute(s, s.head + 1, it->second.sequence, s.head_pos, kEndPosition, kEndPosition,
                  "the stream ends at " + Seq(s.head) + "; the manifest recorded its head at " +
                      Seq(it->second.sequence));
      }
    }
    if (s.head > s.base) heads_[id] = StreamHead{s.head, s.head_hash};
    s.seen = {};  // the memory goes with the scope
  }
  for (const Unplaced& u : unplaced_) {
    if (u.placed) continue;
    if (u.hole) {
      Emit(ProblemKind::kMissing, u.pos, "", 0,
           "the log has no record at " + Where(u.pos) +
               (u.last > u.pos ? "-" + std::to_string(u.last) : "") +
               (u.detail.empty() ? "" : " (" + u.detail + ")"));
    } else {
      Problem& p = Emit(ProblemKind::kAltered, u.pos, u.key, 0, u.detail);
      p.event_id = ShownId(u.id);
      p.type = ShownType(u.type);
    }
  }
  for (const auto& [id, m] : misrouted_) {
    Emit(ProblemKind::kMisrouted, m.first_pos, id, 0,
         std::to_string(m.count) + " event(s) of this stream in partition " +
             std::to_string(config_.partition) +
             (m.routed == config_.partition
                  ? " under another record key"
                  : ", which its id does not route to (it routes to " + std::to_string(m.routed) +
                        "): left out of its chain"));
  }
  std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.line, a.offset) < std::tie(b.line, b.offset);
  });
}

// --- Scanning the log -----------------------------------------------------------------------

// Reads partition `p` of the events topic from `begin` to `end` in offset order. A record the
// log cannot give (the embedded log reports a missing offset or a record that does not decode
// as Corruption) is passed to on_bad and skipped; any other read error stops the scan.
template <typename OnRecord, typename OnBad>
Status ScanPartition(log::LogReader& reader, int32_t p, int64_t begin, int64_t end,
                     OnRecord&& on_record, OnBad&& on_bad) {
  const log::TopicPartition tp{std::string(topics::kEvents), Partition(p)};
  int64_t next = begin;
  size_t batch = kScanBatch;
  CPTS_RETURN_IF_ERROR(reader.Assign(tp, Offset(next)));
  auto last_progress = std::chrono::steady_clock::now();
  while (next < end) {
    Result<std::vector<log::StoredRecord>> got = reader.Poll(std::chrono::seconds(1), batch);
    if (!got.ok()) {
      if (got.status().code() != StatusCode::kCorruption) return got.status();
      if (batch > 1) {  // find the offset at fault, one record at a time
        batch = 1;
      } else {
        const bool hole = got.status().message().find("lacks offset") != std::string::npos;
        on_bad(next, hole, hole ? std::string() : got.status().message());
        ++next;
      }
      if (next < end) CPTS_RETURN_IF_ERROR(reader.Assign(tp, Offset(next)));
      continue;
    }
    if (got->empty()) {
      if (std::chrono::steady_clock::now() - last_progress > kStallTimeout) {
        return Status::TimedOut("partition " + std::to_string(p) + " of the events topic stopped at " +
                                std::to_string(next) + " before its end " + std::to_string(end));
      }
      continue;
    }
    last_progress = std::chrono::steady_clock::now();
    batch = kScanBatch;
    for (const log::StoredRecord& r : *got) {
      const int64_t o = r.offset.value();
      if (o < next || o >= end) continue;
      for (; next < o; ++next) on_bad(next, true, std::string());  // Kafka skipped offsets
      on_record(r);
      next = o + 1;
    }
  }
  return reader.Unassign(tp);
}

struct Share {
  int32_t partition;
  int64_t begin, end;
};

// The partitions with their ranges, largest first (workers take them in turn).
Result<std::vector<Share>> Shares(log::Log& log, int32_t partitions, uint64_t& total) {
  std::vector<Share> shares;
  total = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    const log::TopicPartition tp{std::string(topics::kEvents), Partition(p)};
    Result<Offset> begin = log.BeginOffset(tp);
    if (!begin.ok()) return begin.status();
    Result<Offset> end = log.EndOffset(tp);
    if (!end.ok()) return end.status();
    shares.push_back({p, begin->value(), end->value()});
    total += static_cast<uint64_t>(std::max<int64_t>(0, end->value() - begin->value()));
  }
  std::stable_sort(shares.begin(), shares.end(), [](const Share& a, const Share& b) {
    return a.end - a.begin > b.end - b.begin;
  });
  return shares;
}

void Count(VerifyReport& report) {
  report.counts = {};
  for (const Problem& p : report.problems) ++report.counts[static_cast<size_t>(p.kind)];
}

// Incremental SHA-256 (OpenSSL), for files too large to hash in one piece.
class FileHash {
 public:
  FileHash() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~FileHash() { EVP_MD_CTX_free(ctx_); }
  FileHash(const FileHash&) = delete;
  FileHash& operator=(const FileHash&) = delete;
  void Update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, digest, &n);
    return events::ToHex(digest, n);
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Calls `progress` about once a second from this thread until `finished`.
void ReportProgress(const std::function<void(uint64_t, uint64_t)>& progress,
                    const std::atomic<uint64_t>& done, uint64_t total,
                    const std::atomic<bool>& finished) {
  while (!finished.load()) {
    for (int i = 0; i < 10 && !finished.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (progress && !finished.load()) progress(done.load(), total);
  }
  if (progress) progress(done.load(), total);
}

std::string NowUtc() {
  return FormatUtcMs(WallClockMs());
}

}  // namespace

std::string_view ProblemKindName(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::kAltered:
      return "altered";
    case ProblemKind::kMissing:
      return "missing";
    case ProblemKind::kDuplicated:
      return "duplicated";
    case ProblemKind::kForged:
      return "forged";
    case ProblemKind::kReordered:
      return "reordered";
    case ProblemKind::kMisrouted:
      return "misrouted";
  }
  return "unknown";
}

bool FailsVerification(ProblemKind kind) { return kind != ProblemKind::kDuplicated; }

bool VerifyReport::intact() const {
  for (int k = 0; k < kProblemKinds; ++k) {
    if (counts[static_cast<size_t>(k)] > 0 && FailsVerification(static_cast<ProblemKind>(k))) {
      return false;
    }
  }
  return true;
}

std::string PositionText(const Problem& p) {
  if (p.line > 0) return "line " + std::to_string(p.line);
  if (p.partition >= 0 && p.offset >= 0) {
    return "p" + std::to_string(p.partition) + "@" + std::to_string(p.offset);
  }
  if (p.partition >= 0) return "p" + std::to_string(p.partition);
  return "";
}

json ProblemJson(const Problem& p) {
  json out = {{"kind", ProblemKindName(p.kind)}, {"fails", FailsVerification(p.kind)}};
  if (p.partition >= 0) out["partition"] = p.partition;
  if (p.offset >= 0) out["offset"] = p.offset;
  if (p.line > 0) out["line"] = p.line;
  if (!p.cptsid.empty()) out["cptsid"] = p.cptsid;
  if (p.sequence > 0) out["sequence"] = p.sequence;
  if (p.last_sequence > 0) out["last_sequence"] = p.last_sequence;
  if (!p.event_id.empty()) out["id"] = p.event_id;
  if (!p.type.empty()) out["type"] = p.type;
  out["detail"] = p.detail;
  return out;
}

Result<VerifyReport> VerifyHistory(log::Log& log, const VerifyOptions& options) {
  const int64_t start = NowMs();
  Result<int32_t> partitions = log.PartitionCount(topics::kEvents);
  if (!partitions.ok()) return partitions.status().WithContext("cannot read the events topic");
  uint64_t total = 0;
  Result<std::vector<Share>> shares = Shares(log, *partitions, total);
  if (!shares.ok()) return shares.status().WithContext("cannot read the events topic");

  VerifyReport report;
  report.partitions = *partitions;
  std::mutex mu;  // guards report, next_share, failure
  size_t next_share = 0;
  Status failure;
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  const auto work = [&] {
    Result<std::unique_ptr<log::LogReader>> reader = log.OpenReader();
    if (!reader.ok()) {
      std::lock_guard lock(mu);
      failure = reader.status();
      stop = true;
      return;
    }
    while (!stop.load()) {
      Share share;
      {
        std::lock_guard lock(mu);
        if (next_share == shares->size()) return;
        share = (*shares)[next_share++];
      }
      Checker checker({.partition = share.partition,
                       .partitions = *partitions,
                       .deep = options.deep,
                       .expected = options.expected_heads ? &*options.expected_heads : nullptr});
      const Status scanned = ScanPartition(
          **reader, share.partition, share.begin, share.end,
          [&](const log::StoredRecord& r) {
            checker.Add(r.offset.value(), r.key, r.value);
            done.fetch_add(1, std::memory_order_relaxed);
          },
          [&](int64_t offset, bool hole, const std::string& detail) {
            checker.AddBad(offset, hole, detail);
            done.fetch_add(1, std::memory_order_relaxed);
          });
      if (!scanned.ok()) {
        std::lock_guard lock(mu);
        failure = scanned.WithContext("cannot read partition " + std::to_string(share.partition) +
                                      " of the events topic");
        stop = true;
        return;
      }
      checker.Finish();
      std::lock_guard lock(mu);
      report.records += checker.records();
      report.events += checker.events();
      for (Problem& p : checker.problems()) report.problems.push_back(std::move(p));
      for (const auto& [id, head] : checker.heads()) report.heads[id] = head;
    }
  };
  const int threads = std::max(1, std::min<int>(options.threads, *partitions));
  std::vector<std::thread> workers;
  std::atomic<bool> finished{false};
  for (int i = 0; i < threads; ++i) workers.emplace_back(work);
  std::thread waiter([&] {
    for (std::thread& t : workers) t.join();
    finished = true;
  });
  ReportProgress(options.progress, done, total, finished);
  waiter.join();
  if (!failure.ok()) return failure;

  if (options.expected_heads) {  // streams the heads name that the log does not hold at all
    for (const auto& [id, head] : *options.expected_heads) {
      if (report.heads.contains(id)) continue;
      Problem p;
      p.kind = ProblemKind::kMissing;
      p.cptsid = ShownStream(id);
      p.sequence = 1;
      p.last_sequence = head.sequence > 1 ? head.sequence : 0;
      p.detail = "the stream has no event in its chain in the log; the manifest recorded its "
                 "head at " + Seq(head.sequence);
      report.problems.push_back(std::move(p));
    }
  }
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const Problem& a, const Problem& b) {
                     return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
                   });
  Count(report);
  report.seconds = static_cast<double>(NowMs() - start) / 1000.0;
  return report;
}

// --- Export ---------------------------------------------------------------------------------

namespace {

struct ExportStream {
  uint64_t events = 0;
  uint64_t first = 0, last = 0;
  std::string prevhash, head;
  bool started = false, stopped = false;
};

Status WriteExport(log::Log& log, const ExportOptions& options, const fs::path& dir,
                   ExportReport& report) {
  Result<int32_t> partitions = log.PartitionCount(topics::kEvents);
  if (!partitions.ok()) return partitions.status().WithContext("cannot read the events topic");
  uint64_t total = 0;
  Result<std::vector<Share>> shares = Shares(log, *partitions, total);
  if (!shares.ok()) return shares.status().WithContext("cannot read the events topic");
  std::sort(shares->begin(), shares->end(),
            [](const Share& a, const Share& b) { return a.partition < b.partition; });

  const fs::path events_path = dir / kExportEventsFile;
  std::FILE* out = std::fopen(events_path.c_str(), "wb");
  if (out == nullptr) return Status::IoError("cannot create " + events_path.string());
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(out, &std::fclose);
  FileHash file_hash;
  uint64_t bytes = 0;
  std::map<std::string, ExportStream> streams;
  Result<std::unique_ptr<log::LogReader>> reader = log.OpenReader();
  if (!reader.ok()) return reader.status();

  std::atomic<uint64_t> done{0};
  std::atomic<bool> finished{false};
  std::thread progress([&] { ReportProgress(options.progress, done, total, finished); });
  Status status;
  for (const Share& share : *shares) {
    status = ScanPartition(
        **reader, share.partition, share.begin, share.end,
        [&](const log::StoredRecord& r) {
          done.fetch_add(1, std::memory_order_relaxed);
          Attributes a;
          std::optional<int64_t> time;
          if (ReadAttributes(r.value, a).ok()) time = ParseTimestampMs(a.time);
          if (!time || r.value.find_first_of("\r\n") != std::string::npos) {
            ++report.unreadable;  // no stream or time to place it by: verify names it
            return;
          }
          ExportStream& s = streams[a.cptsid];
          if (s.stopped) return;
          if (options.until_ms && *time > *options.until_ms) {
            s.stopped = true;
            return;
          }
          if (!s.started && options.from_ms && *time < *options.from_ms) return;
          s.started = true;
          const std::string hash = events::Sha256Hex(r.value);
          if (s.events == 0 || a.sequence < s.first) {
            s.first = a.sequence;
            s.prevhash = a.prevhash;
          }
          if (s.events == 0 || a.sequence > s.last) {
            s.last = a.sequence;
            s.head = hash;
          }
          ++s.events;
          file_hash.Update(r.value);
          file_hash.Update("\n");
          std::fwrite(r.value.data(), 1, r.value.size(), out);
          std::fputc('\n', out);
          bytes += r.value.size() + 1;
          ++report.events;
        },
        [&](int64_t, bool, const std::string&) {
          done.fetch_add(1, std::memory_order_relaxed);
          ++report.unreadable;
        });
    if (!status.ok()) break;
  }
  finished = true;
  progress.join();
  if (!status.ok()) return status.WithContext("cannot read the events topic");
  if (std::fflush(out) != 0 || std::ferror(out) != 0) {
    return Status::IoError("cannot write " + events_path.string());
  }
  closer.reset();

  report.sha256 = file_hash.HexDigest();
  json stream_rows = json::object();
  for (const auto& [id, s] : streams) {
    if (s.events == 0) continue;
    stream_rows[id] = {{"events", s.events},
                       {"first_sequence", s.first},
                       {"prevhash", s.prevhash},
                       {"last_sequence", s.last},
                       {"head", s.head}};
    ++report.streams;
  }
  report.manifest = {
      {"format", "cpts-audit-export/1"},
      {"exported_at", NowUtc()},
      {"window",
       {{"from", options.from_ms ? json(FormatUtcMs(*options.from_ms)) : json(nullptr)},
        {"until", options.until_ms ? json(FormatUtcMs(*options.until_ms)) : json(nullptr)}}},
      {"partitions", *partitions},
      {"events", report.events},
      {"unreadable_left_out", report.unreadable},
      {"file",
       {{"name", kExportEventsFile}, {"sha256", report.sha256}, {"bytes", bytes},
        {"lines", report.events}}},
      {"streams", stream_rows},
  };
  const fs::path manifest_path = dir / kExportManifestFile;
  std::ofstream manifest(manifest_path, std::ios::binary);
  manifest << report.manifest.dump(2) << "\n";
  manifest.close();
  if (!manifest) return Status::IoError("cannot write " + manifest_path.string());
  return Status::Ok();
}

Status Usable(const fs::path& dir, bool& created) {
  std::error_code ec;
  created = false;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return Status::AlreadyExists(dir.string() + " exists and is not a directory: name a new one");
    }
    if (!fs::is_empty(dir, ec)) {
      return Status::AlreadyExists(dir.string() + " is not empty: export into a new directory");
    }
    return Status::Ok();
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  created = true;
  return Status::Ok();
}

// Reads manifest.json (`path`: the file or its directory).
Result<json> ReadManifest(const std::string& path) {
  fs::path file = path;
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= kExportManifestFile;
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + file.string() + ": give an export's manifest.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<json> manifest = events::ParseStrictJson(text, file.string());
  if (!manifest.ok()) return manifest.status();
  const json& m = *manifest;
  const auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(file.string() + ": " + what +
                                   " (is it the manifest.json of cpts audit export?)");
  };
  if (!m.is_object() || m.value("format", "") != "cpts-audit-export/1") {
    return bad("format is not cpts-audit-export/1");
  }
  if (!m.contains("streams") || !m["streams"].is_object()) return bad("streams is missing");
  for (const auto& [id, s] : m["streams"].items()) {
    for (const char* field : {"events", "first_sequence", "last_sequence"}) {
      if (!s.is_object() || !s.contains(field) || !s[field].is_number_unsigned()) {
        return bad("streams." + ShownStream(id) + "." + field + " is not a count");
      }
    }
    for (const char* field : {"prevhash", "head"}) {
      if (!s.contains(field) || !s[field].is_string() || !IsLowerHex(s[field].get<std::string>(), 64)) {
        return bad("streams." + ShownStream(id) + "." + field + " is not a SHA-256");
      }
    }
    if (s["first_sequence"].get<uint64_t>() == 0) {
      return bad("streams." + ShownStream(id) + ".first_sequence is 0");
    }
  }
  const json& f = m.value("file", json());
  if (!f.is_object() || !f.contains("sha256") || !f["sha256"].is_string() ||
      !f.contains("bytes") || !f["bytes"].is_number_unsigned() || !f.contains("lines") ||
      !f["lines"].is_number_unsigned()) {
    return bad("file.sha256, file.bytes or file.lines is missing");
  }
  return manifest;
}

}  // namespace

Result<ExportReport> ExportHistory(log::Log& log, const ExportOptions& options) {
  const fs::path dir(options.directory);
  bool created = false;
  CPTS_RETURN_IF_ERROR(Usable(dir, created));
  ExportReport report;
  const Status written = WriteExport(log, options, dir, report);
  if (!written.ok()) {  // leave nothing half-written behind
    std::error_code ec;
    if (created) {
      fs::remove_all(dir, ec);
    } else {
      fs::remove(dir / kExportEventsFile, ec);
      fs::remove(dir / kExportManifestFile, ec);
    }
    return written;
  }
  return report;
}

Result<Heads> ReadManifestHeads(const std::string& path) {
  Result<json> manifest = ReadManifest(path);
  if (!manifest.ok()) return manifest.status();
  Heads heads;
  for (const auto& [id, s] : (*manifest)["streams"].items()) {
    heads[id] = StreamHead{s["last_sequence"].get<uint64_t>(), s["head"].get<std::string>()};
  }
  return heads;
}

Result<VerifyReport> VerifyExport(const std::string& directory, const VerifyOptions& options) {
  const int64_t start = NowMs();
  Result<json> manifest = ReadManifest(directory);
  if (!manifest.ok()) return manifest.status();
  Heads starts, expected;
  for (const auto& [id, s] : (*manifest)["streams"].items()) {
    starts[id] = StreamHead{s["first_sequence"].get<uint64_t>() - 1, s["prevhash"].get<std::string>()};
    expected[id] = StreamHead{s["last_sequence"].get<uint64_t>(), s["head"].get<std::string>()};
  }
  const fs::path path = fs::path(directory) / kExportEventsFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path.string() + ": is it an export directory?");

  Checker checker({.partition = -1, .deep = options.deep, .expected = &expected, .starts = &starts});
  FileHash file_hash;
  uint64_t bytes = 0;
  int64_t line = 0;
  std::string buffer, pending;
  buffer.resize(1 << 20);
  const uint64_t total = (*manifest)["file"]["lines"].get<uint64_t>();
  auto last_progress = std::chrono::steady_clock::now();
  std::map<std::string, int64_t> unknown_streams;  // streams the manifest does not list
  const auto take_line = [&](std::string_view text) {
    ++line;
    Attributes a;
    if (ReadAttributes(text, a).ok() && !starts.contains(a.cptsid) &&
        !unknown_streams.contains(a.cptsid)) {
      unknown_streams[a.cptsid] = line;
    }
    checker.Add(line, "", text);
  };
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::string_view chunk(buffer.data(), static_cast<size_t>(in.gcount()));
    file_hash.Update(chunk);
    bytes += chunk.size();
    size_t from = 0;
    for (size_t nl = chunk.find('\n'); nl != std::string_view::npos; nl = chunk.find('\n', from)) {
      if (pending.empty()) {
        take_line(chunk.substr(from, nl - from));
      } else {
        pending.append(chunk.substr(from, nl - from));
        take_line(pending);
        pending.clear();
      }
      from = nl + 1;
    }
    pending.append(chunk.substr(from));
    if (options.progress && std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(1)) {
      options.progress(static_cast<uint64_t>(line), total);
      last_progress = std::chrono::steady_clock::now();
    }
  }
  if (!pending.empty()) take_line(pending);
  if (options.progress) options.progress(static_cast<uint64_t>(line), total);
  checker.Finish();

  VerifyReport report;
  report.records = checker.records();
  report.events = checker.events();
  report.heads = checker.heads();
  report.problems = std::move(checker.problems());
  const json& file = (*manifest)["file"];
  const std::string sha = file_hash.HexDigest();
  std::vector<Problem> whole;
  if (sha != file["sha256"].get<std::string>() || bytes != file["bytes"].get<uint64_t>() ||
      static_cast<uint64_t>(line) != file["lines"].get<uint64_t>()) {
    Problem p;
    p.kind = ProblemKind::kAltered;
    p.detail = std::string(kExportEventsFile) + " is not the file the manifest describes (sha256 " +
               sha.substr(0, 12) + "..., " + std::to_string(bytes) + " bytes, " +
               std::to_string(line) + " lines; the manifest says " +
               file["sha256"].get<std::string>().substr(0, 12) + "..., " +
               std::to_string(file["bytes"].get<uint64_t>()) + " bytes, " +
               std::to_string(file["lines"].get<uint64_t>()) + " lines)";
    whole.push_back(std::move(p));
  }
  const std::vector<std::string> present = checker.streams();
  for (const auto& [id, head] : expected) {
    if (std::find(present.begin(), present.end(), id) != present.end()) continue;
    Problem p;
    p.kind = ProblemKind::kMissing;
    p.cptsid = ShownStream(id);
    p.sequence = starts[id].sequence + 1;
    p.last_sequence = head.sequence > p.sequence ? head.sequence : 0;
    p.detail = "the manifest lists this stream, the file holds none of its events";
    whole.push_back(std::move(p));
  }
  for (const auto& [id, first_line] : unknown_streams) {
    Problem p;
    p.kind = ProblemKind::kAltered;
    p.line = first_line;
    p.cptsid = ShownStream(id);
    p.detail = "the stream is not in the manifest";
    whole.push_back(std::move(p));
  }
  report.problems.insert(report.problems.begin(), whole.begin(), whole.end());
  Count(report);
  report.seconds = static_cast<double>(NowMs() - start) / 1000.0;
  return report;
}

}  // namespace cpts::projections

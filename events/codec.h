#pragma once
// The codec: an Envelope to the bytes stored in the log, and back, with every check on the way.
//
// Contract:
//   - Writers call ValidateEnvelope, then Encode, and store exactly the bytes Encode returned.
//     The hash chain is defined over stored bytes: the next event's prevhash is
//     Sha256Hex(stored bytes), which for a freshly encoded envelope is EventHash(envelope).
//   - Decode never re-encodes to hash. It returns the stored bytes' hash alongside the
//     envelope, because an event stored under an older type version is handed back upcast to
//     the current one, and re-encoding that would not give the stored bytes.
//   - Expected failures come back as InvalidArgument naming the attribute or the data field;
//     no exception leaves these functions. Messages never show a NIR or a patient pseudonym.
// Thread-safety: pure functions.

#include <string>
#include <string_view>

#include "events/envelope.h"
#include "events/status.h"

namespace cpts::events {

// The envelope as canonical JSON (CanonicalJson): the bytes a writer stores. Does not validate.
std::string Encode(const Envelope& envelope);

// Sha256Hex(Encode(envelope)): the prevhash of the stream's next event, for an envelope being
// written. For an event read back, use DecodedEvent::hash, which holds for upcast events too.
std::string EventHash(const Envelope& envelope);

// Ok when `envelope` may be stored: every attribute follows docs/events.md ("The envelope"),
// id is DeterministicEventId(cptsid, sequence, causationid), the type is a current catalogue type and data
// is valid for it.
Status ValidateEnvelope(const Envelope& envelope);

struct DecodedEvent {
  Envelope envelope;        // as the current type version (upcast when stored older)
  std::string stored_type;  // the type as stored; differs from envelope.type when upcast
  std::string hash;         // Sha256Hex of the stored bytes: what the next prevhash names
  bool upcast() const { return stored_type != envelope.type; }
};

// Parses stored bytes: JSON (no duplicate keys), exactly the known attributes with their types,
// specversion "1.0", schemaversion 1, a catalogue type whose data is valid, then upcast to the
// current version and validated again.
Result<DecodedEvent> Decode(std::string_view bytes);

// Decode into `event`, whose strings keep their memory: a reader of many events reuses one
// DecodedEvent, a dozen allocations fewer per event. On an error, `event` holds a partial decode.
Status DecodeInto(std::string_view bytes, DecodedEvent& event);

}  // namespace cpts::events

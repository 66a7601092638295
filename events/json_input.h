#pragma once
// Reading JSON that comes from outside (stored events, commands): one strict parser and the
// naming rules shared by every decoder, so they refuse the same things with the same words.
// Messages never quote input that could be a NIR. Thread-safety: pure functions.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "events/json.h"
#include "events/status.h"

namespace cpts::events {

// Parses `bytes`, refusing an object that holds a key twice (parsers disagree on which one
// wins, so a sender and a reader could see different content in the same bytes). `what` names
// the document in messages: "the event is not valid JSON at byte 12: ...". Values are typed as
// nlohmann types them (non-negative integers unsigned, negative ones signed, others double);
// arrays and objects nested deeper than 128 levels, and numbers beyond a double, are refused.
Result<::cpts::Json> ParseStrictJson(std::string_view bytes, std::string_view what);

// Where ParseStrictJsonMembers puts the value of one member of the top-level object.
struct MemberSlot {
  // A string value is decoded into *text when text is set (replacing what it held); any other
  // value, or a string when text is null, is parsed into *value. Both null: the value is read
  // for its syntax only, then dropped.
  std::string* text = nullptr;
  ::cpts::Json* value = nullptr;
  // Set when the caller has already been given this key: the document is refused as holding a
  // key twice, exactly as ParseStrictJson would refuse it.
  bool repeated = false;
};

// A reference to a callable `MemberSlot(std::string_view key)`, which must outlive it (a lambda
// passed straight to ParseStrictJsonMembers does). Not a std::function: it is called for every
// attribute of every event decoded, and has nothing to own or copy.
class MemberSlotFor {
 public:
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, MemberSlotFor> &&
             std::is_invocable_r_v<MemberSlot, F&, std::string_view>)
  MemberSlotFor(F&& callable)  // NOLINT: implicit on purpose, like std::function
      : callable_(const_cast<void*>(static_cast<const void*>(std::addressof(callable)))),
        call_([](void* f, std::string_view key) -> MemberSlot {
          return (*static_cast<std::remove_reference_t<F>*>(f))(key);
        }) {}

  MemberSlot operator()(std::string_view key) const { return call_(callable_, key); }

 private:
  void* callable_;
  MemberSlot (*call_)(void* callable, std::string_view key);
};

// ParseStrictJson for a document meant to be an object, without gathering its members into a
// ::cpts::Json: `slot_for` is called with each top-level key (unescaped), in document order,
// and says where its value goes, so a decoder reads attributes straight into its own fields
// (Decode does, once per event: a map of attributes it would take apart at once is most of
// what parsing an event allocates). Returns nullopt when the document is an object, the parsed
// value otherwise. Accepts and refuses exactly what ParseStrictJson does, with the same
// messages; what the slots hold after a failure is unspecified.
Result<std::optional<::cpts::Json>> ParseStrictJsonMembers(std::string_view bytes,
                                                             std::string_view what,
                                                             MemberSlotFor slot_for);

// A name read from input (a key, a type), quoted when it looks like one of ours: a letter, then
// letters, digits, '.', '_', '-', never 5 digits in a row; otherwise "(name not shown)".
std::string QuotedName(std::string_view name);

// A CPTS (stream) id: 1 to 64 letters, digits, '.', '_', ':' or '-'.
bool IsCptsId(std::string_view s);

}  // namespace cpts::events

#pragma once
// Reading JSON that comes from outside (stored events, commands): one strict parser and the
// naming rules shared by every decoder, so they refuse the same things with the same words.
// Messages never quote input that could be a NIR. Thread-safety: pure functions.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "events/status.h"

namespace cpts::events {

// Parses `bytes`, refusing an object that holds a key twice (parsers disagree on which one
// wins, so a sender and a reader could see different content in the same bytes). `what` names
// the document in messages: "the event is not valid JSON at byte 12: ...".
Result<nlohmann::json> ParseStrictJson(std::string_view bytes, std::string_view what);

// A name read from input (a key, a type), quoted when it looks like one of ours: a letter, then
// letters, digits, '.', '_', '-', never 5 digits in a row; otherwise "(name not shown)".
std::string QuotedName(std::string_view name);

// A CPTS (stream) id: 1 to 64 letters, digits, '.', '_', ':' or '-'.
bool IsCptsId(std::string_view s);

}  // namespace cpts::events

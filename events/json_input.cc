#include "events/json_input.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

namespace cpts::events {
namespace {

using nlohmann::json;

// nlohmann's parse error without its "last read: '...'" excerpt, which could quote a NIR.
std::string ParseErrorMessage(const json::parse_error& e, std::string_view what) {
  std::string text = e.what();
  const size_t detail = text.find(": ");  // after "... parse error at line L, column C"
  text = detail == std::string::npos ? std::string("syntax error") : text.substr(detail + 2);
  const size_t last_read = text.find("; last read");
  if (last_read != std::string::npos) text.erase(last_read);
  return std::string(what) + " is not valid JSON at byte " + std::to_string(e.byte) + ": " + text;
}

}  // namespace

Result<json> ParseStrictJson(std::string_view bytes, std::string_view what) {
  std::vector<std::set<std::string>> open_objects;
  std::optional<std::string> duplicate;
  const json::parser_callback_t on_event = [&](int /*depth*/, json::parse_event_t event,
                                               json& parsed) {
    if (event == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == json::parse_event_t::key && !duplicate &&
               !open_objects.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  try {
    json value = json::parse(bytes.begin(), bytes.end(), on_event);
    if (duplicate) {
      return Status::InvalidArgument(std::string(what) + " holds the key " +
                                     QuotedName(*duplicate) + " twice in one object");
    }
    return value;
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument(ParseErrorMessage(e, what));
  }
}

std::string QuotedName(std::string_view name) {
  size_t digits = 0;
  bool plain =
      !name.empty() && name.size() <= 100 && std::isalpha(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    digits = (c >= '0' && c <= '9') ? digits + 1 : 0;
    plain = plain && digits < 5 &&
            (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  return plain ? "\"" + std::string(name) + "\"" : std::string("(name not shown)");
}

bool IsCptsId(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
         });
}

}  // namespace cpts::events

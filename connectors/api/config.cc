#include "connectors/api/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <type_traits>
#include <variant>

#include "events/json.h"
#include "events/json_input.h"

extern char** environ;

namespace cpts::api {
namespace {

using json = ::cpts::Json;

constexpr std::string_view kEnvPrefix = "CPTSD_";
constexpr std::string_view kExample = "deploy/cptsd.example.json";

using Field = std::variant<std::string DaemonConfig::*, int DaemonConfig::*,
                           int64_t DaemonConfig::*, bool DaemonConfig::*>;

struct Setting {
  std::string_view name;
  Field field;
  std::string_view help;
  int64_t min = 0;  // integers only
  int64_t max = 0;
  bool path = false;  // relative to the config file's directory when it comes from the file
};

// kafka_properties, a map, is read apart (ApplyKafkaProperties).
constexpr std::string_view kKafkaProperties = "kafka_properties";

const std::vector<Setting>& Settings() {
  static const auto* const kSettings = new std::vector<Setting>{
      {"host", &DaemonConfig::host, "Address to listen on (default 127.0.0.1)"},
      {"port", &DaemonConfig::port, "TCP port (default 8080; 0: any free port, printed)", 0, 65535},
      {"tls_cert_file", &DaemonConfig::tls_cert_file, "TLS certificate chain (PEM)", 0, 0, true},
      {"tls_key_file", &DaemonConfig::tls_key_file, "TLS private key (PEM)", 0, 0, true},
      {"allow_plain_http_on_network", &DaemonConfig::allow_plain_http_on_network,
       "Listen without TLS on a non-loopback address (behind a TLS proxy on a private network)"},
      {"data_dir", &DaemonConfig::data_dir, "Data directory (default ./data)", 0, 0, true},
      {"kafka", &DaemonConfig::kafka, "Kafka bootstrap servers (default: the embedded log)"},
      {"kafka_topic_prefix", &DaemonConfig::kafka_topic_prefix, "Prefix of the topic names"},
      {"partitions", &DaemonConfig::partitions, "Partitions of each topic, when creating them", 1,
       10000},
      {"tokens_file", &DaemonConfig::tokens_file,
       "Bearer tokens file, mode 600 (default <data_dir>/tokens.json)", 0, 0, true},
      {"secrets_file", &DaemonConfig::secrets_file, "Health-data secrets file, mode 600", 0, 0,
       true},
      {"max_body_bytes", &DaemonConfig::max_body_bytes, "Largest request body (default 1 MiB)",
       1024, int64_t{64} << 20},
      {"max_header_bytes", &DaemonConfig::max_header_bytes,
       "Largest request line and headers (default 8 KiB)", 1024, int64_t{1} << 20},
      {"max_connections", &DaemonConfig::max_connections, "Open connections (default 256)", 1,
       100000},
      {"worker_threads", &DaemonConfig::worker_threads,
       "HTTP worker threads (default 0: one per core, at least 8)", 0, 1024},
      {"read_timeout_seconds", &DaemonConfig::read_timeout_seconds,
       "Time to receive a request (default 10)", 1, 3600},
      {"idle_timeout_seconds", &DaemonConfig::idle_timeout_seconds,
       "Time a kept-alive connection may stay idle (default 60)", 1, 3600},
      {"read_your_writes_wait_ms", &DaemonConfig::read_your_writes_wait_ms,
       "Longest wait of a read for its position (default 5000)", 0, 60000},
      {"sse_heartbeat_seconds", &DaemonConfig::sse_heartbeat_seconds,
       "Heartbeat of a quiet live feed (default 15)", 1, 300},
      {"access_log", &DaemonConfig::access_log,
       "One line per request on stderr (default true; off with demo)"},
      {"demo", &DaemonConfig::demo, "Fill the service with simulated demo data"},
  };
  return *kSettings;
}

const Setting* FindSetting(std::string_view name) {
  for (const Setting& s : Settings()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string EnvName(std::string_view name) {
  std::string env(kEnvPrefix);
  for (char c : name) env += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

std::string FlagName(std::string_view name) {
  std::string flag = "--";
  for (char c : name) flag += c == '_' ? '-' : c;
  return flag;
}

// Optimal string alignment distance: a swap of two letters ("prot") counts as one edit.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// ": did you mean "port"?" when a known name is close, else where the names are listed.
std::string Suggestion(std::string_view unknown, bool as_env) {
  std::string best;
  size_t best_distance = std::string::npos;
  std::vector<std::string> names = DaemonSettingNames();
  if (as_env) names.emplace_back("config");  // CPTSD_CONFIG; a file cannot name a file
  for (const std::string& name : names) {
    const std::string candidate = as_env ? EnvName(name) : name;
    const size_t distance = EditDistance(unknown, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  const size_t bound = as_env ? std::max<size_t>(2, (unknown.size() - kEnvPrefix.size()) / 3)
                              : std::max<size_t>(2, unknown.size() / 3);
  if (best_distance <= bound) return ": did you mean \"" + best + "\"?";
  return std::string(" (").append(kExample).append(" lists the settings)");
}

// A name or value read from outside, quoted and escaped for a message.
std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 80;
  std::string shown(text.substr(0, kMax));
  if (text.size() > kMax) shown += "...";
  return json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string TypeName(const json& value) {
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number with a fraction";
  if (value.is_null()) return "null";
  if (value.is_array()) return "an array";
  return "an object";
}

// One configuration being built, with where each setting came from.
class Builder {
 public:
  Builder() {
    for (const Setting& s : Settings()) source_[std::string(s.name)] = "the default";
    source_[std::string(kKafkaProperties)] = "the default";
  }

  Status ApplyFile(const std::string& path, const std::string& named_by);
  Status ApplyText(const Setting& setting, std::string_view text, const std::string& source);
  Status ApplyKafkaProperty(std::string_view property, const std::string& source);
  Result<DaemonConfig> Finish();

 private:
  Status ApplyJson(const Setting& setting, const json& value, const std::string& file,
                   const std::filesystem::path& dir);
  Status SetInteger(const Setting& setting, int64_t value, const std::string& source);
  std::string From(std::string_view name) const {
    return "(from " + source_.at(std::string(name)) + ")";
  }
  Status Check();

  DaemonConfig config_;
  std::map<std::string, std::string> source_;
};

Status Builder::SetInteger(const Setting& setting, int64_t value, const std::string& source) {
  if (value < setting.min || value > setting.max) {
    return Status::InvalidArgument(std::string(setting.name) + " " + std::to_string(value) +
                                   " (from " + source + ") is out of range " +
                                   std::to_string(setting.min) + "-" + std::to_string(setting.max));
  }
  source_[std::string(setting.name)] = source;
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(config_.*member)>;
        if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t>) {
          config_.*member = static_cast<T>(value);
        }
      },
      setting.field);
  return Status::Ok();
}

Status Builder::ApplyJson(const Setting& setting, const json& value, const std::string& file,
                          const std::filesystem::path& dir) {
  const std::string name(setting.name);
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(config_.*member)>;
        std::string wanted;
        if constexpr (std::is_same_v<T, std::string>) {
          if (value.is_string()) {
            std::string text = value.get<std::string>();
            // A path in the file means the same wherever cptsd is started from.
            if (setting.path && !text.empty() && std::filesystem::path(text).is_relative()) {
              text = (dir / text).lexically_normal().string();
            }
            config_.*member = std::move(text);
            source_[name] = file;
            return Status::Ok();
          }
          wanted = "a string";
        } else if constexpr (std::is_same_v<T, bool>) {
          if (value.is_boolean()) {
            config_.*member = value.get<bool>();
            source_[name] = file;
            return Status::Ok();
          }
          wanted = "true or false";
        } else {
          if (value.is_number_integer()) {
            if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{INT64_MAX}) {
              return Status::InvalidArgument(name + " " + value.dump() + " (from " + file +
                                             ") is out of range " + std::to_string(setting.min) +
                                             "-" + std::to_string(setting.max));
            }
            return SetInteger(setting, value.get<int64_t>(), file);
          }
          wanted = "an integer";
        }
        return Status::InvalidArgument(name + " in " + file + " must be " + wanted + ", not " +
                                       TypeName(value));
      },
      setting.field);
}

Status Builder::ApplyText(const Setting& setting, std::string_view text,
                          const std::string& source) {
  const std::string name(setting.name);
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(config_.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          config_.*member = std::string(text);
          source_[name] = source;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1" || text == "yes" || text == "on") {
            config_.*member = true;
          } else if (text == "false" || text == "0" || text == "no" || text == "off") {
            config_.*member = false;
          } else {
            return Status::InvalidArgument(name + " " + Quoted(text) + " (from " + source +
                                           ") must be true or false (also 1/0, yes/no, on/off)");
          }
          source_[name] = source;
          return Status::Ok();
        } else {
          int64_t value = 0;
          const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
          if (error == std::errc::result_out_of_range) {
            return Status::InvalidArgument(name + " " + Quoted(text) + " (from " + source +
                                           ") is out of range " + std::to_string(setting.min) +
                                           "-" + std::to_string(setting.max));
          }
          if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
            return Status::InvalidArgument(name + " " + Quoted(text) + " (from " + source +
                                           ") must be an integer");
          }
          return SetInteger(setting, value, source);
        }
      },
      setting.field);
}

Status Builder::ApplyKafkaProperty(std::string_view property, const std::string& source) {
  const size_t eq = property.find('=');
  // The value may be a password (sasl.password): messages show the name at most.
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument("a Kafka property (from " + source +
                                   ") must read name=value; the value is not shown");
  }
  config_.kafka_properties[std::string(property.substr(0, eq))] =
      std::string(property.substr(eq + 1));
  source_[std::string(kKafkaProperties)] = source;
  return Status::Ok();
}

Status Builder::ApplyFile(const std::string& path, const std::string& named_by) {
  const std::string where = "the config file " + path + " (from " + named_by + ")";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument("cannot read " + where + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(where + " is not a regular file");
  // Whoever may write the file chooses the tokens file and the data directory, that is who may
  // read patients' data: only its owner may.
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status::FailedPrecondition(where + " is writable by group or others: run chmod go-w " +
                                      path);
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::IoError("cannot read " + where);
  Result<json> doc = events::ParseStrictJson(text.str(), "the config file " + path);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) {
    return Status::InvalidArgument(where + " must hold a JSON object of settings");
  }
  config_.config_file = path;
  const std::filesystem::path dir =
      std::filesystem::absolute(std::filesystem::path(path)).parent_path();
  for (const auto& [key, value] : doc->items()) {
    if (key.starts_with("//")) continue;  // a comment: JSON has none of its own
    if (key == kKafkaProperties) {
      if (!value.is_object()) {
        return Status::InvalidArgument("kafka_properties in " + path +
                                       " must be an object of strings, not " + TypeName(value));
      }
      for (const auto& [name, property] : value.items()) {
        if (!property.is_string()) {
          return Status::InvalidArgument("kafka_properties." + name + " in " + path +
                                         " must be a string, not " + TypeName(property));
        }
        config_.kafka_properties[name] = property.get<std::string>();
      }
      source_[std::string(kKafkaProperties)] = path;
      continue;
    }
    const Setting* setting = FindSetting(key);
    if (setting == nullptr) {
      return Status::InvalidArgument("unknown setting " + Quoted(key) + " in " + path +
                                     Suggestion(key, /*as_env=*/false));
    }
    CPTS_RETURN_IF_ERROR(ApplyJson(*setting, value, path, dir));
  }
  return Status::Ok();
}

bool IsLoopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

bool IsHostName(std::string_view host) {
  return !host.empty() && host.size() <= 253 && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '[' || c == ']';
  });
}

Status CheckReadableFile(std::string_view name, const std::string& path, const std::string& from) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument(std::string(name) + " " + path + " " + from +
                                   " cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(std::string(name) + " " + path + " " + from +
                                   " is not a regular file");
  }
  return Status::Ok();
}

Status Builder::Check() {
  const DaemonConfig& c = config_;
  if (!IsHostName(c.host)) {
    return Status::InvalidArgument("host " + Quoted(c.host) + " " + From("host") +
                                   " must be an IP address or a host name");
  }
  if (c.data_dir.empty()) {
    return Status::InvalidArgument("data_dir " + From("data_dir") +
                                   " is empty: name a directory, or leave it out for ./data");
  }
  const bool valid_prefix =
      c.kafka_topic_prefix.size() <= 100 &&
      std::all_of(c.kafka_topic_prefix.begin(), c.kafka_topic_prefix.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
      });
  if (!valid_prefix) {
    return Status::InvalidArgument(
        "kafka_topic_prefix " + Quoted(c.kafka_topic_prefix) + " " + From("kafka_topic_prefix") +
        " may hold at most 100 letters, digits, '.', '_' or '-' (Kafka's topic name rule)");
  }
  if (c.kafka.find_first_of(" \t\n") != std::string::npos) {
    return Status::InvalidArgument("kafka " + Quoted(c.kafka) + " " + From("kafka") +
                                   " must read host:port[,host:port...] without spaces");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    const std::string given = c.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file";
    const std::string missing = c.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file";
    return Status::InvalidArgument(given + " " + From(given) + " is set but " + missing +
                                   " is not: TLS needs both, or neither for plain HTTP");
  }
  const bool tls = !c.tls_cert_file.empty();
  if (tls) {
    CPTS_RETURN_IF_ERROR(
        CheckReadableFile("tls_cert_file", c.tls_cert_file, From("tls_cert_file")));
    CPTS_RETURN_IF_ERROR(CheckReadableFile("tls_key_file", c.tls_key_file, From("tls_key_file")));
    struct stat st;
    if (::stat(c.tls_key_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
      return Status::FailedPrecondition(
          "tls_key_file " + c.tls_key_file + " " + From("tls_key_file") +
          " is readable by everyone: run chmod o-r " + c.tls_key_file);
    }
  }
  // Plain HTTP off the machine would carry bearer tokens and patients' data in clear, readable
  // and replayable by anyone on the path. Without TLS cptsd listens on loopback (a TLS proxy on
  // the same machine in front); allow_plain_http_on_network is the explicit, visible choice for
  // a TLS proxy elsewhere on a private network, or a container whose port only the proxy sees.
  if (!tls && !c.allow_plain_http_on_network && !IsLoopback(c.host)) {
    return Status::InvalidArgument(
        "host " + c.host + " " + From("host") +
        " is not a loopback address, and plain HTTP would carry tokens and patient data in "
        "clear: set tls_cert_file and tls_key_file, or listen on 127.0.0.1 behind a TLS proxy, "
        "or set allow_plain_http_on_network when a TLS proxy on a private network fronts cptsd");
  }
  return Status::Ok();
}

Result<DaemonConfig> Builder::Finish() {
  CPTS_RETURN_IF_ERROR(Check());
  if (config_.tokens_file.empty()) config_.tokens_file = config_.data_dir + "/tokens.json";
  return config_;
}

}  // namespace

LogFlags DaemonConfig::Log() const {
  LogFlags flags;
  flags.data_dir = data_dir;
  flags.kafka = kafka;
  flags.topic_prefix = kafka_topic_prefix;
  for (const auto& [name, value] : kafka_properties) {
    flags.kafka_properties.push_back(name + "=" + value);
  }
  flags.partitions = partitions;
  return flags;
}

int DaemonConfig::WorkerThreads() const {
  if (worker_threads > 0) return worker_threads;
  return std::max(8, static_cast<int>(std::thread::hardware_concurrency()));
}

Environment ProcessEnvironment() {
  Environment environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos || !text.starts_with(kEnvPrefix)) continue;
    environment.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return environment;
}

std::vector<std::string> DaemonSettingNames() {
  std::vector<std::string> names;
  for (const Setting& s : Settings()) names.emplace_back(s.name);
  names.emplace_back(kKafkaProperties);
  return names;
}

void AddDaemonFlags(CLI::App& app, DaemonFlags& flags) {
  app.add_option("--config", flags.config_file,
                 "JSON config file (deploy/cptsd.example.json); the environment (CPTSD_<NAME>) "
                 "and the flags override it");
  for (const Setting& s : Settings()) {
    const std::string name(s.name);
    if (std::holds_alternative<bool DaemonConfig::*>(s.field)) {
      app.add_flag_callback(
          FlagName(s.name), [&flags, name] { flags.values[name] = "true"; }, std::string(s.help));
    } else {
      app.add_option_function<std::string>(
          FlagName(s.name), [&flags, name](const std::string& v) { flags.values[name] = v; },
          std::string(s.help));
    }
  }
  app.add_option("--kafka-property", flags.kafka_properties,
                 "librdkafka property name=value, e.g. security.protocol=SASL_SSL (repeatable)");
}

Result<DaemonConfig> LoadDaemonConfig(const DaemonFlags& flags, const Environment& environment) {
  Builder builder;
  // The file first: everything else overrides it.
  const auto config_env = environment.find(EnvName("config"));
  if (!flags.config_file.empty()) {
    CPTS_RETURN_IF_ERROR(builder.ApplyFile(flags.config_file, "--config"));
  } else if (config_env != environment.end() && !config_env->second.empty()) {
    CPTS_RETURN_IF_ERROR(builder.ApplyFile(config_env->second, config_env->first));
  }
  for (const auto& [variable, value] : environment) {
    if (!variable.starts_with(kEnvPrefix) || variable == EnvName("config")) continue;
    const std::string name = [&] {
      std::string lower;
      for (char c : variable.substr(kEnvPrefix.size())) {
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      return lower;
    }();
    const Setting* setting = FindSetting(name);
    if (setting == nullptr || EnvName(name) != variable) {
      if (name == kKafkaProperties) {
        return Status::InvalidArgument(variable +
                                       " is not read: give kafka_properties in the config file, or "
                                       "--kafka-property name=value");
      }
      return Status::InvalidArgument("unknown variable " + Quoted(variable) +
                                     " in the environment" + Suggestion(variable, /*as_env=*/true));
    }
    CPTS_RETURN_IF_ERROR(builder.ApplyText(*setting, value, variable));
  }
  for (const auto& [name, value] : flags.values) {
    const Setting* setting = FindSetting(name);
    if (setting == nullptr) {
      return Status::InvalidArgument("unknown setting " + Quoted(name) + " (from the flags)" +
                                     Suggestion(name, /*as_env=*/false));
    }
    CPTS_RETURN_IF_ERROR(builder.ApplyText(*setting, value, FlagName(name)));
  }
  for (const std::string& property : flags.kafka_properties) {
    CPTS_RETURN_IF_ERROR(builder.ApplyKafkaProperty(property, "--kafka-property"));
  }
  return builder.Finish();
}

}  // namespace cpts::api

// CONFIG GET / SET: Redis's names for the settings Ferrite has (answered from the engine's
// live values) and Ferrite's own dotted names (server.memory, log.level, ...) through
// Shared::config, the server's ConfigAccess. Not on the request path: it may allocate and lock.
#include <string>
#include <utility>
#include <vector>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

namespace {

enum class Setting : std::uint8_t {
  kAppendonly,
  kBind,
  kDatabases,
  kMaxclients,
  kMaxmemory,
  kMaxmemoryPolicy,
  kPort,
  kProtoMaxBulkLen,
  kSave,
  kTimeout,
};

struct RedisSetting {
  std::string_view name;
  Setting setting;
};

constexpr RedisSetting kRedisSettings[] = {
    {"appendonly", Setting::kAppendonly},
    {"bind", Setting::kBind},
    {"databases", Setting::kDatabases},
    {"maxclients", Setting::kMaxclients},
    {"maxmemory", Setting::kMaxmemory},
    {"maxmemory-policy", Setting::kMaxmemoryPolicy},
    {"port", Setting::kPort},
    {"proto-max-bulk-len", Setting::kProtoMaxBulkLen},
    {"save", Setting::kSave},
    {"timeout", Setting::kTimeout},
};

const RedisSetting* find_redis_setting(std::string_view name) {
  for (const RedisSetting& s : kRedisSettings) {
    if (iequals(name, s.name)) return &s;
  }
  return nullptr;
}

// "host:port" or "[v6]:port" -> host (without brackets), port.
std::pair<std::string, std::string> split_address(std::string_view a) {
  const auto colon = a.rfind(':');
  if (colon == std::string_view::npos) return {std::string(a), ""};
  std::string_view host = a.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {std::string(host), std::string(a.substr(colon + 1))};
}

std::string listen_resp(const Exec& ex) {
  return ex.shared.config == nullptr ? "" : ex.shared.config->get(ServerSetting::kListenResp);
}

std::string redis_value(Setting s, const Exec& ex, const ConnInfo& info) {
  switch (s) {
    case Setting::kAppendonly:  // persist.mode aof or both
      return ex.shared.aof_enabled ? "yes" : "no";
    case Setting::kDatabases:
      return "1";
    case Setting::kSave:
      return "";
    case Setting::kMaxclients:
      return std::to_string(ex.settings().max_connections);
    case Setting::kMaxmemory:
      return std::to_string(ex.store().memory_limit());
    case Setting::kMaxmemoryPolicy:
      return ex.store().policy() == store::EvictionPolicy::kLfu ? "allkeys-lfu" : "allkeys-lru";
    case Setting::kTimeout:
      return std::to_string(ex.settings().idle_timeout_ms / 1000);
    case Setting::kProtoMaxBulkLen:  // server.max_item_size, as now in force
      return std::to_string(ex.store().max_item_size());
    case Setting::kPort: {
      // The port this connection reached (the real one even when the listener asked for port 0).
      if (info.local[0] != '\0') return split_address(info.local).second;
      const std::string configured = split_address(listen_resp(ex)).second;
      return configured.empty() ? "0" : configured;
    }
    case Setting::kBind: {
      const std::string configured = listen_resp(ex);
      if (!configured.empty()) return split_address(configured).first;
      return split_address(info.local).first;
    }
  }
  return "";
}

// Redis's memtoull: digits with an optional unit b, k, kb, m, mb, g, gb (any case).
bool parse_memory(std::string_view s, std::uint64_t* out) {
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return false;
  const std::string_view unit = s.substr(digits);
  std::uint64_t mul = 0;
  if (unit.empty() || iequals(unit, "b")) {
    mul = 1;
  } else if (iequals(unit, "k")) {
    mul = 1000;
  } else if (iequals(unit, "kb")) {
    mul = 1024;
  } else if (iequals(unit, "m")) {
    mul = 1000 * 1000;
  } else if (iequals(unit, "mb")) {
    mul = 1024 * 1024;
  } else if (iequals(unit, "g")) {
    mul = 1000 * 1000 * 1000;
  } else if (iequals(unit, "gb")) {
    mul = std::uint64_t{1} << 30;
  } else {
    return false;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < digits; ++i) v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
  if (v > UINT64_MAX / mul) return false;
  *out = v * mul;
  return true;
}

bool has_glob(std::string_view p) { return p.find_first_of("*?[") != std::string_view::npos; }

// A Ferrite setting named exactly `name` (any case), or "" if there is none.
std::string native_name(const Exec& ex, std::string_view name) {
  if (ex.shared.config == nullptr || has_glob(name) || name.find('.') == std::string_view::npos) return "";
  const auto v = ex.shared.config->get(name);
  return v.size() == 1 ? v.front().first : "";
}

// Applies one CONFIG SET pair; returns "" or why it failed.
std::string apply_setting(const Exec& ex, std::string_view name, std::string_view value) {
  constexpr std::string_view kImmutable = "can't set immutable config";
  const RedisSetting* rs = find_redis_setting(name);
  ConfigAccess* config = ex.shared.config;
  if (rs == nullptr) return config != nullptr ? config->set(name, value) : std::string(kImmutable);
  switch (rs->setting) {
    case Setting::kSave:
      return value.empty() ? ""
                           : "argument must be \"\" (Ferrite's snapshot schedule is persist.snapshot_interval "
                             "and persist.snapshot_changes; restart to change)";
    case Setting::kAppendonly:
      if (iequals(value, ex.shared.aof_enabled ? "yes" : "no")) return "";
      return ex.shared.aof_enabled ? "argument must be 'yes' (the append-only file is persist.mode; restart to change)"
                                   : "argument must be 'no' (the append-only file is persist.mode; restart to change)";
    case Setting::kDatabases:
      return std::string(kImmutable);
    default:
      break;
  }
  if (config == nullptr) return std::string(kImmutable);
  switch (rs->setting) {
    case Setting::kMaxmemory: {
      std::uint64_t bytes = 0;
      if (!parse_memory(value, &bytes)) return "argument must be a memory value";
      return config->set(ServerSetting::kMemory, std::to_string(bytes));
    }
    case Setting::kMaxmemoryPolicy:
      if (iequals(value, "allkeys-lru")) return config->set(ServerSetting::kPolicy, "clock");
      if (iequals(value, "allkeys-lfu")) return config->set(ServerSetting::kPolicy, "lfu");
      return "argument(s) must be one of the following: allkeys-lru, allkeys-lfu";
    case Setting::kProtoMaxBulkLen: {
      std::uint64_t bytes = 0;
      if (!parse_memory(value, &bytes)) return "argument must be a memory value";
      return config->set(ServerSetting::kMaxItemSize, std::to_string(bytes));
    }
    case Setting::kMaxclients:
      return config->set(ServerSetting::kMaxConnections, value);
    case Setting::kTimeout:
      return config->set(ServerSetting::kIdleTimeout, value);
    case Setting::kPort:
    case Setting::kBind: {
      auto [host, port] = split_address(listen_resp(ex));
      if (rs->setting == Setting::kPort) {
        port.assign(value);
      } else {
        host.assign(value);
      }
      const bool v6 = host.find(':') != std::string::npos;
      return config->set(ServerSetting::kListenResp, (v6 ? "[" + host + "]" : host) + ":" + port);
    }
    default:
      break;
  }
  return std::string(kImmutable);
}

}  // namespace

// CONFIG GET pattern [pattern ...]: a map of name -> value. An exact name is echoed as given, as
// Redis does.
void RespSession::cmd_config_get(Call& c) {
  std::vector<std::pair<std::string, std::string>> found;
  auto add = [&](std::string_view name, std::string value) {
    for (const auto& kv : found) {
      if (iequals_both(kv.first, name)) return;  // Redis's config dict ignores case
    }
    found.emplace_back(std::string(name), std::move(value));
  };
  for (std::size_t i = 2; i < c.argc(); ++i) {
    const std::string_view pattern = c.argv[i];
    const bool glob = has_glob(pattern);
    for (const RedisSetting& s : kRedisSettings) {
      if (glob ? proto::resp::glob_match(pattern, s.name, true) : iequals(pattern, s.name)) {
        add(glob ? s.name : pattern, redis_value(s.setting, c.ex, info_));
      }
    }
    if (c.ex.shared.config != nullptr) {
      for (auto& [name, value] : c.ex.shared.config->get(pattern)) add(name, std::move(value));
    }
  }
  c.w.map(found.size());
  for (const auto& [name, value] : found) {
    c.w.bulk(name);
    c.w.bulk(value);
  }
}

// CONFIG SET name value [name value ...]: every name is checked before any is set; the pairs are
// then applied in order, stopping at the first that fails.
void RespSession::cmd_config_set(Call& c) {
  if ((c.argc() - 2) % 2 != 0) {
    c.w.error(kErrSyntax);
    return;
  }
  auto failed = [&](std::string_view name, std::string_view why) {
    scratch_.clear();
    scratch_.append("ERR CONFIG SET failed (possibly related to argument '");
    scratch_.append(cstr(name));
    scratch_.append("') - ");
    scratch_.append(why);
    c.w.error(scratch_.view());
  };
  for (std::size_t i = 2; i < c.argc(); i += 2) {
    const std::string_view name = c.argv[i];
    if (find_redis_setting(name) == nullptr && native_name(c.ex, name).empty()) {
      scratch_.clear();
      scratch_.append("ERR Unknown option or number of arguments for CONFIG SET - '");
      scratch_.append(cstr(name));
      scratch_.push_back('\'');
      c.w.error(scratch_.view());
      return;
    }
    for (std::size_t j = 2; j < i; j += 2) {
      if (iequals_both(c.argv[j], name)) {
        failed(name, "duplicate parameter");
        return;
      }
    }
  }
  for (std::size_t i = 2; i < c.argc(); i += 2) {
    const std::string error = apply_setting(c.ex, c.argv[i], c.argv[i + 1]);
    if (!error.empty()) {
      failed(c.argv[i], error);
      return;
    }
  }
  c.w.simple("OK");
}

}  // namespace ferrite::engine::resp

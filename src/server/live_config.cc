#include "server/live_config.h"

#include <fnmatch.h>

#include "core/size.h"
#include "server/settings.h"

namespace ferrite::server {

LiveConfig::LiveConfig(const ServerConfig& config, engine::EngineSettings* settings, store::Partitions* store)
    : config_(config), settings_(settings), store_(store) {}

void LiveConfig::set_targets(engine::EngineSettings* settings, store::Partitions* store) {
  std::lock_guard lock(mu_);
  settings_ = settings;
  store_ = store;
}

void LiveConfig::set_aof(persist::AofWriter* aof) {
  std::lock_guard lock(mu_);
  aof_ = aof;
}

void LiveConfig::refresh_log_level() const {
  if (settings_ == nullptr) return;
  const LogLevel level = level_for_verbosity(settings_->verbosity.load(std::memory_order_relaxed));
  if (level == config_.log_level) return;
  config_.log_level = level;
  config_.values.set("log.level", kLogLevelChoices[static_cast<std::size_t>(level)]);
}

std::vector<std::pair<std::string, std::string>> LiveConfig::get(std::string_view glob) const {
  const std::string pattern(glob);
  std::vector<std::pair<std::string, std::string>> out;
  std::lock_guard lock(mu_);
  refresh_log_level();
  for (const Setting& s : all_settings()) {
    const std::string name(s.name);
    if (fnmatch(pattern.c_str(), name.c_str(), FNM_CASEFOLD) == 0)
      out.emplace_back(name, config_.values.get(s.key));
  }
  return out;
}

namespace {

// The key of the settings table that each of the engine's ids names.
Key key_of(engine::ServerSetting s) noexcept {
  switch (s) {
    case engine::ServerSetting::kMemory: return Key::kMemory;
    case engine::ServerSetting::kPolicy: return Key::kPolicy;
    case engine::ServerSetting::kMaxItemSize: return Key::kMaxItemSize;
    case engine::ServerSetting::kMaxConnections: return Key::kMaxConnections;
    case engine::ServerSetting::kIdleTimeout: return Key::kIdleTimeout;
    case engine::ServerSetting::kListenMemcache: return Key::kListenMemcache;
    case engine::ServerSetting::kListenMemcacheUdp: return Key::kListenMemcacheUdp;
    case engine::ServerSetting::kListenResp: return Key::kListenResp;
  }
  __builtin_unreachable();  // every id is named above (-Wswitch)
}

}  // namespace

std::string LiveConfig::get(engine::ServerSetting key) const {
  std::lock_guard lock(mu_);
  refresh_log_level();
  return config_.values.get(key_of(key));
}

std::string LiveConfig::set(engine::ServerSetting key, std::string_view value) {
  return set(setting(key_of(key)), value);
}

std::string LiveConfig::set(std::string_view key, std::string_view value) {
  std::string name(key);
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const Setting* s = find_setting(name);
  if (s == nullptr) return unknown_key_error(key);
  return set(*s, value);
}

std::string LiveConfig::set(const Setting& setting, std::string_view value) {
  const Setting* s = &setting;
  const std::string name(s->name);
  if (!s->live) {
    return name +
           ": cannot change while ferrited runs (set it in the configuration file, or with --set, "
           "and restart)";
  }
  std::string canonical;
  if (std::string error = check_value(*s, value, quote(value), &canonical); !error.empty()) return error;

  std::lock_guard lock(mu_);
  switch (s->key) {
    case Key::kLogLevel: {
      const auto level = static_cast<LogLevel>(parse_choice(*s, canonical).value_or(0));
      if (settings_ != nullptr) settings_->verbosity.store(verbosity_for(level), std::memory_order_relaxed);
      config_.log_level = level;
      break;
    }
    case Key::kMemory: {
      const std::uint64_t bytes = parse_size(canonical).value_or(0);
      if (config_.store.max_item_size > bytes / 4) {
        return "server.memory: " + quote(value) + " is less than 4 times server.max_item_size (" +
               format_size(config_.store.max_item_size) + "); expected at least " +
               format_size(config_.store.max_item_size * 4);
      }
      if (store_ != nullptr) {
        if (std::string error = store_->set_memory_limit(bytes); !error.empty()) {
          return "server.memory: " + quote(value) + ": " + error;
        }
      }
      config_.store.memory_limit = bytes;
      break;
    }
    case Key::kPolicy: {
      const auto policy = static_cast<store::EvictionPolicy>(parse_choice(*s, canonical).value_or(0));
      if (store_ != nullptr) store_->set_policy(policy);
      config_.store.policy = policy;
      break;
    }
    case Key::kMaxConnections: {
      // Lowering it refuses new connections beyond it; the open ones stay.
      const std::size_t n = parse_uint(canonical).value_or(0);
      if (settings_ != nullptr) settings_->max_connections.store(n);
      config_.max_connections = n;
      break;
    }
    case Key::kMaxReplyBytes: {
      const std::size_t bytes = parse_size(canonical).value_or(0);
      if (settings_ != nullptr) settings_->max_reply_bytes.store(bytes);
      config_.max_reply_bytes = bytes;
      break;
    }
    case Key::kIdleTimeout: {
      const std::uint64_t ms = parse_duration(canonical).value_or(0) * 1000;
      if (settings_ != nullptr) settings_->idle_timeout_ms.store(ms);
      config_.idle_timeout_ms = ms;
      break;
    }
    case Key::kMaxItemSize: {
      // The store and every protocol read the limit where a request starts; a request already
      // being received keeps the limit it started under (a lowered one may then close it).
      const std::size_t bytes = max_item_size_for(parse_size(canonical).value_or(0),
                                                  config_.store.memory_limit, config_.max_conn_buffer_bytes);
      if (bytes > config_.store.memory_limit / 4) {
        return "server.max_item_size: " + quote(value) + " is more than a quarter of server.memory (" +
               format_size(config_.store.memory_limit) + "); expected at most " +
               format_size(config_.store.memory_limit / 4);
      }
      if (std::string e = item_fits_conn_buffers(bytes, config_.max_conn_buffer_bytes); !e.empty()) {
        return "server.max_item_size: " + quote(value) + " " + e;
      }
      if (store_ != nullptr) {
        if (std::string error = store_->set_max_item_size(bytes); !error.empty()) {
          return "server.max_item_size: " + quote(value) + ": " + error;
        }
      }
      // Raised: the request bound first, so that a value now allowed is never refused for its size
      // as a request; lowered: the value limit is already in force.
      if (settings_ != nullptr) settings_->max_request_bytes.store(bytes + kRequestHeadroom);
      config_.store.max_item_size = bytes;
      config_.max_request_bytes = bytes + kRequestHeadroom;
      break;
    }
    case Key::kMaxConnBufferBytes: {
      const std::size_t bytes =
          conn_buffer_bytes_for(parse_size(canonical).value_or(0), config_.store.memory_limit);
      if (std::string e = item_fits_conn_buffers(config_.store.max_item_size, bytes); !e.empty()) {
        return "server.max_conn_buffer_bytes: " + quote(value) + " is too small: server.max_item_size (" +
               format_size(config_.store.max_item_size) + ") " + e;
      }
      if (settings_ != nullptr) settings_->conn_buffers.set_limit(bytes, config_.workers);
      config_.max_conn_buffer_bytes = bytes;
      break;
    }
    case Key::kSlowRequest: {
      const std::uint64_t us = parse_uint(canonical).value_or(0);
      if (settings_ != nullptr) settings_->slow_request_ns.store(us * 1000, std::memory_order_relaxed);
      config_.slow_request_us = us;
      break;
    }
    case Key::kPersistFsync: {
      const auto policy = static_cast<persist::FsyncPolicy>(parse_choice(*s, canonical).value_or(1));
      if (aof_ != nullptr) aof_->set_fsync(policy);
      config_.persist.fsync = policy;
      break;
    }
    default:
      return name + ": marked live but not applied by LiveConfig::set";
  }
  config_.values.set(name, canonical);
  return "";
}

ServerConfig LiveConfig::current() const {
  std::lock_guard lock(mu_);
  refresh_log_level();
  return config_;
}

std::string LiveConfig::digest() const { return current().digest(); }

}  // namespace ferrite::server

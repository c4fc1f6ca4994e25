// The server's engine::ConfigAccess: CONFIG GET/SET (RESP) and the management socket read every
// key as text and change the keys marked live in the settings table (log.level, server.memory,
// server.policy, server.max_connections, server.max_reply_bytes, server.idle_timeout, persist.fsync).
// Not on the request path: a mutex guards the values; the workers read the engine settings and
// the store's limit and policy as relaxed atomics.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/session.h"
#include "persist/aof.h"
#include "server/config.h"
#include "server/settings.h"
#include "store/partitions.h"

namespace ferrite::server {

class LiveConfig final : public engine::ConfigAccess {
 public:
  // Live changes go to `settings` (log.level sets its verbosity, and log.level is read back from
  // it, since memcached's verbosity command changes it too; server.max_connections,
  // server.max_reply_bytes, server.idle_timeout) and to `store` (server.memory, server.policy).
  // Either may be null (tests): the keys it carries then change here only. Both must outlive this
  // object.
  LiveConfig(const ServerConfig& config, engine::EngineSettings* settings, store::Partitions* store);
  // Sets the targets later, for when they are made after this object (the daemon that owns them
  // takes a ConfigAccess* when it is constructed).
  void set_targets(engine::EngineSettings* settings, store::Partitions* store);
  // The append-only file, when persist.mode has one: persist.fsync changes its policy live.
  void set_aof(persist::AofWriter* aof);

  // Every key whose name matches the glob (*, ?, [...]; case-insensitive), in table order, with its
  // current value in canonical spelling.
  std::vector<std::pair<std::string, std::string>> get(std::string_view glob) const override;
  // Changes a live key. Returns "" or the error: an unknown key (with a suggestion), a key that
  // needs a restart, or a bad value (naming the key, the value and what is allowed).
  std::string set(std::string_view key, std::string_view value) override;
  // The same for the settings the engine names by id (the key of the settings table each names).
  std::string get(engine::ServerSetting key) const override;
  std::string set(engine::ServerSetting key, std::string_view value) override;

  // The configuration as it is now, with live changes.
  ServerConfig current() const;
  // ServerConfig::digest() of current().
  std::string digest() const;

 private:
  void refresh_log_level() const;  // mu_ held: config_ follows settings_->verbosity
  std::string set(const Setting& s, std::string_view value);

  mutable std::mutex mu_;
  mutable ServerConfig config_;
  engine::EngineSettings* settings_;
  store::Partitions* store_;
  persist::AofWriter* aof_ = nullptr;
};

}  // namespace ferrite::server

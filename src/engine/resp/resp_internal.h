// Inside the RESP session: the session class, the command table's shape, and the helpers the
// command files share. Commands live in resp_strings.cc (whole values), resp_modify.cc (partial
// updates and counters), resp_keys.cc (keyspace and expiry), resp_server.cc (connection
// commands, CLIENT), resp_hash.cc (hashes), resp_config.cc (CONFIG), resp_info.cc (INFO),
// resp_scan.cc (SCAN, KEYS, RENAME, COPY, OBJECT, MEMORY), resp_admin.cc (FUNCTION, SCRIPT, WAIT,
// DEBUG), resp_multi.cc (MULTI, EXEC, WATCH) and resp_table.cc (the table, COMMAND, the HELP
// texts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "core/rng.h"
#include "engine/session.h"
#include "proto/resp/resp_parser.h"
#include "proto/resp/resp_writer.h"
#include "store/hash_value.h"
#include "store/store.h"

namespace ferrite::engine::resp {

// The Redis version we answer to (HELLO, INFO redis_version): the release whose replies and
// errors this session follows.
inline constexpr std::string_view kRedisVersion = "7.0.0";

class RespSession;
struct Call;
using Handler = void (RespSession::*)(Call&);

// One key specification, as COMMAND INFO reports it (begin_search by index, find_keys by range).
struct KeySpec {
  const char* notes;  // "" for none
  const char* flags;  // space-separated: "RO access"
  int begin_index;
  int lastkey;
  int keystep;
  int limit;
};

// One command (or subcommand) and everything COMMAND INFO says about it.
struct CommandSpec {
  std::string_view name;  // lower case; "config|get" for a subcommand
  int arity;              // Redis's: n exact, -n at least n (the name counts)
  const char* flags;      // space-separated: "readonly fast"
  const char* acl;        // space-separated: "@read @string @fast"
  const char* tips;       // space-separated, or ""
  const KeySpec* key_spec;
  Handler handler;  // nullptr for a container (CONFIG, CLIENT)
  Op op;            // what it counts as in the metrics
  std::span<const CommandSpec> subcommands;

  // The part after '|' for a subcommand.
  std::string_view short_name() const noexcept {
    const auto bar = name.find('|');
    return bar == std::string_view::npos ? name : name.substr(bar + 1);
  }
};

// The top-level commands, sorted by name.
std::span<const CommandSpec> command_table() noexcept;
// Looks up a top-level command by name, any case; nullptr if unknown.
const CommandSpec* find_command(std::string_view name) noexcept;
// Looks up a subcommand of `parent` by name, any case; nullptr if unknown.
const CommandSpec* find_subcommand(const CommandSpec& parent, std::string_view name) noexcept;

// One request being executed.
struct Call {
  Exec& ex;
  store::PartitionedContext& ctx;
  proto::resp::Writer w;
  std::span<const std::string_view> argv;
  const CommandSpec* cmd;
  Op op;
  unsigned times = 1;  // requests of `op` this call counts as (one per key for MGET, MSET, DEL)

  std::size_t argc() const noexcept { return argv.size(); }
};

// Calls fn(key) for each key argument `spec` names in argv (begin_index, lastkey, keystep, and
// for "the rest" a limit dividing the remaining arguments, as Redis's key specs do): the one walk
// of a command's keys, for the hot-key sketch and for EXEC's lock set.
template <typename Fn>
void for_each_key(const KeySpec* spec, std::span<const std::string_view> argv, Fn&& fn) {
  if (spec == nullptr) return;
  const int argc = static_cast<int>(argv.size());
  const int first = spec->begin_index;
  if (first < 1 || first >= argc) return;
  int last = spec->lastkey >= 0 ? first + spec->lastkey : argc + spec->lastkey;
  if (spec->lastkey < 0 && spec->limit > 1) last = first + (argc - first) / spec->limit - 1;
  const int step = spec->keystep > 0 ? spec->keystep : 1;
  for (int i = first; i <= last && i < argc; i += step) fn(argv[static_cast<std::size_t>(i)]);
}

// Whether a space-separated flag list (CommandSpec::flags) holds `word`.
bool has_flag(const char* flags, std::string_view word) noexcept;

// Case-insensitive equality with a lower-case literal.
bool iequals(std::string_view s, std::string_view lower) noexcept;
// Case-insensitive equality (ASCII) of any two strings.
bool iequals_both(std::string_view a, std::string_view b) noexcept;

// Whether a versioned store failed only because another worker changed the key since it was
// read (it changed, vanished or appeared): the command reads again and retries.
inline bool lost_race(store::Status s) noexcept {
  return s == store::Status::kExists || s == store::Status::kNotFound || s == store::Status::kNotStored;
}

void reply_wrongtype(Call& c);

// A string's value or nil, counted as a hit or a miss; WRONGTYPE for an item of another type.
inline void reply_value(Call& c, const store::ItemView& it) {
  if (it && !it.is_string()) {
    reply_wrongtype(c);
    return;
  }
  if (it) {
    c.ex.hit(Proto::kResp);
    c.w.bulk(it.value());
  } else {
    c.ex.miss(Proto::kResp);
    c.w.null();
  }
}

// User input quoted in an error message, cut at a NUL as Redis's C-string formatting cuts it.
inline std::string_view cstr(std::string_view s) noexcept { return s.substr(0, s.find('\0')); }

// An item's Redis type ("string") and encoding ("int", "embstr", "raw"), decided here only
// (resp_scan.cc): SCAN TYPE, OBJECT ENCODING and DEBUG OBJECT ask these.
std::string_view redis_type(const store::ItemView& it) noexcept;
std::string_view redis_encoding(const store::ItemView& it) noexcept;

// "ERR wrong number of arguments for 'get' command" (the command's full name: 'config|get').
void reply_arity(Call& c);

// Error replies Redis sends with these exact words.
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kErrTooLong =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr std::string_view kErrOom = "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

// The WRONGTYPE error (a command on a key of another type): resp_hash.cc.
// For the string commands: false (after answering WRONGTYPE) when `it` is an item that is not a
// string; true for a string or no item.
inline bool string_or_none(Call& c, const store::ItemView& it) {
  if (it && !it.is_string()) {
    reply_wrongtype(c);
    return false;
  }
  return true;
}

class RespSession final : public Session {
 public:
  explicit RespSession(const ConnInfo& info);
  std::size_t feed(std::string_view in, Buffer& out, Exec& ex) override;
  Proto proto() const noexcept override { return Proto::kResp; }
  std::string_view out_of_memory_reply() const noexcept override {
    return "-OOM command not allowed when used memory > 'maxmemory'.\r\n";  // Redis's words
  }

  // --- strings (resp_strings.cc, resp_modify.cc) ---------------------------------------------
  void cmd_get(Call& c);
  void cmd_set(Call& c);
  void cmd_setnx(Call& c);
  void cmd_setex(Call& c);
  void cmd_psetex(Call& c);
  void cmd_getset(Call& c);
  void cmd_getdel(Call& c);
  void cmd_getex(Call& c);
  void cmd_mget(Call& c);
  void cmd_mset(Call& c);
  void cmd_msetnx(Call& c);
  void cmd_append(Call& c);
  void cmd_strlen(Call& c);
  void cmd_getrange(Call& c);
  void cmd_setrange(Call& c);
  void cmd_incr(Call& c);
  void cmd_decr(Call& c);
  void cmd_incrby(Call& c);
  void cmd_decrby(Call& c);
  void cmd_incrbyfloat(Call& c);
  // --- hashes (resp_hash.cc) -----------------------------------------------------------------
  void cmd_hset(Call& c);
  void cmd_hmset(Call& c);
  void cmd_hsetnx(Call& c);
  void cmd_hget(Call& c);
  void cmd_hmget(Call& c);
  void cmd_hgetall(Call& c);
  void cmd_hdel(Call& c);
  void cmd_hexists(Call& c);
  void cmd_hlen(Call& c);
  void cmd_hkeys(Call& c);
  void cmd_hvals(Call& c);
  void cmd_hincrby(Call& c);
  void cmd_hincrbyfloat(Call& c);
  void cmd_hstrlen(Call& c);
  void cmd_hrandfield(Call& c);
  void cmd_hscan(Call& c);
  // --- keys (resp_keys.cc) -------------------------------------------------------------------
  void cmd_del(Call& c);
  void cmd_exists(Call& c);
  void cmd_expire(Call& c);
  void cmd_pexpire(Call& c);
  void cmd_expireat(Call& c);
  void cmd_pexpireat(Call& c);
  void cmd_ttl(Call& c);
  void cmd_pttl(Call& c);
  void cmd_expiretime(Call& c);
  void cmd_pexpiretime(Call& c);
  void cmd_persist(Call& c);
  void cmd_type(Call& c);
  void cmd_dbsize(Call& c);
  void cmd_flushall(Call& c);
  // --- connection and server (resp_server.cc, resp_config.cc) ---------------------------------
  void cmd_ping(Call& c);
  void cmd_echo(Call& c);
  void cmd_select(Call& c);
  void cmd_quit(Call& c);
  void cmd_reset(Call& c);
  void cmd_time(Call& c);
  void cmd_hello(Call& c);
  void cmd_auth(Call& c);
  void cmd_client_id(Call& c);
  void cmd_client_info(Call& c);
  void cmd_client_list(Call& c);
  void cmd_client_getname(Call& c);
  void cmd_client_setname(Call& c);
  void cmd_client_setinfo(Call& c);
  void cmd_client_no_evict(Call& c);
  void cmd_client_help(Call& c);
  void cmd_config_get(Call& c);
  void cmd_config_set(Call& c);
  void cmd_config_help(Call& c);
  // --- keyspace (resp_scan.cc) ---------------------------------------------------------------
  void cmd_scan(Call& c);
  void cmd_keys(Call& c);
  void cmd_randomkey(Call& c);
  void cmd_rename(Call& c);
  void cmd_renamenx(Call& c);
  void cmd_copy(Call& c);
  void cmd_touch(Call& c);
  void cmd_object_encoding(Call& c);
  void cmd_object_freq(Call& c);
  void cmd_object_idletime(Call& c);
  void cmd_object_refcount(Call& c);
  void cmd_memory_usage(Call& c);
  void cmd_debug_object(Call& c, std::string_view key);
  // --- admin (resp_admin.cc) -------------------------------------------------------------------
  void cmd_function_flush(Call& c);
  void cmd_function_list(Call& c);
  void cmd_function_help(Call& c);
  void cmd_no_scripting(Call& c);
  void cmd_script_flush(Call& c);
  void cmd_script_exists(Call& c);
  void cmd_script_help(Call& c);
  void cmd_wait(Call& c);
  void cmd_waitaof(Call& c);
  void cmd_debug(Call& c);
  // --- persistence (resp_persist.cc) -----------------------------------------------------------
  void cmd_save(Call& c);
  void cmd_bgsave(Call& c);
  void cmd_bgrewriteaof(Call& c);
  void cmd_lastsave(Call& c);
  void cmd_client_no_touch(Call& c);
  void cmd_client_kill(Call& c);
  void cmd_slowlog_get(Call& c);
  void cmd_slowlog_len(Call& c);
  void cmd_slowlog_reset(Call& c);
  void cmd_slowlog_help(Call& c);
  void cmd_latency_latest(Call& c);
  void cmd_latency_reset(Call& c);
  void cmd_latency_help(Call& c);
  void cmd_object_help(Call& c);
  void cmd_memory_help(Call& c);
  // --- INFO (resp_info.cc) -------------------------------------------------------------------
  void cmd_info(Call& c);
  // --- transactions (resp_multi.cc) ----------------------------------------------------------
  void cmd_multi(Call& c);
  void cmd_exec(Call& c);
  void cmd_discard(Call& c);
  void cmd_watch(Call& c);
  void cmd_unwatch(Call& c);
  // --- COMMAND (resp_table.cc) ---------------------------------------------------------------
  void cmd_command(Call& c);
  void cmd_command_count(Call& c);
  void cmd_command_docs(Call& c);
  void cmd_command_info(Call& c);
  void cmd_command_list(Call& c);
  void cmd_command_help(Call& c);

 private:
  void execute(std::span<const std::string_view> argv, Buffer& out, Exec& ex);
  // Runs a parsed command's handler (execute(), EXEC): hot keys, CLIENT NO-TOUCH.
  void run(Call& c);
  // MGET as a multibulk request is served as its keys arrive (resp_session.cc): its array header
  // once, then the values of the keys that are complete, up to the reply cap, each consumed as
  // it is answered. So neither a request of 100,000 keys nor its reply is ever held whole.
  // mget_begin returns the bytes of the request's start it took (0: not such a request).
  std::size_t mget_begin(std::string_view in, Buffer& out, Exec& ex);
  // The next keys of the streamed MGET at the front of `in`: bytes consumed (0: none complete).
  std::size_t mget_keys(std::string_view in, Buffer& out, Exec& ex);
  // A protocol error inside a streamed MGET: Redis's error line, then close.
  void mget_fail(Buffer& out, Exec& ex, std::string_view message);
  void fatal(Buffer& out, Exec& ex);   // a protocol error: its reply, then the connection closes
  void refuse(Buffer& out, Exec& ex);  // an over-limit request swallowed: its error, the connection stays
  void reply_unknown(Call& c, bool subcommand);
  // While Exec::gated: answers -LOADING or -MISCONF instead of running `c` and returns true, as
  // Redis does (commands flagged "loading" run while loading; "write" ones are refused while the
  // append-only file fails under fsync = always).
  bool refused(Call& c);
  // Feeds the hot-key sketch with the keys cmd's key spec names in argv.
  static void note_keys(const CommandSpec& cmd, std::span<const std::string_view> argv, Exec& ex) noexcept;

  // Shared by the string commands.
  enum class Expire : std::uint8_t { kOk, kNotInteger, kInvalid };
  Expire expire_arg(Call& c, std::string_view arg, bool seconds, bool relative,
                    std::uint64_t* deadline) const;
  void reply_expire_error(Call& c, Expire e) const;
  void reply_store_error(Call& c, store::Status s) const;
  void expire_generic(Call& c, bool seconds, bool relative);
  void ttl_generic(Call& c, bool ms, bool absolute);
  void incr_generic(Call& c, std::int64_t delta);
  void setex_generic(Call& c, bool seconds);
  void set_with_get(Call& c, std::string_view key, std::string_view value, unsigned flags,
                    std::uint64_t deadline);
  void append_client_line(Call& c, Buffer& out) const;
  // Shared by the hash commands (resp_hash.cc).
  bool hash_lookup(Call& c, store::ItemView* out);
  store::Status hash_store(Call& c, const store::ItemView& old);
  void reply_hash_store_error(Call& c, store::Status s) const;
  void hash_trim();
  void hset_generic(Call& c, bool hmset);
  void hash_all(Call& c, bool fields, bool values);
  // Transactions (resp_multi.cc). In MULTI: queues the request and answers +QUEUED (true), or
  // false for the commands that run at once (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
  bool queue_command(Call& c);
  // Leaves MULTI and forgets the queue and the watches (EXEC, DISCARD, RESET).
  void multi_reset() noexcept;
  void unwatch_all() noexcept;
  void collect_keys(const CommandSpec& cmd, std::span<const std::string_view> argv);
  struct ArgRef {
    std::uint32_t offset;  // in tx_bytes_
    std::uint32_t length;
  };
  struct QueuedCommand {
    const CommandSpec* cmd;
    std::uint32_t first;  // its first argument in tx_args_
    std::uint32_t argc;
  };
  struct WatchedKey {
    std::uint32_t offset;  // in watch_bytes_
    std::uint32_t length;
    std::uint64_t version;  // the live item's at WATCH; 0 when there was none
    std::uint32_t expiry;   // its expiry code then (store::Item::expiry; 0: never or none)
  };
  std::string_view watched_key(const WatchedKey& w) const noexcept;
  void reply_client_text(Call& c, bool listed);
  void rename_generic(Call& c, bool nx);
  // CLIENT LIST's lines for every connection of the daemon (this one in full), or only those
  // whose id is in `ids` (resp_admin.cc).
  void list_clients(Call& c, const std::vector<std::uint64_t>* ids, Buffer& out) const;

  proto::resp::RequestParser parser_;
  int resp_ = 2;                            // protocol version: 2 or 3 (HELLO)
  std::string name_;                        // CLIENT SETNAME
  std::string lib_name_, lib_ver_;          // CLIENT SETINFO
  std::string_view last_command_ = "NULL";  // CLIENT INFO cmd=
  std::uint64_t commands_ = 0;              // executed on this connection
  std::size_t pending_input_ = 0;           // unconsumed input bytes when the current request started
  // INFO instantaneous_ops_per_sec: the previous sample (store clock ms, total commands).
  std::uint64_t ops_sample_ms_ = 0;
  std::int64_t ops_sample_total_ = 0;
  Buffer scratch_;                      // values built by SETRANGE / INCRBYFLOAT, INFO text
  std::vector<store::KeyRef> keys_;     // MGET
  std::vector<store::ItemView> items_;  // MGET
  std::vector<std::uint64_t> added_;    // MSETNX: versions of what it added, for a rollback
  store::hash::Scratch hash_;                  // hash commands: the new encoding and its indexes
  std::vector<store::hash::Pair> hash_pairs_;  // HSET's pairs
  std::vector<std::string_view> hash_fields_;  // HDEL's fields
  Rng rng_;                                    // HRANDFIELD
  std::vector<std::string_view> scan_out_;  // SCAN, KEYS: the keys of the reply being built
  bool no_touch_ = false;                   // CLIENT NO-TOUCH
  // The streamed MGET (see mget_begin): keys still to come, when it started, one batch's keys.
  static constexpr std::size_t kMgetBatch = 32;
  std::int64_t mget_left_ = 0;
  bool mget_first_ = false;  // no key counted yet (the first carries the command's latency)
  std::uint64_t mget_start_ = 0;
  store::KeyRef mget_keys_[kMgetBatch];
  store::ItemView mget_items_[kMgetBatch];
  std::size_t mget_ends_[kMgetBatch] = {};
  // MULTI/EXEC (resp_multi.cc): the queued commands' arguments in one buffer (counted toward the
  // connection-buffer budget like every buffer), the watched keys in another; the rest is
  // scratch kept between transactions.
  bool in_multi_ = false;
  bool multi_dirty_ = false;  // a command was refused while queueing: EXEC answers EXECABORT
  Buffer tx_bytes_;
  std::vector<ArgRef> tx_args_;
  std::vector<QueuedCommand> tx_cmds_;
  std::vector<std::string_view> tx_argv_;  // EXEC: the arguments as views
  std::vector<store::KeyRef> tx_keys_;     // EXEC: every key to lock
  Buffer watch_bytes_;
  std::vector<WatchedKey> watched_;
};

}  // namespace ferrite::engine::resp

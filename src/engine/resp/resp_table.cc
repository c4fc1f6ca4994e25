// The command table (what each command is, for dispatch and for COMMAND INFO, with the arity,
// flags, ACL categories, tips and key specs redis-server 7 reports) and the COMMAND command.
#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

namespace {

using S = RespSession;

// Key specs: one key at argument 1 (or every argument from 1, or every other one).
constexpr KeySpec kOneRO{"", "RO", 1, 0, 1, 0};
constexpr KeySpec kOneROAccess{"", "RO access", 1, 0, 1, 0};
constexpr KeySpec kOneRWAccessUpdate{"", "RW access update", 1, 0, 1, 0};
constexpr KeySpec kOneRWAccessDelete{"", "RW access delete", 1, 0, 1, 0};
constexpr KeySpec kOneRWDelete{"", "RW delete", 1, 0, 1, 0};
constexpr KeySpec kOneRWUpdate{"", "RW update", 1, 0, 1, 0};
constexpr KeySpec kOneRWInsert{"", "RW insert", 1, 0, 1, 0};
constexpr KeySpec kOneOWInsert{"", "OW insert", 1, 0, 1, 0};
constexpr KeySpec kOneOWUpdate{"", "OW update", 1, 0, 1, 0};
constexpr KeySpec kSet{
    "RW and ACCESS due to the optional `GET` argument", "RW access update variable_flags", 1, 0, 1, 0};
constexpr KeySpec kGetex{"RW and UPDATE because it changes the TTL", "RW access update", 1, 0, 1, 0};
constexpr KeySpec kAllRO{"", "RO", 1, -1, 1, 0};
constexpr KeySpec kAllROAccess{"", "RO access", 1, -1, 1, 0};
constexpr KeySpec kAllRMDelete{"", "RM delete", 1, -1, 1, 0};
constexpr KeySpec kPairsOWUpdate{"", "OW update", 1, -1, 2, 0};
constexpr KeySpec kPairsOWInsert{"", "OW insert", 1, -1, 2, 0};
// The keyspace commands (resp_scan.cc). A command with two key specs in Redis (RENAME, COPY)
// has one here that spans both keys (the table holds one spec per command): COMMAND INFO's
// first/last/step are Redis's, the flags are those of the first key.
constexpr KeySpec kSecondRO{"", "RO", 2, 0, 1, 0};
constexpr KeySpec kTwoRWAccessDelete{"", "RW access delete", 1, 1, 1, 0};
constexpr KeySpec kTwoROAccess{"", "RO access", 1, 1, 1, 0};

constexpr const char* kConnFlags = "noscript loading stale";
constexpr const char* kAdminFlags = "admin noscript loading stale";
constexpr const char* kNoAuthFlags = "noscript loading stale fast no_auth allow_busy";
constexpr const char* kMultiShardSum = "request_policy:multi_shard response_policy:agg_sum";
constexpr const char* kAllShardsOk = "request_policy:all_shards response_policy:all_succeeded";
constexpr const char* kAllNodesOk = "request_policy:all_nodes response_policy:all_succeeded";
constexpr const char* kEvalFlags = "noscript skip_monitor may_replicate no_mandatory_keys stale";
constexpr const char* kEvalRoFlags = "noscript skip_monitor no_mandatory_keys stale readonly";
constexpr const char* kTxFlags = "noscript loading stale fast allow_busy";  // MULTI DISCARD WATCH UNWATCH

// The tables, one entry per command: name, arity, flags, ACL categories, tips, key spec, handler,
// metrics op, subcommands.
// clang-format off
const CommandSpec kClientSubcommands[] = {
    {"client|getname", 2, kConnFlags, "@slow @connection", "", nullptr, &S::cmd_client_getname, Op::k_other,
     {}},
    {"client|help", 2, "loading stale", "@slow @connection", "", nullptr, &S::cmd_client_help, Op::k_other,
     {}},
    {"client|id", 2, kConnFlags, "@slow @connection", "", nullptr, &S::cmd_client_id, Op::k_other, {}},
    {"client|info", 2, kConnFlags, "@slow @connection", "nondeterministic_output", nullptr,
     &S::cmd_client_info, Op::k_other, {}},
    {"client|kill", -3, kAdminFlags, "@admin @slow @dangerous @connection", "", nullptr, &S::cmd_client_kill,
     Op::k_other, {}},
    {"client|list", -2, kAdminFlags, "@admin @slow @dangerous @connection", "nondeterministic_output",
     nullptr, &S::cmd_client_list, Op::k_other, {}},
    {"client|no-evict", 3, kAdminFlags, "@admin @slow @dangerous @connection", "", nullptr,
     &S::cmd_client_no_evict, Op::k_other, {}},
    {"client|no-touch", 3, "noscript loading stale", "@slow @connection", "", nullptr, &S::cmd_client_no_touch,
     Op::k_other, {}},
    {"client|setinfo", 4, kConnFlags, "@slow @connection",
     "request_policy:all_nodes response_policy:all_succeeded", nullptr, &S::cmd_client_setinfo, Op::k_other,
     {}},
    {"client|setname", 3, kConnFlags, "@slow @connection", "", nullptr, &S::cmd_client_setname, Op::k_other,
     {}},
};

const CommandSpec kCommandSubcommands[] = {
    {"command|count", 2, "loading stale", "@slow @connection", "", nullptr, &S::cmd_command_count,
     Op::k_other, {}},
    {"command|docs", -2, "loading stale", "@slow @connection", "nondeterministic_output_order", nullptr,
     &S::cmd_command_docs, Op::k_other, {}},
    {"command|help", 2, "loading stale", "@slow @connection", "", nullptr, &S::cmd_command_help, Op::k_other,
     {}},
    {"command|info", -2, "loading stale", "@slow @connection", "nondeterministic_output_order", nullptr,
     &S::cmd_command_info, Op::k_other, {}},
    {"command|list", -2, "loading stale", "@slow @connection", "nondeterministic_output_order", nullptr,
     &S::cmd_command_list, Op::k_other, {}},
};

const CommandSpec kConfigSubcommands[] = {
    {"config|get", -3, kAdminFlags, "@admin @slow @dangerous", "", nullptr, &S::cmd_config_get, Op::k_other,
     {}},
    {"config|help", 2, "loading stale", "@slow", "", nullptr, &S::cmd_config_help, Op::k_other, {}},
    {"config|set", -4, kAdminFlags, "@admin @slow @dangerous",
     "request_policy:all_nodes response_policy:all_succeeded", nullptr, &S::cmd_config_set, Op::k_other, {}},
};

const CommandSpec kFunctionSubcommands[] = {
    {"function|flush", -2, "noscript write", "@write @slow @scripting", kAllShardsOk, nullptr,
     &S::cmd_function_flush, Op::k_other, {}},
    {"function|help", 2, "loading stale", "@slow @scripting", "", nullptr, &S::cmd_function_help, Op::k_other,
     {}},
    {"function|list", -2, "noscript", "@slow @scripting", "nondeterministic_output_order", nullptr,
     &S::cmd_function_list, Op::k_other, {}},
    {"function|load", -3, "noscript write denyoom", "@write @slow @scripting", kAllShardsOk, nullptr,
     &S::cmd_no_scripting, Op::k_other, {}},
};

const CommandSpec kLatencySubcommands[] = {
    {"latency|help", 2, "loading stale", "@slow", "", nullptr, &S::cmd_latency_help, Op::k_other, {}},
    {"latency|latest", 2, "admin noscript loading stale", "@admin @slow @dangerous",
     "nondeterministic_output request_policy:all_nodes response_policy:special", nullptr, &S::cmd_latency_latest,
     Op::k_other, {}},
    {"latency|reset", -2, "admin noscript loading stale", "@admin @slow @dangerous",
     "request_policy:all_nodes response_policy:agg_sum", nullptr, &S::cmd_latency_reset, Op::k_other, {}},
};

const CommandSpec kSlowlogSubcommands[] = {
    {"slowlog|get", -2, "admin loading stale", "@admin @slow @dangerous",
     "request_policy:all_nodes nondeterministic_output", nullptr, &S::cmd_slowlog_get, Op::k_other, {}},
    {"slowlog|help", 2, "loading stale", "@slow", "", nullptr, &S::cmd_slowlog_help, Op::k_other, {}},
    {"slowlog|len", 2, "admin loading stale", "@admin @slow @dangerous",
     "request_policy:all_nodes response_policy:agg_sum nondeterministic_output", nullptr, &S::cmd_slowlog_len,
     Op::k_other, {}},
    {"slowlog|reset", 2, "admin loading stale", "@admin @slow @dangerous", kAllNodesOk, nullptr,
     &S::cmd_slowlog_reset, Op::k_other, {}},
};

const CommandSpec kMemorySubcommands[] = {
    {"memory|help", 2, "loading stale", "@slow", "", nullptr, &S::cmd_memory_help, Op::k_other, {}},
    {"memory|usage", -3, "readonly", "@read @slow", "", &kSecondRO, &S::cmd_memory_usage, Op::k_other, {}},
};

const CommandSpec kObjectSubcommands[] = {
    {"object|encoding", 3, "readonly", "@keyspace @read @slow", "nondeterministic_output", &kSecondRO,
     &S::cmd_object_encoding, Op::k_other, {}},
    {"object|freq", 3, "readonly", "@keyspace @read @slow", "nondeterministic_output", &kSecondRO,
     &S::cmd_object_freq, Op::k_other, {}},
    {"object|help", 2, "loading stale", "@keyspace @slow", "", nullptr, &S::cmd_object_help, Op::k_other, {}},
    {"object|idletime", 3, "readonly", "@keyspace @read @slow", "nondeterministic_output", &kSecondRO,
     &S::cmd_object_idletime, Op::k_other, {}},
    {"object|refcount", 3, "readonly", "@keyspace @read @slow", "nondeterministic_output", &kSecondRO,
     &S::cmd_object_refcount, Op::k_other, {}},
};

const CommandSpec kScriptSubcommands[] = {
    {"script|exists", -3, "noscript", "@slow @scripting",
     "request_policy:all_shards response_policy:agg_logical_and", nullptr, &S::cmd_script_exists, Op::k_other,
     {}},
    {"script|flush", -2, "noscript", "@slow @scripting", kAllNodesOk, nullptr, &S::cmd_script_flush,
     Op::k_other, {}},
    {"script|help", 2, "loading stale", "@slow @scripting", "", nullptr, &S::cmd_script_help, Op::k_other, {}},
    {"script|load", 3, "noscript stale", "@slow @scripting", kAllNodesOk, nullptr, &S::cmd_no_scripting,
     Op::k_other, {}},
};
// clang-format on

// Sorted by name (COMMAND lists them in this order; find_command has an index of its own).
// clang-format off
const CommandSpec kCommands[] = {
    {"append", 3, "write denyoom fast", "@write @string @fast", "", &kOneRWInsert, &S::cmd_append,
     Op::k_append, {}},
    {"auth", -2, kNoAuthFlags, "@fast @connection", "", nullptr, &S::cmd_auth, Op::k_other, {}},
    {"bgrewriteaof", 1, "admin noscript no_async_loading", "@admin @slow @dangerous", "", nullptr,
     &S::cmd_bgrewriteaof, Op::k_other, {}},
    {"bgsave", -1, "admin noscript no_async_loading", "@admin @slow @dangerous", "", nullptr, &S::cmd_bgsave,
     Op::k_other, {}},
    {"client", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kClientSubcommands},
    {"command", -1, "loading stale", "@slow @connection", "nondeterministic_output_order", nullptr,
     &S::cmd_command, Op::k_other, kCommandSubcommands},
    {"config", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kConfigSubcommands},
    {"copy", -3, "write denyoom", "@keyspace @write @slow", "", &kTwoROAccess, &S::cmd_copy, Op::k_set, {}},
    {"dbsize", 1, "readonly fast", "@keyspace @read @fast",
     "request_policy:all_shards response_policy:agg_sum", nullptr, &S::cmd_dbsize, Op::k_other, {}},
    {"debug", -2, "admin noscript loading stale protected", "@admin @slow @dangerous", "", nullptr, &S::cmd_debug,
     Op::k_other, {}},
    {"decr", 2, "write denyoom fast", "@write @string @fast", "", &kOneRWAccessUpdate, &S::cmd_decr,
     Op::k_decr, {}},
    {"decrby", 3, "write denyoom fast", "@write @string @fast", "", &kOneRWAccessUpdate, &S::cmd_decrby,
     Op::k_decr, {}},
    {"del", -2, "write", "@keyspace @write @slow", kMultiShardSum, &kAllRMDelete, &S::cmd_del, Op::k_delete,
     {}},
    {"discard", 1, kTxFlags, "@fast @transaction", "", nullptr, &S::cmd_discard, Op::k_other, {}},
    {"echo", 2, "loading stale fast", "@fast @connection", "", nullptr, &S::cmd_echo, Op::k_noop, {}},
    {"eval", -3, kEvalFlags, "@slow @scripting", "", nullptr, &S::cmd_no_scripting, Op::k_other, {}},
    {"eval_ro", -3, kEvalRoFlags, "@slow @scripting", "", nullptr, &S::cmd_no_scripting, Op::k_other, {}},
    {"evalsha", -3, kEvalFlags, "@slow @scripting", "", nullptr, &S::cmd_no_scripting, Op::k_other, {}},
    {"evalsha_ro", -3, kEvalRoFlags, "@slow @scripting", "", nullptr, &S::cmd_no_scripting, Op::k_other, {}},
    {"exec", 1, "noscript loading stale skip_slowlog", "@slow @transaction", "", nullptr, &S::cmd_exec,
     Op::k_other, {}},
    {"exists", -2, "readonly fast", "@keyspace @read @fast", kMultiShardSum, &kAllRO, &S::cmd_exists,
     Op::k_other, {}},
    {"expire", -3, "write fast", "@keyspace @write @fast", "", &kOneRWUpdate, &S::cmd_expire, Op::k_touch,
     {}},
    {"expireat", -3, "write fast", "@keyspace @write @fast", "", &kOneRWUpdate, &S::cmd_expireat, Op::k_touch,
     {}},
    {"expiretime", 2, "readonly fast", "@keyspace @read @fast", "", &kOneROAccess, &S::cmd_expiretime,
     Op::k_other, {}},
    {"fcall", -3, kEvalFlags, "@slow @scripting", "", nullptr, &S::cmd_no_scripting, Op::k_other, {}},
    {"fcall_ro", -3, kEvalRoFlags, "@slow @scripting", "", nullptr, &S::cmd_no_scripting, Op::k_other, {}},
    {"flushall", -1, "write", "@keyspace @write @slow @dangerous", kAllShardsOk, nullptr, &S::cmd_flushall,
     Op::k_flush, {}},
    {"flushdb", -1, "write", "@keyspace @write @slow @dangerous", kAllShardsOk, nullptr, &S::cmd_flushall,
     Op::k_flush, {}},
    {"function", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kFunctionSubcommands},
    {"get", 2, "readonly fast", "@read @string @fast", "", &kOneROAccess, &S::cmd_get, Op::k_get, {}},
    {"getdel", 2, "write fast", "@write @string @fast", "", &kOneRWAccessDelete, &S::cmd_getdel, Op::k_delete,
     {}},
    {"getex", -2, "write fast", "@write @string @fast", "", &kGetex, &S::cmd_getex, Op::k_gat, {}},
    {"getrange", 4, "readonly", "@read @string @slow", "", &kOneROAccess, &S::cmd_getrange, Op::k_get, {}},
    {"getset", 3, "write denyoom fast", "@write @string @fast", "", &kOneRWAccessUpdate, &S::cmd_getset,
     Op::k_set, {}},
    {"hdel", -3, "write fast", "@write @hash @fast", "", &kOneRWDelete, &S::cmd_hdel, Op::k_delete, {}},
    {"hello", -1, kNoAuthFlags, "@fast @connection", "", nullptr, &S::cmd_hello, Op::k_other, {}},
    {"hexists", 3, "readonly fast", "@read @hash @fast", "", &kOneRO, &S::cmd_hexists, Op::k_get, {}},
    {"hget", 3, "readonly fast", "@read @hash @fast", "", &kOneROAccess, &S::cmd_hget, Op::k_get, {}},
    {"hgetall", 2, "readonly", "@read @hash @slow", "nondeterministic_output_order", &kOneROAccess,
     &S::cmd_hgetall, Op::k_get, {}},
    {"hincrby", 4, "write denyoom fast", "@write @hash @fast", "", &kOneRWAccessUpdate, &S::cmd_hincrby,
     Op::k_incr, {}},
    {"hincrbyfloat", 4, "write denyoom fast", "@write @hash @fast", "", &kOneRWAccessUpdate,
     &S::cmd_hincrbyfloat, Op::k_incr, {}},
    {"hkeys", 2, "readonly", "@read @hash @slow", "nondeterministic_output_order", &kOneROAccess,
     &S::cmd_hkeys, Op::k_get, {}},
    {"hlen", 2, "readonly fast", "@read @hash @fast", "", &kOneRO, &S::cmd_hlen, Op::k_get, {}},
    {"hmget", -3, "readonly fast", "@read @hash @fast", "", &kOneROAccess, &S::cmd_hmget, Op::k_get, {}},
    {"hmset", -4, "write denyoom fast", "@write @hash @fast", "", &kOneRWUpdate, &S::cmd_hmset, Op::k_set,
     {}},
    {"hrandfield", -2, "readonly", "@read @hash @slow", "nondeterministic_output", &kOneROAccess,
     &S::cmd_hrandfield, Op::k_get, {}},
    {"hscan", -3, "readonly", "@read @hash @slow", "nondeterministic_output", &kOneROAccess, &S::cmd_hscan,
     Op::k_get, {}},
    {"hset", -4, "write denyoom fast", "@write @hash @fast", "", &kOneRWUpdate, &S::cmd_hset, Op::k_set, {}},
    {"hsetnx", 4, "write denyoom fast", "@write @hash @fast", "", &kOneRWInsert, &S::cmd_hsetnx, Op::k_add,
     {}},
    {"hstrlen", 3, "readonly fast", "@read @hash @fast", "", &kOneRO, &S::cmd_hstrlen, Op::k_get, {}},
    {"hvals", 2, "readonly", "@read @hash @slow", "nondeterministic_output_order", &kOneROAccess,
     &S::cmd_hvals, Op::k_get, {}},
    {"incr", 2, "write denyoom fast", "@write @string @fast", "", &kOneRWAccessUpdate, &S::cmd_incr,
     Op::k_incr, {}},
    {"incrby", 3, "write denyoom fast", "@write @string @fast", "", &kOneRWAccessUpdate, &S::cmd_incrby,
     Op::k_incr, {}},
    {"incrbyfloat", 3, "write denyoom fast", "@write @string @fast", "", &kOneRWAccessUpdate,
     &S::cmd_incrbyfloat, Op::k_incr, {}},
    {"info", -1, "loading stale", "@slow @dangerous",
     "nondeterministic_output request_policy:all_shards response_policy:special", nullptr, &S::cmd_info,
     Op::k_stats, {}},
    {"keys", 2, "readonly", "@keyspace @read @slow @dangerous",
     "request_policy:all_shards nondeterministic_output_order", nullptr, &S::cmd_keys, Op::k_other, {}},
    {"lastsave", 1, "loading stale fast", "@admin @fast @dangerous", "nondeterministic_output", nullptr,
     &S::cmd_lastsave, Op::k_other, {}},
    {"latency", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kLatencySubcommands},
    {"memory", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kMemorySubcommands},
    {"mget", -2, "readonly fast", "@read @string @fast", "request_policy:multi_shard", &kAllROAccess,
     &S::cmd_mget, Op::k_get, {}},
    {"mset", -3, "write denyoom", "@write @string @slow",
     "request_policy:multi_shard response_policy:all_succeeded", &kPairsOWUpdate, &S::cmd_mset, Op::k_set,
     {}},
    {"msetnx", -3, "write denyoom", "@write @string @slow",
     "request_policy:multi_shard response_policy:agg_min", &kPairsOWInsert, &S::cmd_msetnx, Op::k_add, {}},
    {"multi", 1, kTxFlags, "@fast @transaction", "", nullptr, &S::cmd_multi, Op::k_other, {}},
    {"object", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kObjectSubcommands},
    {"persist", 2, "write fast", "@keyspace @write @fast", "", &kOneRWUpdate, &S::cmd_persist, Op::k_touch,
     {}},
    {"pexpire", -3, "write fast", "@keyspace @write @fast", "", &kOneRWUpdate, &S::cmd_pexpire, Op::k_touch,
     {}},
    {"pexpireat", -3, "write fast", "@keyspace @write @fast", "", &kOneRWUpdate, &S::cmd_pexpireat,
     Op::k_touch, {}},
    {"pexpiretime", 2, "readonly fast", "@keyspace @read @fast", "", &kOneROAccess, &S::cmd_pexpiretime,
     Op::k_other, {}},
    {"ping", -1, "fast", "@fast @connection", kAllShardsOk, nullptr, &S::cmd_ping, Op::k_noop, {}},
    {"psetex", 4, "write denyoom", "@write @string @slow", "", &kOneOWUpdate, &S::cmd_psetex, Op::k_set, {}},
    {"pttl", 2, "readonly fast", "@keyspace @read @fast", "nondeterministic_output", &kOneROAccess,
     &S::cmd_pttl, Op::k_other, {}},
    {"quit", -1, kNoAuthFlags, "@fast @connection", "", nullptr, &S::cmd_quit, Op::k_other, {}},
    {"randomkey", 1, "readonly", "@keyspace @read @slow", "request_policy:all_shards nondeterministic_output",
     nullptr, &S::cmd_randomkey, Op::k_other, {}},
    {"rename", 3, "write", "@keyspace @write @slow", "", &kTwoRWAccessDelete, &S::cmd_rename, Op::k_set, {}},
    {"renamenx", 3, "write fast", "@keyspace @write @fast", "", &kTwoRWAccessDelete, &S::cmd_renamenx,
     Op::k_set, {}},
    {"reset", 1, kNoAuthFlags, "@fast @connection", "", nullptr, &S::cmd_reset, Op::k_other, {}},
    {"save", 1, "admin noscript no_async_loading no_multi", "@admin @slow @dangerous", "", nullptr,
     &S::cmd_save, Op::k_other, {}},
    {"scan", -2, "readonly", "@keyspace @read @slow",
     "nondeterministic_output request_policy:special response_policy:special", nullptr, &S::cmd_scan,
     Op::k_other, {}},
    {"script", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kScriptSubcommands},
    {"select", 2, "loading stale fast", "@fast @connection", "", nullptr, &S::cmd_select, Op::k_other, {}},
    {"set", -3, "write denyoom", "@write @string @slow", "", &kSet, &S::cmd_set, Op::k_set, {}},
    {"setex", 4, "write denyoom", "@write @string @slow", "", &kOneOWUpdate, &S::cmd_setex, Op::k_set, {}},
    {"setnx", 3, "write denyoom fast", "@write @string @fast", "", &kOneOWInsert, &S::cmd_setnx, Op::k_add,
     {}},
    {"setrange", 4, "write denyoom", "@write @string @slow", "", &kOneRWUpdate, &S::cmd_setrange, Op::k_set,
     {}},
    {"slowlog", -2, "", "@slow", "", nullptr, nullptr, Op::k_other, kSlowlogSubcommands},
    {"strlen", 2, "readonly fast", "@read @string @fast", "", &kOneRO, &S::cmd_strlen, Op::k_get, {}},
    {"substr", 4, "readonly", "@read @string @slow", "", &kOneROAccess, &S::cmd_getrange, Op::k_get, {}},
    {"time", 1, "loading stale fast", "@fast", "nondeterministic_output", nullptr, &S::cmd_time, Op::k_other,
     {}},
    {"touch", -2, "readonly fast", "@keyspace @read @fast", kMultiShardSum, &kAllRO, &S::cmd_touch, Op::k_other,
     {}},
    {"ttl", 2, "readonly fast", "@keyspace @read @fast", "nondeterministic_output", &kOneROAccess,
     &S::cmd_ttl, Op::k_other, {}},
    {"type", 2, "readonly fast", "@keyspace @read @fast", "", &kOneRO, &S::cmd_type, Op::k_other, {}},
    {"unlink", -2, "write fast", "@keyspace @write @fast", kMultiShardSum, &kAllRMDelete, &S::cmd_del,
     Op::k_delete, {}},
    {"unwatch", 1, kTxFlags, "@fast @transaction", "", nullptr, &S::cmd_unwatch, Op::k_other, {}},
    {"wait", 3, "noscript", "@slow @connection", "request_policy:all_shards response_policy:agg_min", nullptr,
     &S::cmd_wait, Op::k_other, {}},
    {"waitaof", 4, "noscript", "@slow @connection", "request_policy:all_shards response_policy:agg_min",
     nullptr, &S::cmd_waitaof, Op::k_other, {}},
    {"watch", -2, kTxFlags, "@fast @transaction", "", &kAllRO, &S::cmd_watch, Op::k_other, {}},
};
// clang-format on

// Calls f(word) for each space-separated word of `list`.
template <typename F>
void for_each_word(std::string_view list, F&& f) {
  while (!list.empty()) {
    const auto sp = list.find(' ');
    const std::string_view word = list.substr(0, sp);
    if (!word.empty()) f(word);
    if (sp == std::string_view::npos) break;
    list.remove_prefix(sp + 1);
  }
}

std::size_t count_words(std::string_view list) {
  std::size_t n = 0;
  for_each_word(list, [&](std::string_view) { ++n; });
  return n;
}

void write_key_spec(proto::resp::Writer& w, const KeySpec& k) {
  const bool notes = *k.notes != '\0';
  w.map(notes ? 4 : 3);
  if (notes) {
    w.bulk("notes");
    w.bulk(k.notes);
  }
  w.bulk("flags");
  w.set(count_words(k.flags));
  for_each_word(k.flags, [&](std::string_view f) { w.simple(f); });
  w.bulk("begin_search");
  w.map(2);
  w.bulk("type");
  w.bulk("index");
  w.bulk("spec");
  w.map(1);
  w.bulk("index");
  w.integer(k.begin_index);
  w.bulk("find_keys");
  w.map(2);
  w.bulk("type");
  w.bulk("range");
  w.bulk("spec");
  w.map(3);
  w.bulk("lastkey");
  w.integer(k.lastkey);
  w.bulk("keystep");
  w.integer(k.keystep);
  w.bulk("limit");
  w.integer(k.limit);
}

// One COMMAND INFO entry: name, arity, flags, first key, last key, key step, ACL categories,
// tips, key specs, subcommands.
void write_command_info(proto::resp::Writer& w, const CommandSpec& cmd) {
  w.array(10);
  w.bulk(cmd.name);
  w.integer(cmd.arity);
  w.set(count_words(cmd.flags));
  for_each_word(cmd.flags, [&](std::string_view f) { w.simple(f); });
  std::int64_t first = 0, last = 0, step = 0;
  if (cmd.key_spec != nullptr) {
    first = cmd.key_spec->begin_index;
    last = cmd.key_spec->lastkey >= 0 ? cmd.key_spec->lastkey + first : cmd.key_spec->lastkey;
    step = cmd.key_spec->keystep;
  }
  w.integer(first);
  w.integer(last);
  w.integer(step);
  w.set(count_words(cmd.acl));
  for_each_word(cmd.acl, [&](std::string_view a) { w.simple(a); });
  w.set(count_words(cmd.tips));
  for_each_word(cmd.tips, [&](std::string_view t) { w.bulk(t); });
  w.set(cmd.key_spec != nullptr ? 1 : 0);
  if (cmd.key_spec != nullptr) write_key_spec(w, *cmd.key_spec);
  if (cmd.subcommands.empty()) {
    w.set(0);
  } else {
    w.array(cmd.subcommands.size());
    for (const CommandSpec& sub : cmd.subcommands) write_command_info(w, sub);
  }
}

// "get" or "config|get", any case.
const CommandSpec* find_by_full_name(std::string_view name) {
  const auto bar = name.find('|');
  const CommandSpec* cmd = find_command(name.substr(0, bar));
  if (cmd == nullptr || bar == std::string_view::npos) return cmd;
  return find_subcommand(*cmd, name.substr(bar + 1));
}

void write_help(proto::resp::Writer& w, std::span<const std::string_view> lines) {
  w.array(lines.size());
  for (const std::string_view line : lines) w.simple(line);
}

}  // namespace

std::span<const CommandSpec> command_table() noexcept { return kCommands; }

namespace {

// The command names in an open-addressing table, built once: one hash and usually one compare
// per request, where a binary search over the sorted names made about six memcmp calls (at
// pipeline 16 that search was 4% of a worker's time).
class CommandIndex {
 public:
  CommandIndex() {
    for (const CommandSpec& c : kCommands) {
      std::size_t i = hash(c.name) & kMask;
      while (slots_[i] != nullptr) i = (i + 1) & kMask;
      slots_[i] = &c;
    }
  }
  // `lower`: the name in lower case.
  const CommandSpec* find(std::string_view lower) const noexcept {
    for (std::size_t i = hash(lower) & kMask;; i = (i + 1) & kMask) {
      const CommandSpec* c = slots_[i];
      if (c == nullptr) return nullptr;
      if (same(c->name, lower)) return c;
    }
  }

 private:
  static constexpr std::size_t kSlots = 512;  // over 3x the commands: probes stay short
  static constexpr std::size_t kMask = kSlots - 1;
  static_assert(std::size(kCommands) * 3 < kSlots);

  static std::uint32_t hash(std::string_view s) noexcept {  // FNV-1a
    std::uint32_t h = 2166136261u;
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
  }
  static bool same(std::string_view a, std::string_view b) noexcept {  // names are short: no call
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  std::array<const CommandSpec*, kSlots> slots_{};
};

}  // namespace

const CommandSpec* find_command(std::string_view name) noexcept {
  static const CommandIndex kIndex;
  char lower[16];
  if (name.size() > sizeof(lower)) return nullptr;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return kIndex.find(std::string_view(lower, name.size()));
}

const CommandSpec* find_subcommand(const CommandSpec& parent, std::string_view name) noexcept {
  for (const CommandSpec& sub : parent.subcommands) {
    if (iequals(name, sub.short_name())) return &sub;
  }
  return nullptr;
}

void RespSession::cmd_command(Call& c) {
  c.w.array(std::size(kCommands));
  for (const CommandSpec& cmd : kCommands) write_command_info(c.w, cmd);
}

void RespSession::cmd_command_count(Call& c) { c.w.integer(static_cast<std::int64_t>(std::size(kCommands))); }

// No documentation is served: an empty map, which redis-cli 7 accepts (it then shows no hints).
void RespSession::cmd_command_docs(Call& c) { c.w.map(0); }

void RespSession::cmd_command_info(Call& c) {
  if (c.argc() == 2) {
    cmd_command(c);
    return;
  }
  c.w.array(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    const CommandSpec* cmd = find_by_full_name(c.argv[i]);
    if (cmd == nullptr) {
      c.w.null();
    } else {
      write_command_info(c.w, *cmd);
    }
  }
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: every command and
// subcommand name, as Redis lists them.
void RespSession::cmd_command_list(Call& c) {
  enum class Filter { kNone, kModule, kAclCat, kPattern } filter = Filter::kNone;
  std::string_view arg;
  if (c.argc() == 5 && iequals(c.argv[2], "filterby")) {
    arg = c.argv[4];
    if (iequals(c.argv[3], "module")) {
      filter = Filter::kModule;
    } else if (iequals(c.argv[3], "aclcat")) {
      filter = Filter::kAclCat;
    } else if (iequals(c.argv[3], "pattern")) {
      filter = Filter::kPattern;
    } else {
      c.w.error(kErrSyntax);
      return;
    }
  } else if (c.argc() != 2) {
    c.w.error(kErrSyntax);
    return;
  }
  auto matches = [&](const CommandSpec& cmd) {
    switch (filter) {
      case Filter::kNone:
        return true;
      case Filter::kModule:
        return false;  // no modules
      case Filter::kAclCat: {
        bool hit = false;
        for_each_word(cmd.acl, [&](std::string_view cat) { hit = hit || iequals(arg, cat.substr(1)); });
        return hit;
      }
      case Filter::kPattern:
        return proto::resp::glob_match(arg, cmd.name, true);
    }
    return false;
  };
  // Count first, then write (the array length comes first).
  std::size_t n = 0;
  for (const CommandSpec& cmd : kCommands) {
    n += matches(cmd) ? 1 : 0;
    for (const CommandSpec& sub : cmd.subcommands) n += matches(sub) ? 1 : 0;
  }
  c.w.array(n);
  for (const CommandSpec& cmd : kCommands) {
    if (matches(cmd)) c.w.bulk(cmd.name);
    for (const CommandSpec& sub : cmd.subcommands) {
      if (matches(sub)) c.w.bulk(sub.name);
    }
  }
}

void RespSession::cmd_command_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "(no subcommand)",
      "    Return details about all commands.",
      "COUNT",
      "    Return the total number of commands in this server.",
      "LIST",
      "    Return a list of all commands in this server.",
      "INFO [<command-name> ...]",
      "    Return details about multiple commands.",
      "    If no command names are given, documentation details for all",
      "    commands are returned.",
      "DOCS [<command-name> ...]",
      "    Return documentation details about multiple commands (none are served).",
      "HELP",
      "    Print this help.",
  };
  write_help(c.w, kLines);
}

void RespSession::cmd_config_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET <pattern>",
      "    Return parameters matching the glob-like <pattern> and their values.",
      "    Redis names (maxmemory, maxmemory-policy, maxclients, timeout, port, bind, save,",
      "    appendonly, databases) and Ferrite's own (server.memory, log.level, ...).",
      "SET <directive> <value>",
      "    Set the configuration <directive> to <value> (only settings that can change live).",
      "HELP",
      "    Print this help.",
  };
  write_help(c.w, kLines);
}

void RespSession::cmd_client_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "KILL <ip:port>",
      "    Kill connection made from <ip:port>.",
      "KILL <option> <value> [<option> <value> [...]]",
      "    Kill connections. Options are:",
      "    * ADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made from the specified address",
      "    * LADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made to specified local address",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Kill connections by type.",
      "    * USER <username>",
      "      Kill connections authenticated by <username>.",
      "    * SKIPME (YES|NO)",
      "      Skip killing current connection (default: yes).",
      "    * ID <client-id>",
      "      Kill connections by client id.",
      "    * MAXAGE <maxage>",
      "      Kill connections older than the specified age.",
      "LIST [options ...]",
      "    Return information about client connections (every connection). Options:",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Return clients of specified type.",
      "    * ID <id> [<id> ...]",
      "      Return clients with the specified IDs.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "SETINFO <option> <value>",
      "    Set client meta attr. Options are:",
      "    * LIB-NAME: the client lib name.",
      "    * LIB-VER: the client lib version.",
      "NO-EVICT (ON|OFF)",
      "    Protect current client connection from eviction (connections are never evicted).",
      "NO-TOUCH (ON|OFF)",
      "    Will not touch LRU/LFU stats when this mode is on.",
      "HELP",
      "    Print this help.",
  };
  write_help(c.w, kLines);
}

}  // namespace ferrite::engine::resp

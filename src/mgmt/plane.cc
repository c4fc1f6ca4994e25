// The request line, the command table and the commands that are not about counters or keys:
// /help, /info, /config, /flush, /shutdown, /events.
#include "mgmt/plane.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "core/clock.h"
#include "mgmt/args.h"
#include "store/store.h"

namespace ferrite::mgmt {
namespace {

enum CommandId : std::size_t {
  kHelp,
  kInfo,
  kStats,
  kMetrics,
  kConfig,
  kHotKeys,
  kBigKeys,
  kClients,
  kLatency,
  kSlowlog,
  kFlush,
  kShutdown,
  kSave,
  kPersistence,
  kEvents,
  kCommandCount,
};

constexpr std::size_t kMany = 64;

constexpr std::array<CommandInfo, kCommandCount> kCommands{{
    {"/help", "[PATH]", "The commands, or one command's arguments and meaning.", 0, 1},
    {"/info", "", "Version, build, uptime, driver, workers, listeners and the configuration digest.", 0, 0},
    {"/stats", "",
     "Every counter of /metrics, per worker and summed; the store's figures; rates over the last second "
     "and minute (ops/s, hit ratio, evictions/s, busy ratio per worker).",
     0, 0},
    {"/metrics", "", "The Prometheus exposition (as HTTP /metrics serves it) plus the rate gauges, as text.",
     0, 0},
    {"/config", "[get [GLOB] | set KEY VALUE]",
     "Every key and its value (or those matching GLOB); set changes a key that can change live "
     "(server.memory, log.level).",
     0, kMany},
    {"/keys/hot", "[COUNT]",
     "The COUNT (10) most requested keys, from each worker's sampled space-saving sketch, merged.", 0, 1},
    {"/keys/big", "[COUNT]", "The COUNT (10) largest values in the store (a scan of the whole table).", 0, 1},
    {"/clients", "[COUNT]", "Open connections: peer, protocol, worker, age, idle time, bytes in and out.", 0,
     1},
    {"/latency", "[PROTOCOL]",
     "Request latency per protocol and operation: count, mean, p50, p99, p99.9 (from the histograms).", 0, 1},
    {"/slowlog", "[COUNT | reset]", "The latest slow requests (newest first, up to 128), or clear them.", 0,
     1},
    {"/flush", "", "Removes every item (flush_all), now.", 0, 0},
    {"/shutdown", "", "Stops ferrited: workers finish what they owe, then it exits 0.", 0, 0},
    {"/save", "",
     "Starts a snapshot in the background (BGSAVE; with the append-only file, its rewrite); /persistence "
     "says when it is written.",
     0, 0},
    {"/persistence", "",
     "The snapshots' state: in progress, the last one's time, duration, size, items and status, counts, "
     "changes since.",
     0, 0},
    {"/events", "[BACKLOG]",
     "Streams events, one JSON object per line, until the client closes: slow requests, refused "
     "connections, eviction storms, failed writes, config changes (after the last BACKLOG kept ones).",
     0, 1},
}};

// Optimal string alignment distance, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string unknown_command(std::string_view path) {
  std::string msg = "unknown command " + quoted(path);
  std::string_view best;
  std::size_t best_d = SIZE_MAX;
  for (const CommandInfo& c : kCommands) {
    const std::size_t d = edit_distance(path, c.path);
    if (d < best_d) {
      best_d = d;
      best = c.path;
    }
  }
  if (best_d <= 3) msg += " (did you mean " + std::string(best) + "?)";
  return msg + "; /help lists the commands";
}

std::string usage(const CommandInfo& c) {
  std::string s = "usage: ";
  s += c.path;
  if (!c.usage.empty()) {
    s += ' ';
    s += c.usage;
  }
  return s;
}

void write_help(const CommandInfo& c, JsonWriter& w) {
  w.begin_object();
  w.field("path", c.path);
  w.field("args", c.usage);
  w.field("help", c.help);
  w.end_object();
}

}  // namespace

std::span<const CommandInfo> all_commands() noexcept { return kCommands; }

std::string_view build_description() noexcept {
#ifdef FERRITE_BUILD
  return FERRITE_BUILD;
#else
  return "unknown";
#endif
}

Plane::Plane(engine::Shared& shared, PlaneOptions options, const Logger& log)
    : shared_(shared),
      options_(std::move(options)),
      log_(log),
      history_(options_.history),
      drain_(shared, history_, log),
      link_(shared, options_.worker_timeout) {
  shared_.slowlog.store(&history_, std::memory_order_release);  // RESP SLOWLOG, LATENCY
}

Plane::~Plane() { shared_.slowlog.store(nullptr, std::memory_order_release); }

void Plane::tick(std::uint64_t mono_ms, std::uint64_t unix_ms) {
  drain_.drain(unix_ms);
  link_.collect();
  if (mono_ms >= next_sample_ms_) {
    // Aligned to whole seconds after the first sample, so a slow round does not drift the window.
    next_sample_ms_ =
        next_sample_ms_ == 0 || mono_ms >= next_sample_ms_ + 1000 ? mono_ms + 1000 : next_sample_ms_ + 1000;
    rates_.add(take_sample(shared_, mono_ms));
  }
}

Reply Plane::handle(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  const std::vector<std::string_view> words = split_words(line);
  Reply reply;
  if (words.empty()) return reply;
  const std::string_view path = words[0];
  const Args args(words.data() + 1, words.size() - 1);

  JsonWriter out;
  out.begin_object();
  std::string error;
  std::string data;
  std::size_t id = kCommandCount;
  for (std::size_t i = 0; i < kCommands.size(); ++i) {
    if (kCommands[i].path == path) id = i;
  }
  if (path.front() != '/') {
    error = "a request is a path and its arguments, such as /info or /keys/hot 10; got " + quoted(path);
  } else if (id == kCommandCount) {
    error = unknown_command(path);
  } else if (args.size() < kCommands[id].min_args || args.size() > kCommands[id].max_args) {
    error = std::string(path) + ": " + (args.size() < kCommands[id].min_args ? "too few" : "too many") +
            " arguments; " + usage(kCommands[id]);
  } else if (id == kEvents) {
    std::uint64_t backlog = 0;
    if (!args.empty()) {
      if (std::string e = parse_count(args[0], "BACKLOG", 0, options_.history, &backlog); !e.empty()) {
        error = "/events: " + e;
      }
    }
    if (error.empty()) {
      backlog = std::min<std::uint64_t>(backlog, history_.size());
      reply.stream = true;
      reply.stream_from = history_.next_seq() - backlog;
      JsonWriter w;
      w.begin_object().field("streaming", true).field("from_seq", reply.stream_from).end_object();
      data = w.take();
    }
  } else {
    JsonWriter w;
    error = dispatch(id, args, w);
    if (error.empty()) data = w.take();
  }
  out.field("ok", error.empty());
  out.field("path", path);
  if (error.empty()) {
    out.key("data").raw(data);
  } else {
    out.field("error", error);
    reply.stream = false;
  }
  out.end_object();
  if (log_.enabled(Level::kDebug)) {
    LogLine l(Level::kDebug, "mgmt", unix_ms());
    l.kv("request", line).kv("ok", error.empty() ? "true" : "false");
    if (!error.empty()) l.kv("error", error);
    log_.write(l);
  }
  reply.json = out.take();
  return reply;
}

std::string Plane::dispatch(std::size_t command, Args args, JsonWriter& w) {
  switch (command) {
    case kHelp:
      return help(args, w);
    case kInfo:
      return info(w);
    case kStats:
      return stats(w);
    case kMetrics:
      return metrics(w);
    case kConfig:
      return config(args, w);
    case kHotKeys:
      return hot_keys(args, w);
    case kBigKeys:
      return big_keys(args, w);
    case kClients:
      return clients(args, w);
    case kLatency:
      return latency(args, w);
    case kSlowlog:
      return slowlog(args, w);
    case kFlush:
      return flush(w);
    case kShutdown:
      return shutdown(w);
    case kSave:
      return save(w);
    case kPersistence:
      return persistence(w);
    default:
      break;
  }
  return "internal error: no handler for command " + std::to_string(command);
}

std::string Plane::help(Args args, JsonWriter& w) {
  if (!args.empty()) {
    for (const CommandInfo& c : kCommands) {
      if (c.path == args[0]) {
        write_help(c, w);
        return "";
      }
    }
    return unknown_command(args[0]);
  }
  w.begin_array();
  for (const CommandInfo& c : kCommands) write_help(c, w);
  w.end_array();
  return "";
}

std::string Plane::info(JsonWriter& w) {
  const std::uint64_t now = unix_ms();
  w.begin_object();
  w.field("version", shared_.settings.version);
  w.field("build", build_description());
  w.field("pid", static_cast<std::int64_t>(::getpid()));
  w.field("started", format_utc_ms(shared_.start_unix_ms));
  w.field("uptime_seconds",
          now > shared_.start_unix_ms ? static_cast<double>(now - shared_.start_unix_ms) / 1e3 : 0.0);
  w.field("driver", options_.driver);
  w.field("workers", shared_.settings.workers);
  // Loading the persistence folder at start: the share of its bytes applied so far (0..1).
  const bool loading = shared_.loading.load(std::memory_order_relaxed);
  w.field("loading", loading);
  w.field("loading_progress",
          loading ? static_cast<double>(shared_.loading_permille.load(std::memory_order_relaxed)) / 1000.0 : 1.0);
  w.key("listeners").begin_object();
  for (const std::string_view word : split_words(options_.listeners)) {
    const std::size_t eq = word.find('=');
    if (eq != std::string_view::npos) w.field(word.substr(0, eq), word.substr(eq + 1));
  }
  w.end_object();
  w.field("mgmt_socket", options_.socket_path);
  if (options_.config_digest) {
    w.field("config_digest", options_.config_digest());
  } else {
    w.key("config_digest").null();
  }
  if (shared_.store != nullptr) {
    w.field("memory_limit_bytes", static_cast<std::uint64_t>(shared_.store->memory_limit()));
    w.field("memory_used_bytes", static_cast<std::uint64_t>(shared_.store->bytes_used()));
  }
  w.field("connections", shared_.connections.load(std::memory_order_relaxed));
  w.end_object();
  return "";
}

std::string Plane::config(Args args, JsonWriter& w) {
  if (shared_.config == nullptr) return "/config: this server has no live configuration";
  const std::string_view verb = args.empty() ? "get" : args[0];
  if (verb == "get") {
    if (args.size() > 2) return "/config get: too many arguments; usage: /config get [GLOB]";
    const std::string_view glob = args.size() == 2 ? args[1] : "*";
    const auto pairs = shared_.config->get(glob);
    if (pairs.empty()) return "/config get: no key matches " + quoted(glob) + "; /config lists every key";
    w.begin_object();
    for (const auto& [k, v] : pairs) w.field(k, v);
    w.end_object();
    return "";
  }
  if (verb == "set") {
    if (args.size() < 3) return "/config set: expected a key and a value; usage: /config set KEY VALUE";
    std::string value(args[2]);
    for (std::size_t i = 3; i < args.size(); ++i) {
      value += ' ';
      value += args[i];
    }
    const std::string key(args[1]);
    if (std::string error = shared_.config->set(key, value); !error.empty()) return error;
    // Read back the canonical spelling ("64mib" -> "64MiB") for the reply and the event.
    const auto now_set = shared_.config->get(key);
    const std::string canonical = now_set.size() == 1 ? now_set[0].second : value;
    const std::string name = now_set.size() == 1 ? now_set[0].first : key;
    const engine::Event e = make_config_event(unix_ms(), name, canonical);
    history_.add(e);
    drain_.log(e, e.unix_ms);
    w.begin_object().field(name, canonical).end_object();
    return "";
  }
  return "/config: unknown subcommand " + quoted(verb) + "; usage: /config [get [GLOB] | set KEY VALUE]";
}

std::string Plane::flush(JsonWriter& w) {
  std::vector<Ask> asks;
  asks.push_back(Ask{0, std::make_unique<engine::ControlRequest>()});
  asks[0].request->kind = engine::ControlRequest::Kind::kFlush;
  // The flush is immediate; the worker then sweeps the table a few buckets a loop turn (serving
  // its clients in between) and answers once it is done, so that `items` is exact: a large
  // table takes longer than other requests.
  if (std::string error = link_.run(asks, options_.flush_timeout); !error.empty()) return "/flush: " + error;
  w.begin_object();
  w.field("flushed", true);
  if (shared_.store != nullptr) w.field("items", shared_.store->stats().items);
  w.end_object();
  log_.write(LogLine(Level::kInfo, "mgmt", unix_ms()).kv("event", "flush"));
  return "";
}

namespace {

void write_save_status(const SaveStatus& st, JsonWriter& w) {
  w.field("snapshots", st.snapshots);
  w.field("aof", st.aof);
  w.field("in_progress", st.in_progress);
  w.field("rewrite_scheduled", st.rewrite_scheduled);
  w.field("last_save_unix_ms", st.last_save_unix_ms);
  w.field("last_ok", st.last_ok);
  w.field("last_error", st.last_error);
  w.field("last_duration_ms", st.last_duration_ms);
  w.field("last_bytes", st.last_bytes);
  w.field("last_items", st.last_items);
  w.field("saves", st.saves);
  w.field("failures", st.failures);
  w.field("changes_since_save", st.changes_since_save);
  w.field("cold_exports", st.exports);
  w.field("cold_export_failures", st.export_failures);
  w.field("cold_last_export_unix_ms", st.last_export_unix_ms);
  w.field("cold_last_export_error", st.last_export_error);
}

constexpr std::string_view kPersistOff = "persistence is off (persist.mode = off): there is no folder to save to";

}  // namespace

std::string Plane::save(JsonWriter& w) {
  PersistControl* p = shared_.persist;
  if (p == nullptr) return std::string("/save: ") + std::string(kPersistOff);
  const std::string err = p->start_save();
  // One under way already: the caller waits for it as for its own (it began before this request,
  // so ferritectl save asks again once it ended).
  const bool running = err == "Background save already in progress";
  if (!err.empty() && !running) return "/save: " + err;
  w.begin_object();
  w.field("started", err.empty());
  write_save_status(p->status(), w);
  w.end_object();
  log_.write(LogLine(Level::kInfo, "mgmt", unix_ms()).kv("event", "save").kv("started", err.empty() ? "true" : "false"));
  return "";
}

std::string Plane::persistence(JsonWriter& w) {
  PersistControl* p = shared_.persist;
  if (p == nullptr) return std::string("/persistence: ") + std::string(kPersistOff);
  w.begin_object();
  write_save_status(p->status(), w);
  w.end_object();
  return "";
}

std::string Plane::shutdown(JsonWriter& w) {
  shared_.shutdown_requested.store(true);
  log_.write(LogLine(Level::kInfo, "mgmt", unix_ms()).kv("event", "shutdown_requested"));
  w.begin_object().field("shutting_down", true).end_object();
  return "";
}

}  // namespace ferrite::mgmt

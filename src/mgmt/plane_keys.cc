// The commands that ask the workers (through their inboxes) or read the event history:
// /keys/hot, /keys/big, /clients, /slowlog.
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <unordered_map>

#include "mgmt/args.h"
#include "mgmt/plane.h"

namespace ferrite::mgmt {
namespace {

constexpr std::uint64_t kDefaultKeys = 10;
constexpr std::uint64_t kMaxKeys = 1000;

std::string count_arg(std::span<const std::string_view> args, std::string_view cmd, std::uint64_t def,
                      std::uint64_t max, std::uint64_t* out) {
  *out = def;
  if (args.empty()) return "";
  std::string error = parse_count(args[0], "COUNT", 1, max, out);
  return error.empty() ? error : std::string(cmd) + ": " + error;
}

}  // namespace

std::string Plane::hot_keys(Args args, JsonWriter& w) {
  std::uint64_t limit = 0;
  if (std::string e = count_arg(args, "/keys/hot", kDefaultKeys, kMaxKeys, &limit); !e.empty()) return e;
  std::vector<Ask> asks = link_.for_all(engine::ControlRequest::Kind::kHotKeys);
  if (std::string error = link_.run(asks); !error.empty()) return "/keys/hot: " + error;
  // A key hot on several workers (connections spread by the kernel) is summed: each sketch
  // counts the requests its worker saw.
  struct Merged {
    std::uint64_t count = 0, error = 0;
    std::vector<unsigned> workers;
  };
  std::unordered_map<std::string, Merged> merged;
  for (const Ask& a : asks) {
    for (const engine::HotKeys::Entry& e : a.request->hot) {
      Merged& m = merged[e.key];
      m.count += e.count;
      m.error += e.error;
      m.workers.push_back(a.worker);
    }
  }
  std::vector<std::pair<std::string, Merged>> rows(merged.begin(), merged.end());
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
    return x.second.count != y.second.count ? x.second.count > y.second.count : x.first < y.first;
  });
  if (rows.size() > limit) rows.resize(limit);
  w.begin_object();
  w.field("sample_every", engine::HotKeys::kSampleEvery);
  w.field("slots_per_worker", static_cast<std::uint64_t>(engine::HotKeys::kSlots));
  w.field("max_key_bytes", static_cast<std::uint64_t>(engine::HotKeys::kMaxKey));
  w.field("decay", "counts halve every 10 s");
  w.key("keys").begin_array();
  for (const auto& [key, m] : rows) {
    w.begin_object();
    w.field("key", key);
    w.field("count", m.count);
    w.field("error", m.error);
    w.key("workers").begin_array();
    for (const unsigned id : m.workers) w.value(id);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return "";
}

std::string Plane::big_keys(Args args, JsonWriter& w) {
  std::uint64_t limit = 0;
  if (std::string e = count_arg(args, "/keys/big", kDefaultKeys, kMaxKeys, &limit); !e.empty()) return e;
  if (link_.workers() == 0) return "/keys/big: the workers have no management link";
  // The table is shared: any worker can scan it. Chunks of big_keys_buckets buckets, taking
  // turns among the workers so that no worker stalls for long, until the cursor wraps to 0.
  std::map<std::string, std::size_t> best;  // key -> value bytes (deduplicated across chunks)
  std::uint64_t cursor = 0;
  std::uint64_t requests = 0;
  bool complete = false;
  const auto deadline = std::chrono::steady_clock::now() + options_.big_keys_budget;
  for (;;) {
    std::vector<Ask> asks;
    asks.push_back(
        Ask{static_cast<unsigned>(requests % link_.workers()), std::make_unique<engine::ControlRequest>()});
    engine::ControlRequest& req = *asks[0].request;
    req.kind = engine::ControlRequest::Kind::kBigKeys;
    req.limit = limit;
    req.cursor = cursor;
    req.scan_buckets = options_.big_keys_buckets;
    if (std::string error = link_.run(asks); !error.empty()) return "/keys/big: " + error;
    ++requests;
    for (const engine::BigKey& k : req.big) {
      std::size_t& v = best[k.key];
      v = std::max(v, k.value_bytes);
    }
    // Keep the map at the `limit` largest so a huge table does not grow it.
    if (best.size() > 4 * limit) {
      std::vector<std::pair<std::string, std::size_t>> all(best.begin(), best.end());
      std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(limit), all.end(),
                       [](const auto& x, const auto& y) { return x.second > y.second; });
      all.resize(limit);
      best = std::map<std::string, std::size_t>(all.begin(), all.end());
    }
    cursor = req.cursor;
    if (cursor == 0) {
      complete = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  std::vector<std::pair<std::string, std::size_t>> rows(best.begin(), best.end());
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  if (rows.size() > limit) rows.resize(limit);
  w.begin_object();
  w.field("complete", complete);  // false: the time budget ran out before the whole table was seen
  w.field("scan_requests", requests);
  w.key("keys").begin_array();
  for (const auto& [key, bytes] : rows) {
    w.begin_object().field("key", key).field("value_bytes", static_cast<std::uint64_t>(bytes)).end_object();
  }
  w.end_array();
  w.end_object();
  return "";
}

std::string Plane::clients(Args args, JsonWriter& w) {
  std::uint64_t limit = 0;
  if (std::string e = count_arg(args, "/clients", UINT64_MAX, UINT64_MAX, &limit); !e.empty()) return e;
  std::vector<Ask> asks = link_.for_all(engine::ControlRequest::Kind::kClients);
  if (std::string error = link_.run(asks); !error.empty()) return "/clients: " + error;
  std::vector<const engine::ClientRow*> rows;
  for (const Ask& a : asks) {
    for (const engine::ClientRow& c : a.request->clients) rows.push_back(&c);
  }
  std::sort(rows.begin(), rows.end(), [](const auto* x, const auto* y) { return x->id < y->id; });
  w.begin_object();
  w.field("count", static_cast<std::uint64_t>(rows.size()));
  w.key("clients").begin_array();
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) {
    const engine::ClientRow& c = *rows[i];
    w.begin_object();
    w.field("id", c.id);
    w.field("peer", c.peer);
    w.field("local", c.local);
    w.field("protocol", c.protocol);
    w.field("worker", c.worker);
    w.field("age_ms", c.age_ms);
    w.field("idle_ms", c.idle_ms);
    w.field("bytes_in", c.bytes_in);
    w.field("bytes_out", c.bytes_out);
    w.field("pending_bytes", static_cast<std::uint64_t>(c.pending_bytes));
    w.field("reply_bytes", static_cast<std::uint64_t>(c.reply_bytes));
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return "";
}

std::string Plane::slowlog(Args args, JsonWriter& w) {
  if (!args.empty() && args[0] == "reset") {
    const std::uint64_t cleared = history_.slow_len();
    history_.reset_slowlog();
    w.begin_object().field("cleared", cleared).end_object();
    return "";
  }
  std::uint64_t limit = 0;
  if (std::string e = count_arg(args, "/slowlog", EventHistory::kSlowlogCapacity, UINT64_MAX, &limit);
      !e.empty())
    return e + " (or reset)";
  const std::vector<Record> log = history_.slow_records(static_cast<std::size_t>(
      std::min<std::uint64_t>(limit, EventHistory::kSlowlogCapacity)));  // newest first
  w.begin_object();
  w.field("threshold_us",
          static_cast<double>(shared_.settings.slow_request_ns.load(std::memory_order_relaxed)) / 1e3);
  w.field("total", history_.slow_total());
  w.key("entries").begin_array();
  std::uint64_t n = 0;
  for (auto it = log.begin(); it != log.end() && n < limit; ++it, ++n) write_event(*it, w);
  w.end_array();
  w.end_object();
  return "";
}

}  // namespace ferrite::mgmt

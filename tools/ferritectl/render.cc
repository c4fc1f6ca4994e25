#include "render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace ferrite::ctl {

Table::Table(std::vector<std::string> headers) {
  for (std::string& h : headers) {
    const bool right = !h.empty() && h[0] == '>';
    right_.push_back(right);
    headers_.push_back(right ? h.substr(1) : h);
  }
}

void Table::row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

namespace {

// Display width: UTF-8 continuation bytes take no column.
std::size_t width(std::string_view s) {
  std::size_t w = 0;
  for (const char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++w;
  }
  return w;
}

}  // namespace

std::string Table::str() const {
  std::vector<std::size_t> w(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) w[i] = width(headers_[i]);
  for (const auto& r : rows_)
    for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const std::size_t pad = w[i] - width(cells[i]);
      if (i != 0) l += "  ";
      if (right_[i]) l.append(pad, ' ');
      l += cells[i];
      if (!right_[i] && i + 1 != cells.size()) l.append(pad, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l;
    out += '\n';
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double ratio) { return fixed(ratio * 100.0, 1) + "%"; }

std::string human_bytes(double b) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t u = 0;
  while (std::fabs(b) >= 1024 && u + 1 < std::size(kUnits)) {
    b /= 1024;
    ++u;
  }
  return (u == 0 ? fixed(b, 0) : fixed(b, 1)) + " " + kUnits[u];
}

std::string human_duration(double s) {
  if (s < 1) return fixed(s * 1000, 0) + "ms";
  const auto t = static_cast<long long>(s);
  char buf[64];
  if (t < 60) {
    std::snprintf(buf, sizeof buf, "%llds", t);
  } else if (t < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  } else if (t < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, t % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", t / 86400, t % 86400 / 3600);
  }
  return buf;
}

std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || c == '\\') {
      out += '\\';
      if (c == '\\') {
        out += '\\';
      } else {
        out += 'x';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    } else {
      out += ch;
    }
  }
  return out;
}

namespace {

std::string num(const JsonValue& v) { return v.is_number() ? v.as_string() : "-"; }
std::string rate(const JsonValue& v) {
  return v.is_number() ? fixed(v.as_double(), v.as_double() < 100 ? 1 : 0) : "-";
}
std::string ratio(const JsonValue& v) { return v.is_number() ? percent(v.as_double()) : "-"; }
std::string us(const JsonValue& v) {
  return v.is_number() ? fixed(v.as_double(), v.as_double() < 10 ? 2 : 1) : "-";
}

std::string key_values(const std::vector<std::pair<std::string, std::string>>& kv,
                       std::string_view sep = "  ") {
  std::size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size());
  std::string out;
  for (const auto& [k, v] : kv) {
    out += k;
    out.append(w - k.size(), ' ');
    out += sep;
    out += v;
    out += '\n';
  }
  return out;
}

std::string render_info(const JsonValue& d) {
  std::string listeners;
  for (const auto& [name, addr] : d["listeners"].members()) {
    if (!listeners.empty()) listeners += ' ';
    listeners += name + "=" + addr.as_string();
  }
  return key_values({
      {"version", d["version"].as_string()},
      {"build", d["build"].as_string()},
      {"pid", num(d["pid"])},
      {"started", d["started"].as_string()},
      {"uptime", human_duration(d["uptime_seconds"].as_double())},
      {"driver", d["driver"].as_string()},
      {"workers", num(d["workers"])},
      {"loading", d["loading"].as_bool() ? std::to_string(static_cast<int>(d["loading_progress"].as_double() * 100)) + "% loaded"
                                         : std::string("no")},
      {"listeners", listeners.empty() ? "-" : listeners},
      {"mgmt socket", d["mgmt_socket"].as_string()},
      {"config digest", d["config_digest"].is_null() ? "-" : d["config_digest"].as_string()},
      {"memory", human_bytes(d["memory_used_bytes"].as_double()) + " used of " +
                     human_bytes(d["memory_limit_bytes"].as_double())},
      {"connections", num(d["connections"])},
  });
}

std::string render_stats(const JsonValue& d) {
  const JsonValue& r = d["rates"];
  const JsonValue& s = d["store"];
  const JsonValue& t = d["total"];
  std::string out = key_values({
      {"uptime", human_duration(d["uptime_seconds"].as_double())},
      {"ops/s", rate(r["ops_per_second"])},
      {"hit ratio (1m)", ratio(r["hit_ratio_1m"])},
      {"evictions/s", rate(r["evictions_per_second"]) + " (1m: " + rate(r["evictions_per_second_1m"]) + ")"},
      {"memory", human_bytes(s["memory_used_bytes"].as_double()) + " of " +
                     human_bytes(s["memory_limit_bytes"].as_double())},
      {"items", num(s["items"])},
      {"connections", num(t["connections"]) + " open, " + num(t["connections_total"]) + " accepted, " +
                          num(t["connections_rejected_total"]) + " refused"},
      {"network", human_bytes(t["network_read_bytes_total"].as_double()) + " in, " +
                      human_bytes(t["network_written_bytes_total"].as_double()) + " out"},
      {"datagrams", num(t["datagrams_received_total"]) + " in, " + num(t["datagrams_sent_total"]) + " out, " +
                        num(t["datagrams_dropped_total"]) + " dropped (" +
                        num(t["udp_reflection_drops_total"]) + " requests over the reflection bound)"},
      {"events dropped", num(d["events_dropped_total"])},
  });
  out += '\n';
  Table workers({">WORKER", ">OPS/S", ">BUSY", ">BUSY 1m", ">REQUESTS", ">CONNS", ">IN", ">OUT"});
  for (const JsonValue& w : d["workers"].items()) {
    workers.row({num(w["worker"]), rate(w["ops_per_second"]), ratio(w["busy_ratio"]),
                 ratio(w["busy_ratio_1m"]), num(w["requests"]), num(w["connections"]),
                 human_bytes(w["network_read_bytes_total"].as_double()),
                 human_bytes(w["network_written_bytes_total"].as_double())});
  }
  out += workers.str();
  Table requests({"PROTOCOL", "OP", ">REQUESTS"});
  for (const auto& [proto, ops] : t["requests_total"].members())
    for (const auto& [op, n] : ops.members()) requests.row({proto, op, num(n)});
  if (!requests.empty()) out += "\n" + requests.str();
  Table hits({"PROTOCOL", ">HITS", ">MISSES", ">ERRORS"});
  for (const auto& [proto, h] : t["hits_total"].members()) {
    const JsonValue& m = t["misses_total"][proto];
    const JsonValue& e = t["protocol_errors_total"][proto];
    if (h.as_int() == 0 && m.as_int() == 0 && e.as_int() == 0) continue;
    hits.row({proto, num(h), num(m), num(e)});
  }
  if (!hits.empty()) out += "\n" + hits.str();
  std::vector<std::pair<std::string, std::string>> store;
  for (const auto& [k, v] : s.members()) store.emplace_back(k, num(v));
  out += "\nstore\n" + key_values(store);
  return out;
}

std::string render_config(const std::vector<std::string>& command, const JsonValue& d) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& [k, v] : d.members()) kv.emplace_back(k, v.as_string().empty() ? "\"\"" : v.as_string());
  if (command.size() > 1 && command[1] == "set" && kv.size() == 1)
    return kv[0].first + " = " + kv[0].second + "\n";
  return key_values(kv, " = ");
}

std::string render_keys(const std::vector<std::string>& command, const JsonValue& d) {
  const bool hot = command.size() > 1 && command[1] == "hot";
  if (d["keys"].size() == 0) return hot ? "no requests sampled yet\n" : "the store is empty\n";
  if (hot) {
    Table t({"KEY", ">REQUESTS", ">ERROR", "WORKERS"});
    for (const JsonValue& k : d["keys"].items()) {
      std::string workers;
      for (const JsonValue& w : k["workers"].items()) {
        if (!workers.empty()) workers += ',';
        workers += w.as_string();
      }
      t.row({printable(k["key"].as_string()), num(k["count"]), "±" + num(k["error"]), workers});
    }
    return t.str() + "(sampled 1 in " + num(d["sample_every"]) + "; " + d["decay"].as_string() + ")\n";
  }
  Table t({"KEY", ">SIZE", ">BYTES"});
  for (const JsonValue& k : d["keys"].items())
    t.row(
        {printable(k["key"].as_string()), human_bytes(k["value_bytes"].as_double()), num(k["value_bytes"])});
  std::string out = t.str();
  if (!d["complete"].as_bool())
    out += "(partial: the scan ran out of time before covering the whole table)\n";
  return out;
}

std::string render_clients(const JsonValue& d) {
  if (d["clients"].size() == 0) return "no client connections\n";
  Table t({">ID", "PEER", "PROTOCOL", ">WORKER", ">AGE", ">IDLE", ">IN", ">OUT", ">PENDING"});
  for (const JsonValue& c : d["clients"].items()) {
    t.row({num(c["id"]), c["peer"].as_string(), c["protocol"].as_string(), num(c["worker"]),
           human_duration(c["age_ms"].as_double() / 1e3), human_duration(c["idle_ms"].as_double() / 1e3),
           human_bytes(c["bytes_in"].as_double()), human_bytes(c["bytes_out"].as_double()),
           human_bytes(c["pending_bytes"].as_double() + c["reply_bytes"].as_double())});
  }
  std::string out = t.str();
  if (d["count"].as_uint() > d["clients"].size()) out += "(" + num(d["count"]) + " in all)\n";
  return out;
}

std::string render_latency(const JsonValue& d) {
  if (d["series"].size() == 0) return "no requests yet\n";
  Table t({"PROTOCOL", "OP", ">COUNT", ">MEAN us", ">P50 us", ">P99 us", ">P99.9 us", ">OVER 1s"});
  for (const JsonValue& s : d["series"].items()) {
    t.row({s["protocol"].as_string(), s["op"].as_string(), num(s["count"]), us(s["mean_us"]), us(s["p50_us"]),
           us(s["p99_us"]), us(s["p999_us"]), num(s["over_1s"])});
  }
  return t.str();
}

std::string render_slowlog(const std::vector<std::string>& command, const JsonValue& d) {
  if (command.size() > 1 && command[1] == "reset")
    return "slow log cleared (" + num(d["cleared"]) + " entries)\n";
  std::string out = "slow requests: " + num(d["total"]) + " over " + us(d["threshold_us"]) + " us\n";
  if (d["entries"].size() == 0) return out;
  Table t({"TIME", ">WORKER", "PROTOCOL", "OP", ">LATENCY us"});
  for (const JsonValue& e : d["entries"].items())
    t.row({e["time"].as_string(), num(e["worker"]), e["protocol"].as_string(), e["op"].as_string(),
           us(e["latency_us"])});
  return out + t.str();
}

// /persistence (and ferritectl save's result).
std::string render_persistence(const JsonValue& d) {
  std::string out;
  const char* mode = d["aof"].as_bool() ? (d["snapshots"].as_bool() ? "both" : "aof") : "snapshot";
  out += "persist.mode        " + std::string(mode) + "\n";
  out += "in progress         " + std::string(d["in_progress"].as_bool() ? "yes" : "no") +
         (d["rewrite_scheduled"].as_bool() ? " (a rewrite is scheduled)" : "") + "\n";
  const std::uint64_t saves = d["saves"].as_uint();
  if (saves > 0) {
    const std::time_t t = static_cast<std::time_t>(d["last_save_unix_ms"].as_uint() / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out += "last snapshot       " + std::string(when) + ": " + num(d["last_items"]) + " items, " +
           num(d["last_bytes"]) + " bytes in " + num(d["last_duration_ms"]) + " ms\n";
  } else {
    out += "last snapshot       none since the start\n";
  }
  out += "last status         " + std::string(d["last_ok"].as_bool() ? "ok" : "failed: " + d["last_error"].as_string()) + "\n";
  out += "snapshots / failed  " + num(d["saves"]) + " / " + num(d["failures"]) + " since the start\n";
  out += "changes since       " + num(d["changes_since_save"]) + "\n";
  if (d["cold_exports"].as_uint() + d["cold_export_failures"].as_uint() + d["cold_last_export_unix_ms"].as_uint() > 0) {
    out += "cold exports        " + num(d["cold_exports"]) + " (failed " + num(d["cold_export_failures"]) + ")" +
           (d["cold_last_export_error"].as_string().empty() ? "" : ": " + d["cold_last_export_error"].as_string()) +
           "\n";
  }
  return out;
}

}  // namespace

std::string render(const std::vector<std::string>& command, const JsonValue& data) {
  const std::string& cmd = command.empty() ? std::string() : command[0];
  if (cmd == "info") return render_info(data);
  if (cmd == "stats") return render_stats(data);
  if (cmd == "metrics") return data["text"].as_string();
  if (cmd == "config") return render_config(command, data);
  if (cmd == "keys") return render_keys(command, data);
  if (cmd == "clients") return render_clients(data);
  if (cmd == "latency") return render_latency(data);
  if (cmd == "slowlog") return render_slowlog(command, data);
  if (cmd == "flush") return "flushed (" + num(data["items"]) + " items now)\n";
  if (cmd == "shutdown") return "ferrited is shutting down\n";
  if (cmd == "persistence") return render_persistence(data);
  return "";
}

std::string render_event(const JsonValue& e) {
  const std::string type = e["event"].as_string();
  std::string out = e["time"].as_string();
  out += "  ";
  out += type;
  if (e.contains("worker")) out += "  worker=" + num(e["worker"]);
  if (type == "slow_request") {
    out += " " + e["protocol"].as_string() + " " + e["op"].as_string() + " " + us(e["latency_us"]) + " us";
  } else if (type == "connections_refused") {
    out += " refused=" + num(e["refused"]) + " in the last second";
  } else if (type == "eviction_storm") {
    out += " evictions=" + num(e["evictions"]) + " in the last second";
  } else if (type == "no_memory") {
    out += " refused_writes=" + num(e["refused_writes"]) + " in the last second";
  } else if (type == "config_changed") {
    out += "  " + e["key"].as_string() + " = " + e["value"].as_string();
  } else if (type == "signal") {
    out += "  SIG" + e["signal"].as_string() + " " + e["action"].as_string();
  } else if (type == "events_lost") {
    out = "(" + num(e["count"]) + " events lost: this stream fell behind)";
  }
  return out + "\n";
}

std::string render_top(const JsonValue& d, std::string_view socket) {
  const JsonValue& r = d["rates"];
  const JsonValue& s = d["store"];
  const JsonValue& t = d["total"];
  std::string out = "ferrited at " + std::string(socket) + "  up " +
                    human_duration(d["uptime_seconds"].as_double()) + "\n\n";
  out += key_values({
      {"ops/s", rate(r["ops_per_second"])},
      {"hit ratio (1m)", ratio(r["hit_ratio_1m"])},
      {"memory", human_bytes(s["memory_used_bytes"].as_double()) + " / " +
                     human_bytes(s["memory_limit_bytes"].as_double()) + "  (" +
                     (s["memory_limit_bytes"].as_double() > 0
                          ? percent(s["memory_used_bytes"].as_double() / s["memory_limit_bytes"].as_double())
                          : std::string("-")) +
                     ")"},
      {"items", num(s["items"])},
      {"evictions/s", rate(r["evictions_per_second"]) + "  (1m: " + rate(r["evictions_per_second_1m"]) +
                          ", total " + num(s["evictions"]) + ")"},
      {"connections", num(t["connections"]) + "  (refused " + num(t["connections_rejected_total"]) + ")"},
      {"network", human_bytes(r["read_bytes_per_second"].as_double()) + "/s in, " +
                      human_bytes(r["written_bytes_per_second"].as_double()) + "/s out"},
  });
  out += '\n';
  Table workers({">WORKER", ">OPS/S", ">BUSY", ">BUSY 1m", ">CONNS", ">REQUESTS"});
  for (const JsonValue& w : d["workers"].items()) {
    workers.row({num(w["worker"]), rate(w["ops_per_second"]), ratio(w["busy_ratio"]),
                 ratio(w["busy_ratio_1m"]), num(w["connections"]), num(w["requests"])});
  }
  return out + workers.str();
}

}  // namespace ferrite::ctl

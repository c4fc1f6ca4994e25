#include "server/config.h"

#include <sched.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <utility>

#include "core/hash.h"
#include "core/size.h"
#include "core/text.h"

#ifndef FERRITE_VERSION
#error "FERRITE_VERSION must be defined by the build (src/server/meson.build)"
#endif

namespace ferrite::server {

namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A TOML value as the operator wrote it, for messages.
std::string shown(const toml::node& node) {
  std::ostringstream os;
  node.visit([&](const auto& v) { os << v; });
  return os.str();
}

const char* kind_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Checks one TOML value for setting `s`: strings are parsed as text (so workers = "4" works),
// integers only where the type is a number.
std::string check_node(const Setting& s, const toml::node& node, std::string* canonical) {
  const bool numeric = s.type == Type::kInt || s.type == Type::kSize || s.type == Type::kDuration;
  if (const auto* str = node.as_string()) return check_value(s, str->get(), quote(str->get()), canonical);
  if (const auto* i = node.as_integer(); i != nullptr && numeric) {
    const std::string text = std::to_string(i->get());
    return check_value(s, text, text, canonical);
  }
  std::string what = kind_name(node);
  if (!node.is_table() && !node.is_array()) what += " (" + shown(node) + ")";
  return std::string(s.name) + ": got " + what + "; expected " + allowed_values(s);
}

std::string size_shown(const ConfigValues& v, Key k) { return toml_value(setting(k), v.get(k)); }

// Two listeners of one transport that would bind the same port on a common address. With
// SO_REUSEPORT both binds could succeed and split the traffic between two protocols. (An IPv6
// socket is IPV6_V6ONLY, so [::] does not take IPv4.)
bool listeners_overlap(const ListenAddress& a, const ListenAddress& b) {
  if (a.port == 0 || a.port != b.port || a.family != b.family) return false;
  return a.host == b.host || a.wildcard() || b.wildcard();
}

// dpdk.ports with each port's dpdk.address and dpdk.exception_iface (one per port, in order).
// The addresses are required only with the dpdk driver.
void resolve_dpdk_ports(const ConfigValues& values, bool dpdk, std::vector<ServerConfig::Dpdk::Port>* ports,
                        std::vector<std::string>& errors) {
  const std::string& ids_text = values.get(Key::kDpdkPorts);
  const std::vector<std::string_view> ids = split_commas(ids_text);
  std::vector<Ipv4Prefix> address;
  parse_ipv4_prefixes(values.get(Key::kDpdkAddress), &address);  // checked when it was set
  const std::vector<std::string_view> ifaces = split_commas(values.get(Key::kDpdkExceptionIface));
  ports->clear();
  bool ok = true;
  if (ids.empty() || ids.size() > kMaxDpdkPorts) {
    errors.push_back("dpdk.ports: \"" + ids_text + "\" names " + std::to_string(ids.size()) +
                     " ports; expected 1 to " + std::to_string(kMaxDpdkPorts) + " DPDK port ids such as \"0\" or \"0,1\"");
    return;
  }
  for (const std::string_view id : ids) {
    const auto v = parse_uint(id);
    if (!v || *v > 1023) {
      errors.push_back("dpdk.ports: \"" + std::string(id) + "\" is not a DPDK port id; expected 0 to 1023");
      ok = false;
      continue;
    }
    for (const ServerConfig::Dpdk::Port& p : *ports) {
      if (p.id == *v) {
        errors.push_back("dpdk.ports: port " + std::string(id) + " is named twice");
        ok = false;
      }
    }
    ServerConfig::Dpdk::Port p;
    p.id = static_cast<std::uint16_t>(*v);
    ports->push_back(p);
  }
  if (!ifaces.empty()) {
    if (ifaces.size() != ids.size()) {
      errors.push_back("dpdk.exception_iface: \"" + values.get(Key::kDpdkExceptionIface) + "\" names " +
                       std::to_string(ifaces.size()) + " interfaces for " + std::to_string(ids.size()) +
                       " ports; expected one per port of dpdk.ports, or \"\" for none");
      ok = false;
    }
    for (std::size_t i = 0; i < ifaces.size(); ++i) {
      const std::string_view name = ifaces[i];
      if (name.empty() || name.size() > 15 || name.find_first_of(" /=") != std::string_view::npos) {
        errors.push_back("dpdk.exception_iface: \"" + std::string(name) +
                         "\" is not an interface name; expected 1 to 15 bytes without blanks, '/' or '='");
        ok = false;
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (ifaces[j] == name) {
          errors.push_back("dpdk.exception_iface: \"" + std::string(name) + "\" is named twice");
          ok = false;
        }
      }
    }
  }
  if (dpdk && address.empty()) {
    errors.push_back("dpdk.address: \"\" is not set; expected the appliance's IPv4 address with its prefix "
                     "length, such as \"198.18.0.2/24\", when server.driver is \"dpdk\"");
    ok = false;
  } else if (!address.empty() && address.size() != ids.size()) {
    errors.push_back("dpdk.address: \"" + values.get(Key::kDpdkAddress) + "\" has " + std::to_string(address.size()) +
                     " addresses for " + std::to_string(ids.size()) + " ports; expected one per port of dpdk.ports");
    ok = false;
  }
  if (!ok) return;
  for (std::size_t i = 0; i < ports->size(); ++i) {
    if (!address.empty()) (*ports)[i].address = address[i];
    if (!ifaces.empty()) (*ports)[i].exception_iface = std::string(ifaces[i]);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ConfigValues

ConfigValues::ConfigValues() {
  for (const Setting& s : all_settings()) values_[static_cast<std::size_t>(s.key)] = s.default_value;
}

std::string ConfigValues::set(std::string_view name, std::string_view text) {
  const std::string lower = lowercase(name);
  const Setting* s = find_setting(lower);
  if (s == nullptr) return unknown_key_error(name);
  std::string canonical;
  std::string error = check_value(*s, text, quote(text), &canonical);
  if (error.empty()) values_[static_cast<std::size_t>(s->key)] = std::move(canonical);
  return error;
}

std::string ConfigValues::apply_override(std::string_view assignment) {
  const std::size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    return "--set " + quote(assignment) + ": expected section.key=value, such as server.workers=2";
  }
  std::string_view value = assignment.substr(eq + 1);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  const std::string error = set(assignment.substr(0, eq), value);
  return error.empty() ? error : "--set " + error;
}

void ConfigValues::load_toml(std::string_view text, std::string_view source,
                             std::vector<std::string>* errors) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    errors->push_back(std::string(source) + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                      ": " + std::string(e.description()));
    return;
  }
  // toml++ iterates keys in sorted order; problems are reported in file order.
  std::vector<std::pair<std::uint32_t, std::string>> problems;
  auto report = [&](const toml::source_region& where, std::string message) {
    problems.emplace_back(where.begin.line, std::string(source) + ":" + std::to_string(where.begin.line) +
                                                ": " + std::move(message));
  };
  std::vector<std::pair<Key, std::string>> accepted;
  for (const auto& [section, node] : doc) {
    const std::string section_name(section.str());
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      report(section.source(), unknown_key_error(section_name));
      continue;
    }
    const auto sections = all_sections();
    if (std::find(sections.begin(), sections.end(), section_name) == sections.end() && table->empty()) {
      const std::string_view near = suggest_section(section_name);
      report(section.source(), section_name + ": unknown section " +
                                   (near.empty() ? std::string("(known: server, listen, log, mgmt)")
                                                 : "(did you mean " + quote(near) + "?)"));
      continue;
    }
    for (const auto& [key, value] : *table) {
      const std::string name = section_name + "." + std::string(key.str());
      const Setting* s = find_setting(name);
      if (s == nullptr) {
        report(key.source(), unknown_key_error(name));
        continue;
      }
      std::string canonical;
      const std::string error = check_node(*s, value, &canonical);
      if (!error.empty()) {
        report(value.source(), error);
        continue;
      }
      accepted.emplace_back(s->key, std::move(canonical));
    }
  }
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& p : problems) errors->push_back(std::move(p.second));
    return;
  }
  for (auto& [key, canonical] : accepted) values_[static_cast<std::size_t>(key)] = std::move(canonical);
}

void ConfigValues::load_toml_file(const std::string& path, std::vector<std::string>* errors) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    errors->push_back(path + ": cannot read the configuration file: " + std::strerror(errno));
    return;
  }
  std::string text;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    errors->push_back(path + ": cannot read the configuration file: " + std::strerror(err));
    return;
  }
  load_toml(text, path, errors);
}

// ---------------------------------------------------------------------------------------------
// Typed helpers

int verbosity_for(LogLevel level) noexcept { return static_cast<int>(level); }

LogLevel level_for_verbosity(int verbosity) noexcept {
  return static_cast<LogLevel>(std::clamp(verbosity, 0, static_cast<int>(LogLevel::kDebug)));
}

std::string_view listener_name(Listener l) noexcept {
  static constexpr std::string_view kNames[kListenerCount] = {"memcache", "memcache_udp", "resp",
                                                              "http",     "binary",       "binary_udp"};
  return kNames[static_cast<std::size_t>(l)];
}

bool listener_is_udp(Listener l) noexcept { return l == Listener::kMemcacheUdp || l == Listener::kBinaryUdp; }

std::string_view server_version() noexcept { return FERRITE_VERSION; }

std::vector<unsigned> available_cpus() {
  std::vector<unsigned> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (unsigned c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) out.push_back(c);
    }
  }
  if (out.empty()) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < std::max(n, 1L); ++c) out.push_back(static_cast<unsigned>(c));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ServerConfig

static_assert(static_cast<std::size_t>(Key::kListenBinaryUdp) -
                  static_cast<std::size_t>(Key::kListenMemcache) + 1 ==
              kListenerCount);
static_assert(std::size(kPolicyChoices) == 2 && static_cast<int>(store::EvictionPolicy::kLfu) == 1);
static_assert(std::size(kLogLevelChoices) == static_cast<std::size_t>(LogLevel::kDebug) + 1);
static_assert(std::size(kPersistModeChoices) == static_cast<std::size_t>(PersistMode::kBoth) + 1);
static_assert(std::size(kFsyncChoices) == 3 && static_cast<int>(persist::FsyncPolicy::kNo) == 2);

std::vector<std::string> resolve_config(const ConfigValues& values, std::span<const unsigned> cpus,
                                        ServerConfig* out) {
  std::vector<std::string> errors;
  auto number = [&](Key k) -> std::uint64_t {
    const Type t = setting(k).type;
    const auto v = t == Type::kSize       ? parse_size(values.get(k))
                   : t == Type::kDuration ? parse_duration(values.get(k))
                                          : parse_uint(values.get(k));
    return v.value_or(0);
  };
  auto choice = [&](Key k) { return parse_choice(setting(k), values.get(k)).value_or(0); };

  *out = ServerConfig{};
  out->values = values;
  store::StoreConfig& st = out->store;
  st.memory_limit = number(Key::kMemory);
  st.policy = static_cast<store::EvictionPolicy>(choice(Key::kPolicy));
  st.max_key_size = number(Key::kMaxKeySize);
  out->max_conn_buffer_bytes = conn_buffer_bytes_for(number(Key::kMaxConnBufferBytes), st.memory_limit);
  st.max_item_size =
      max_item_size_for(number(Key::kMaxItemSize), st.memory_limit, out->max_conn_buffer_bytes);
  st.item_size_hint = number(Key::kItemSizeHint);
  out->max_connections = number(Key::kMaxConnections);
  out->max_reply_bytes = number(Key::kMaxReplyBytes);
  out->max_request_bytes = st.max_item_size + kRequestHeadroom;
  out->idle_timeout_ms = number(Key::kIdleTimeout) * 1000;
  out->poll = static_cast<PollMode>(choice(Key::kPoll));
  out->driver = static_cast<Driver>(choice(Key::kDriver));
  out->log_level = static_cast<LogLevel>(choice(Key::kLogLevel));
  out->mgmt_socket = values.get(Key::kMgmtSocket);
  out->udp_reply_factor = number(Key::kUdpReplyFactor);
  out->udp_max_datagram = number(Key::kUdpMaxDatagram);
  out->slow_request_us = number(Key::kSlowRequest);
  parse_ipv4_prefixes(values.get(Key::kUdpAllow), &out->udp_allow);  // checked when it was set
  out->dpdk.eal_args = values.get(Key::kDpdkEalArgs);
  resolve_dpdk_ports(values, out->driver == Driver::kDpdk, &out->dpdk.ports, errors);
  out->dpdk.mbufs = static_cast<unsigned>(number(Key::kDpdkMbufs));
  ServerConfig::Persist& pe = out->persist;
  pe.mode = static_cast<PersistMode>(choice(Key::kPersistMode));
  pe.dir = values.get(Key::kPersistDir);
  pe.fsync = static_cast<persist::FsyncPolicy>(choice(Key::kPersistFsync));
  pe.ring_bytes = number(Key::kPersistRingBytes);
  pe.segment_bytes = number(Key::kPersistSegmentBytes);
  pe.aof_rewrite_percent = static_cast<unsigned>(number(Key::kPersistAofRewritePercent));
  pe.aof_rewrite_min_bytes = number(Key::kPersistAofRewriteMinBytes);
  pe.snapshot_interval_s = number(Key::kPersistSnapshotInterval);
  pe.snapshot_changes = number(Key::kPersistSnapshotChanges);
  pe.retention = static_cast<unsigned>(number(Key::kPersistRetention));
  pe.cold_dir = values.get(Key::kPersistColdDir);
  pe.cold_interval_s = number(Key::kPersistColdInterval);
  pe.load_damaged = choice(Key::kPersistLoadDamaged) == 1;
  if (pe.mode != PersistMode::kOff && pe.dir.empty()) {
    errors.push_back("persist.dir: \"\" with persist.mode = " + quote(values.get(Key::kPersistMode)) +
                     "; expected the persistence folder");
  }

  if (st.max_item_size > st.memory_limit / 4) {
    errors.push_back("server.max_item_size: " + size_shown(values, Key::kMaxItemSize) +
                     " is more than a quarter of server.memory (" + size_shown(values, Key::kMemory) +
                     "); expected at most " + format_size(st.memory_limit / 4));
  }
  if (std::string e = item_fits_conn_buffers(st.max_item_size, out->max_conn_buffer_bytes); !e.empty()) {
    errors.push_back("server.max_item_size: " + size_shown(values, Key::kMaxItemSize) + " " + e);
  }
  // The store refuses a table over half of memory; at 64 bytes per 10 slots and item_size_hint >= 16
  // it takes at most 40%, so that needs no check here.

  // Workers and their CPUs.
  const std::vector<unsigned> fallback{0};
  if (cpus.empty()) cpus = fallback;
  std::string problem;
  // With the DPDK driver, dpdk.lcores (when set) is the worker placement.
  const Key cpu_key =
      out->driver == Driver::kDpdk && !values.get(Key::kDpdkLcores).empty() ? Key::kDpdkLcores : Key::kCpus;
  const std::vector<unsigned> listed =
      parse_cpu_list(values.get(cpu_key), &problem).value_or(std::vector<unsigned>{});
  std::vector<unsigned> missing;
  for (const unsigned c : listed) {
    if (std::find(cpus.begin(), cpus.end(), c) == cpus.end()) missing.push_back(c);
  }
  if (!missing.empty()) {
    errors.push_back(std::string(setting(cpu_key).name) + ": " + quote(values.get(cpu_key)) + " names CPU" +
                     (missing.size() > 1 ? "s " : " ") + format_cpu_list(missing) +
                     ", which this process may not run on; expected CPUs among " + format_cpu_list(cpus));
  }
  const std::uint64_t max_workers = setting(Key::kWorkers).max;
  std::uint64_t workers = number(Key::kWorkers);
  if (workers == 0) {
    workers = std::min<std::uint64_t>(listed.empty() ? cpus.size() : listed.size(), max_workers);
  } else if (!listed.empty() && workers > listed.size()) {
    errors.push_back("server.workers: " + values.get(Key::kWorkers) + " is more than the " +
                     std::to_string(listed.size()) + " CPUs listed in " + std::string(setting(cpu_key).name) +
                     " (" + quote(values.get(cpu_key)) + "); expected at most " + std::to_string(listed.size()) +
                     ", or 0 for one worker per listed CPU");
  }
  out->workers = static_cast<unsigned>(workers);
  st.max_contexts = out->workers;
  out->partitions = static_cast<unsigned>(number(Key::kPartitions));
  if (out->partitions > out->workers) {
    errors.push_back("server.partitions: " + values.get(Key::kPartitions) + " is more than the " +
                     std::to_string(out->workers) + " workers; expected at most " + std::to_string(out->workers) +
                     " (every partition needs a worker), or 0 for one per NUMA node");
  }
  for (unsigned i = 0; i < out->workers; ++i) {
    out->worker_cpus.push_back(listed.empty() ? cpus[i % cpus.size()] : listed[i % listed.size()]);
  }

  // Listeners.
  for (std::size_t i = 0; i < kListenerCount; ++i) {
    const Key k = static_cast<Key>(static_cast<std::size_t>(Key::kListenMemcache) + i);
    parse_listen_address(values.get(k), &out->listen[i]);
  }
  for (std::size_t i = 0; i < kListenerCount; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const auto li = static_cast<Listener>(i), lj = static_cast<Listener>(j);
      const ListenAddress& a = out->listen[i];
      const ListenAddress& b = out->listen[j];
      if (!a.enabled() || !b.enabled() || listener_is_udp(li) != listener_is_udp(lj)) continue;
      if (!listeners_overlap(a, b)) continue;
      errors.push_back("listen." + std::string(listener_name(li)) + ": " + quote(a.text()) +
                       " overlaps listen." + std::string(listener_name(lj)) + " (" + quote(b.text()) +
                       ") on " + (listener_is_udp(li) ? "UDP" : "TCP") + " port " + std::to_string(a.port) +
                       "; expected a port of its own");
    }
  }
  return errors;
}

std::vector<std::string> load_server_config(const std::string& path, std::span<const std::string> overrides,
                                            std::span<const unsigned> cpus, ServerConfig* out) {
  ConfigValues values;
  std::vector<std::string> errors;
  if (!path.empty()) values.load_toml_file(path, &errors);
  for (const std::string& o : overrides) {
    if (std::string e = values.apply_override(o); !e.empty()) errors.push_back(std::move(e));
  }
  if (!errors.empty()) return errors;
  return resolve_config(values, cpus, out);
}

std::size_t conn_buffer_bytes_for(std::uint64_t configured, std::uint64_t memory_limit) noexcept {
  if (configured != 0) return configured;
  const std::uint64_t eighth = memory_limit / 8;
  return eighth > (std::uint64_t{32} << 20) ? eighth : std::uint64_t{32} << 20;
}

std::size_t max_item_size_for(std::uint64_t configured, std::uint64_t memory_limit,
                              std::uint64_t conn_buffer_bytes) noexcept {
  if (configured != 0) return configured;
  constexpr std::uint64_t kMin = std::uint64_t{1} << 20, kMax = std::uint64_t{512} << 20;
  std::uint64_t n = std::clamp(memory_limit / 64, kMin, kMax);
  if (conn_buffer_bytes > kRequestHeadroom && n > conn_buffer_bytes - kRequestHeadroom) {
    n = conn_buffer_bytes - kRequestHeadroom;
  }
  return n;
}

std::string item_fits_conn_buffers(std::uint64_t max_item_size, std::uint64_t conn_buffer_bytes) {
  if (max_item_size + kRequestHeadroom <= conn_buffer_bytes) return "";
  return "plus 64KiB of request headers is more than server.max_conn_buffer_bytes (" +
         format_size(conn_buffer_bytes) + "): a value that size could never be received; expected at most " +
         (conn_buffer_bytes > kRequestHeadroom ? format_size(conn_buffer_bytes - kRequestHeadroom) : "0") +
         " or a larger server.max_conn_buffer_bytes";
}

void ServerConfig::apply_to(engine::EngineSettings& settings) const {
  settings.version = std::string(server_version());
  settings.workers = workers;
  settings.max_connections = max_connections;
  settings.max_reply_bytes = max_reply_bytes;
  settings.max_request_bytes = max_request_bytes;
  settings.idle_timeout_ms = idle_timeout_ms;
  settings.conn_buffers.set_limit(max_conn_buffer_bytes, workers);
  settings.verbosity.store(verbosity_for(log_level), std::memory_order_relaxed);
  settings.udp_reply_factor = udp_reply_factor;
  settings.udp_allow = udp_allow;
  settings.udp_max_datagram = udp_max_datagram;
  settings.slow_request_ns.store(slow_request_us * 1000, std::memory_order_relaxed);
}

std::string ServerConfig::digest() const {
  std::string text;
  for (const Setting& s : all_settings()) {
    std::string v = values.get(s.key);
    if (s.key == Key::kWorkers) v = std::to_string(workers);
    if (s.key == Key::kCpus) v = format_cpu_list(worker_cpus);
    text += std::string(s.name) + "=" + v + "\n";
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, hash_key(text));
  return hex;
}

}  // namespace ferrite::server

// Helpers shared by the snapshot suites: a temporary folder, and a store's whole content as a
// map (key -> type, flags, value, deadline in Unix ms) to compare two stores.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>

#include "store/partitions.h"

#include "persist_test_util.h"

namespace ferrite::persist::testing {

// prefix + decimal n (not `"prefix" + std::to_string(n)`: GCC 12 reports a false -Wrestrict
// for that at -O2 and above).
inline std::string key_n(std::string_view prefix, unsigned long long n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

struct Entry {
  int type = 0;
  std::uint32_t flags = 0;
  std::string value;
  std::uint64_t deadline_unix_ms = 0;
  bool operator==(const Entry& o) const {
    return std::tie(type, flags, value, deadline_unix_ms) == std::tie(o.type, o.flags, o.value, o.deadline_unix_ms);
  }
};
inline std::ostream& operator<<(std::ostream& os, const Entry& e) {
  return os << "{type " << e.type << ", flags " << e.flags << ", " << e.value.size() << " bytes, deadline "
            << e.deadline_unix_ms << "}";
}

using Dump = std::map<std::string, Entry>;

// Every live item of `parts`, read on the calling thread (which attaches for the read).
inline Dump dump(store::Partitions& parts) {
  struct Arg {
    Dump* out;
    store::Partitions* parts;
  };
  Dump out;
  Arg arg{&out, &parts};
  store::PartitionedContext ctx(parts, 0);
  ctx.set_now(parts.now_ms());
  std::uint64_t cursor = 0;
  do {
    cursor = ctx.scan_keys(cursor, 1, [](void* a, const store::ItemView& it) {
      auto* g = static_cast<Arg*>(a);
      Entry e;
      e.type = static_cast<int>(it.type());
      e.flags = it.flags();
      e.value = std::string(it.value());
      e.deadline_unix_ms = g->parts->to_unix_ms(it.expires_at_ms());
      (*g->out)[std::string(it.key())] = e;
    }, &arg);
    ctx.quiescent();
  } while (cursor != 0);
  ctx.offline();
  return out;
}

// The first difference between two dumps, or "" when they are equal.
inline std::string diff(const Dump& want, const Dump& got) {
  for (const auto& [k, e] : want) {
    const auto it = got.find(k);
    if (it == got.end()) return "missing key " + k;
    if (!(it->second == e)) {
      std::ostringstream os;
      os << "key " << k << ": want " << e << ", got " << it->second;
      return os.str();
    }
  }
  for (const auto& [k, e] : got) {
    if (want.count(k) == 0) return "extra key " + k;
  }
  return "";
}

inline store::StoreConfig test_config(std::size_t memory = std::size_t{256} << 20, unsigned contexts = 8) {
  store::StoreConfig c;
  c.memory_limit = memory;
  c.max_contexts = contexts;
  c.max_item_size = std::size_t{4} << 20;
  return c;
}

}  // namespace ferrite::persist::testing

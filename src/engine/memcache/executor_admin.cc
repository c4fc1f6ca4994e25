// memcached's `lru_crawler metadump all|hash`: one line per live item, in memcached 1.6's format
// (what memcached-tool's dump and other key listers parse), then END:
//
//   key=<URI-encoded key> exp=<Unix time, -1 = never> la=<Unix time> cas=<n> fetch=<yes|no> cls=<n> size=<n>
//
// The store walks whole shards of the table (Context::scan_keys: a key present for the whole
// dump is listed once); at the reply cap the dump pauses and goes on from its cursor when the
// client has read. Where the store has no counterpart: la (last access) is the dump's time when
// the item's access mark is set (read since the eviction hand last passed it, or new; LFU: a
// counter above 0) and the daemon's start otherwise; fetch is that mark; cls is 1 (there are no
// slab classes); size is the item's allocation. "all" and "hash" list the same (one table).
#include <cstdio>

#include "engine/memcache/executor.h"
#include "store/memory.h"

namespace ferrite::engine::memcache {

namespace {

bool unreserved(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

struct Dump {
  Buffer* out;
  const Exec* ex;
  std::uint64_t now_unix_s;
  std::uint64_t start_unix_s;
  static void line(void* arg, const store::ItemView& it) {
    auto* d = static_cast<Dump*>(arg);
    Buffer& out = *d->out;
    static constexpr char kHex[] = "0123456789ABCDEF";
    out.append("key=");
    for (const char ch : it.key()) {
      const auto c = static_cast<unsigned char>(ch);
      if (unreserved(c)) {
        out.push_back(ch);
      } else {
        const char esc[3] = {'%', kHex[c >> 4], kHex[c & 15]};
        out.append(std::string_view(esc, 3));
      }
    }
    const std::uint64_t deadline = it.expires_at_ms();
    char buf[160];
    const bool marked = it.item()->load_access() != 0;
    const std::size_t size = store::ItemMemory::usable_for(
        store::Item::footprint(it.key().size(), it.value().size(), it.flags()));
    const long long exp = deadline == 0 ? -1 : static_cast<long long>(d->ex->shared.store->to_unix_ms(deadline) / 1000);
    const int n = std::snprintf(buf, sizeof(buf), " exp=%lld la=%llu cas=%llu fetch=%s cls=1 size=%zu\n", exp,
                                static_cast<unsigned long long>(marked ? d->now_unix_s : d->start_unix_s),
                                static_cast<unsigned long long>(it.cas()), marked ? "yes" : "no", size);
    out.append(std::string_view(buf, static_cast<std::size_t>(n)));
  }
};

}  // namespace

bool Executor::lru_crawler(const Request& r, Buffer& out, Exec& ex, std::size_t* consumed) {
  if (r.t.count != 3 || r.t.tok[0] != "lru_crawler" || r.t.tok[1] != "metadump" ||
      (r.t.tok[2] != "all" && r.t.tok[2] != "hash") || mode_ != Mode::kStream) {
    return false;
  }
  Dump d{&out, &ex, ex.unix_ms() / 1000, ex.shared.start_unix_ms / 1000};
  std::uint64_t cursor = dumping_ ? dump_cursor_ : 0;
  for (;;) {
    cursor = ex.ctx.scan_keys(cursor, 1, &Dump::line, &d);
    if (cursor == 0) break;
    if (out.size() >= ex.reply_limit()) {  // on at the next call, once the client has read
      dumping_ = true;
      dump_cursor_ = cursor;
      *consumed = 0;
      return true;
    }
  }
  dumping_ = false;
  dump_cursor_ = 0;
  out.append("END\r\n");
  ex.count(text_proto(), Op::k_other, r.start);
  *consumed = r.line.consumed;
  return true;
}

}  // namespace ferrite::engine::memcache

#include "persist/snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "persist/crc32c.h"
#include "persist/recover.h"
#include "persist/snapshot_format.h"
#include "store/hash_value.h"

namespace ferrite::persist {
namespace {

using Clock = std::chrono::steady_clock;

// Records a loading thread applies between two quiescent points.
constexpr std::size_t kLoadQuiescentEvery = 16;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::uint64_t unix_now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string errno_text(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

// A growable byte buffer that does not zero what it hands out.
struct Buf {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
  std::size_t cap = 0;

  char* grow(std::size_t n) {
    if (size + n > cap) {
      std::size_t c = std::max<std::size_t>(cap * 2, 64 << 10);
      while (c < size + n) c *= 2;
      std::unique_ptr<char[]> d(new char[c]);
      if (size != 0) std::memcpy(d.get(), data.get(), size);
      data = std::move(d);
      cap = c;
    }
    char* p = data.get() + size;
    size += n;
    return p;
  }
};

// --- reading ------------------------------------------------------------------------------

struct Fault {
  std::uint64_t offset = 0;
  std::string reason;
};

struct BlockRef {
  BlockHeader h;
  std::uint64_t offset = 0;  // of the block header
};

struct Index {
  SnapshotHeader header;
  SnapshotFooter footer;
  std::vector<BlockRef> blocks;
};

std::string at_block(const BlockRef& b, const std::string& what) {
  return std::string(b.h.kind == BlockKind::kBase ? "base" : "tail") + " block at offset " +
         std::to_string(b.offset) + ": " + what;
}

// Header, every block header and their chain, footer: not the blocks' data.
bool index_file(std::string_view f, Index* ix, Fault* fault) {
  if (const char* e = decode_snapshot_header(f, &ix->header); *e != 0) {
    *fault = {0, e};
    return false;
  }
  if (f.size() < kSnapshotHeader + kSnapshotFooter) {
    *fault = {f.size(), "no snapshot footer (a truncated or unfinished file)"};
    return false;
  }
  const std::size_t end = f.size() - kSnapshotFooter;
  if (const char* e = decode_snapshot_footer(f.substr(end), &ix->footer); *e != 0) {
    *fault = {end, e};
    return false;
  }
  std::uint32_t chain = 0;
  std::uint64_t base = 0, tail = 0;
  std::size_t pos = kSnapshotHeader;
  while (pos < end) {
    BlockRef b;
    b.offset = pos;
    if (const char* e = decode_block_header(f.substr(pos, std::min(end - pos, kBlockHeader)), &b.h); *e != 0) {
      *fault = {pos, e};
      return false;
    }
    if (b.h.comp_len > end - pos - kBlockHeader) {
      *fault = {pos, "block runs past the footer (a truncated file)"};
      return false;
    }
    chain = crc32c_extend(chain, f.data() + pos, kBlockHeader);
    (b.h.kind == BlockKind::kBase ? base : tail) += b.h.records;
    pos += kBlockHeader + b.h.comp_len;
    ix->blocks.push_back(b);
  }
  if (chain != ix->footer.chain_crc || ix->blocks.size() != ix->footer.blocks || base != ix->footer.base_records ||
      tail != ix->footer.tail_records) {
    *fault = {end, "the footer does not match the blocks (a block missing, added or changed)"};
    return false;
  }
  return true;
}

// Checks the block's data and decompresses it into *raw.
bool read_block(std::string_view f, const BlockRef& b, ZSTD_DCtx* dctx, Buf* raw, Fault* fault) {
  const std::string_view data = f.substr(b.offset + kBlockHeader, b.h.comp_len);
  if (crc32c(data) != b.h.data_crc) {
    *fault = {b.offset + kBlockHeader, at_block(b, "data checksum mismatch")};
    return false;
  }
  raw->size = 0;
  char* out = raw->grow(b.h.raw_len);
  const std::size_t n = ZSTD_decompressDCtx(dctx, out, b.h.raw_len, data.data(), data.size());
  if (ZSTD_isError(n) != 0 || n != b.h.raw_len) {
    *fault = {b.offset + kBlockHeader,
              at_block(b, ZSTD_isError(n) != 0 ? std::string("zstd: ") + ZSTD_getErrorName(n)
                                               : std::string("decompressed size differs from the header's"))};
    return false;
  }
  return true;
}

// Decodes every record of a decompressed block: fn(seq, record) for each (seq 0 in the base).
template <typename Fn>
bool each_record(const BlockRef& b, std::string_view raw, Fault* fault, Fn fn) {
  std::uint32_t n = 0;
  const bool tail = b.h.kind == BlockKind::kTail;
  while (!raw.empty()) {
    std::uint64_t seq = 0;
    if (tail) {
      if (raw.size() < kTailSeq) break;
      std::memcpy(&seq, raw.data(), kTailSeq);
      raw.remove_prefix(kTailSeq);
    }
    Record r;
    std::size_t used = 0;
    const DecodeStatus st = decode(raw, &r, &used);
    const char* bad = nullptr;
    if (st != DecodeStatus::kOk) {
      bad = decode_status_name(st);
    } else if (!tail && r.type != RecordType::kSet) {
      bad = "a base block holds only set records";
    } else if (r.type == RecordType::kSet && r.item_type > static_cast<std::uint8_t>(store::ItemType::kHash)) {
      bad = "unknown item type";
    } else if (r.type == RecordType::kSet && r.item_type == static_cast<std::uint8_t>(store::ItemType::kHash) &&
               !store::hash::validate(r.value)) {
      bad = "a hash value that is not a valid encoding";
    }
    if (bad != nullptr) {
      *fault = {b.offset, at_block(b, "record " + std::to_string(n) + ": " + bad)};
      return false;
    }
    if (!fn(seq, r)) return false;
    raw.remove_prefix(used);
    ++n;
  }
  if (!raw.empty() || n != b.h.records) {
    *fault = {b.offset, at_block(b, "the records do not match the block header's count")};
    return false;
  }
  return true;
}

// A read-only mapping of a whole file.
class Mapped {
 public:
  ~Mapped() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  std::string open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_text("open", path);
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      std::string e = errno_text("stat", path);
      ::close(fd);
      return e;
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ != 0) {
      void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        std::string e = errno_text("mmap", path);
        ::close(fd);
        return e;
      }
      base_ = p;
      madvise(base_, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
    return "";
  }
  std::string_view bytes() const noexcept { return {static_cast<const char*>(base_), base_ == nullptr ? 0 : size_}; }

 private:
  void* base_ = nullptr;
  std::size_t size_ = 0;
};

struct DctxFree {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};
struct CctxFree {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};

// --- writing ------------------------------------------------------------------------------

class Writer {
 public:
  Writer(store::Partitions& parts, const SnapshotOptions& o, SnapshotResult* r)
      : parts_(parts), opt_(o), res_(r), cctx_(ZSTD_createCCtx()) {
    opt_.block_bytes = std::clamp<std::size_t>(opt_.block_bytes, 4096, std::size_t{64} << 20);
  }
  ~Writer() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }

  bool begin(const std::string& tmp) {
    tmp_ = tmp;
    fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return fail(errno_text("create", tmp));
    if (cctx_ == nullptr) return fail("zstd: cannot create a compression context");
    char h[kSnapshotHeader];
    encode_snapshot_header({seq_, res_->created_unix_ms}, h);
    return write_all(h, sizeof h);
  }
  void set_seq(std::uint64_t seq) { seq_ = seq; }

  // The scan's callback: one base record per live item.
  static void on_item(void* self, const store::ItemView& it) {
    auto* w = static_cast<Writer*>(self);
    if (!w->error_.empty()) return;
    Record r;
    r.type = RecordType::kSet;
    r.item_type = static_cast<std::uint8_t>(it.type());
    r.flags = it.flags();
    r.version = it.cas();
    r.deadline_ms = w->parts_.to_unix_ms(it.expires_at_ms());
    r.key = it.key();
    r.value = it.value();
    w->add(BlockKind::kBase, r);
    if (w->over_limit()) w->write_pieces(BlockKind::kBase, false);
  }
  // The tail's drain callback: an entry (sequence + record) as captured.
  static void on_entry(void* self, std::string_view entry) {
    auto* w = static_cast<Writer*>(self);
    if (!w->error_.empty()) return;
    w->add(BlockKind::kTail, entry);
    w->write_pieces(BlockKind::kTail, false);  // the drain runs offline: write as it goes
  }

  // Appends one encoded record (a tail entry: sequence + record), cutting the pending bytes
  // into pieces of about block_bytes; written by write_pieces().
  void add(BlockKind kind, std::string_view bytes) { std::memcpy(reserve(kind, bytes.size()), bytes.data(), bytes.size()); }
  void add(BlockKind kind, const Record& r) { encode(r, reserve(kind, record_size(r))); }

  // Compresses and writes every whole piece of `kind` (and with `all`, the last one too).
  // Called with the walk's context offline: the base's records are only copied while it is
  // online, never compressed or written.
  bool write_pieces(BlockKind kind, bool all) {
    Pending& p = kind == BlockKind::kBase ? base_ : tail_;
    if (all && p.piece_records != 0) cut(p);
    std::size_t from = 0;
    for (const auto& [end, records] : p.cuts) {
      if (!write_block(kind, p.raw.data.get() + from, end - from, records)) return false;
      from = end;
    }
    p.cuts.clear();
    if (from != 0) {
      std::memmove(p.raw.data.get(), p.raw.data.get() + from, p.raw.size - from);
      p.raw.size -= from;
      p.piece_start -= from;
    }
    return error_.empty();
  }

  // Pending bytes of the base over which the walk writes inline rather than keeping a shard's
  // records in memory (a shard of very large values).
  static constexpr std::size_t kInlineLimit = std::size_t{64} << 20;
  bool over_limit() const noexcept { return base_.raw.size > kInlineLimit; }

 private:
  struct Pending {
    Buf raw;
    std::vector<std::pair<std::size_t, std::uint32_t>> cuts;  // whole pieces: end offset, records
    std::size_t piece_start = 0;
    std::uint32_t piece_records = 0;
  };

  static void cut(Pending& p) {
    p.cuts.emplace_back(p.raw.size, p.piece_records);
    p.piece_start = p.raw.size;
    p.piece_records = 0;
  }

  char* reserve(BlockKind kind, std::size_t size) {
    Pending& p = kind == BlockKind::kBase ? base_ : tail_;
    if (p.piece_records != 0 && p.raw.size - p.piece_start + size > opt_.block_bytes) cut(p);
    char* out = p.raw.grow(size);
    ++p.piece_records;
    return out;
  }

  // Compresses and writes one block.
  bool write_block(BlockKind kind, const char* raw, std::size_t raw_len, std::uint32_t records) {
    if (!error_.empty()) return false;
    const std::size_t bound = ZSTD_compressBound(raw_len);
    comp_.size = 0;
    char* out = comp_.grow(bound);
    const std::size_t n = ZSTD_compressCCtx(cctx_.get(), out, bound, raw, raw_len,
                                           kind == BlockKind::kBase ? opt_.level : opt_.tail_level);
    if (ZSTD_isError(n) != 0) return fail(std::string("zstd: ") + ZSTD_getErrorName(n));
    BlockHeader bh;
    bh.kind = kind;
    bh.raw_len = static_cast<std::uint32_t>(raw_len);
    bh.comp_len = static_cast<std::uint32_t>(n);
    bh.records = records;
    bh.data_crc = crc32c(out, n);
    char h[kBlockHeader];
    encode_block_header(bh, h);
    footer_.chain_crc = crc32c_extend(footer_.chain_crc, h, sizeof h);
    ++footer_.blocks;
    (kind == BlockKind::kBase ? footer_.base_records : footer_.tail_records) += records;
    res_->raw_bytes += raw_len;
    return write_all(h, sizeof h) && write_all(out, n);
  }

 public:
  // Last blocks, footer, fsync, rename, fsync of the folder.
  bool finish(const std::string& final_path, const std::string& dir) {
    if (!write_pieces(BlockKind::kBase, true) || !write_pieces(BlockKind::kTail, true)) return false;
    char f[kSnapshotFooter];
    encode_snapshot_footer(footer_, f);
    if (!write_all(f, sizeof f)) return false;
    if (opt_.sync && ::fsync(fd_) != 0) return fail(errno_text("fsync", tmp_));
    if (::close(fd_) != 0) {
      fd_ = -1;
      ::unlink(tmp_.c_str());
      return fail(errno_text("close", tmp_));
    }
    fd_ = -1;
    if (::rename(tmp_.c_str(), final_path.c_str()) != 0) {
      const std::string e = errno_text("rename", tmp_ + " to " + final_path);
      ::unlink(tmp_.c_str());
      return fail(e);
    }
    if (opt_.sync) {
      const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (d < 0) return fail(errno_text("open folder", dir));
      const int rc = ::fsync(d);
      ::close(d);
      if (rc != 0) return fail(errno_text("fsync folder", dir));
    }
    res_->items = footer_.base_records;
    res_->tail_records = footer_.tail_records;
    res_->blocks = footer_.blocks;
    res_->file_bytes = written_;
    return true;
  }

  bool fail(std::string e) {
    if (error_.empty()) error_ = std::move(e);
    return false;
  }
  const std::string& error() const noexcept { return error_; }

 private:
  bool write_all(const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail(errno_text("write", tmp_));
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      written_ += static_cast<std::uint64_t>(w);
    }
    return true;
  }

  store::Partitions& parts_;
  SnapshotOptions opt_;
  SnapshotResult* res_;
  std::unique_ptr<ZSTD_CCtx, CctxFree> cctx_;
  std::string tmp_;
  int fd_ = -1;
  std::uint64_t seq_ = 0;
  std::uint64_t written_ = 0;
  Pending base_, tail_;
  Buf comp_;
  SnapshotFooter footer_;
  std::string error_;
};

}  // namespace

SnapshotResult write_snapshot(store::Partitions& parts, SnapshotTail* tail, const std::string& dir,
                              std::uint64_t seq, const SnapshotOptions& options) {
  SnapshotResult res;
  const auto t0 = Clock::now();
  res.path = dir + "/" + snapshot_file_name(seq);
  res.created_unix_ms = unix_now_ms();
  Writer w(parts, options, &res);
  w.set_seq(seq);
  if (!w.begin(res.path + ".tmp")) {
    res.error = w.error();
    return res;
  }
  if (tail != nullptr) {
    try {
      tail->open();
    } catch (const std::bad_alloc&) {
      res.error = "no memory for the snapshot's tail rings";
      return res;
    }
  }
  store::PartitionedContext ctx(parts, 0);
  // The walk: a shard at a time (each a consistent snapshot of its buckets), releasing the
  // items seen at each step; the tail drained between steps, offline while it writes.
  std::uint64_t cursor = 0;
  do {
    ctx.set_now(parts.now_ms());
    cursor = ctx.scan_keys(cursor, 1, &Writer::on_item, &w);
    ctx.quiescent();
    ctx.offline();
    w.write_pieces(BlockKind::kBase, false);
    if (tail != nullptr) {
      tail->drain(&Writer::on_entry, &w);
      w.write_pieces(BlockKind::kTail, false);
    }
    ctx.online();
  } while (cursor != 0 && w.error().empty());
  ctx.offline();  // the walk's items are released: nothing waits for this thread from here on
  if (options.on_walked != nullptr) options.on_walked(options.on_walked_arg);
  if (tail != nullptr) {
    tail->close();  // the snapshot's moment: every mutation reported before it is in the tail
    tail->drain(&Writer::on_entry, &w);
    w.write_pieces(BlockKind::kTail, false);
    if (tail->overflowed() && w.error().empty()) {
      w.fail(std::to_string(tail->dropped()) +
             " mutations could not be captured while the snapshot ran (a context's tail ring was full): "
             "the snapshot is incomplete");
    }
    tail->release();
  }
  if (w.error().empty()) w.finish(res.path, dir);
  res.error = w.error();
  res.seconds = seconds_since(t0);
  return res;
}

// --- verifying ----------------------------------------------------------------------------

VerifyResult verify_snapshot_bytes(std::string_view f) {
  VerifyResult v;
  Index ix;
  Fault fault;
  std::unique_ptr<ZSTD_DCtx, DctxFree> dctx(ZSTD_createDCtx());
  Buf raw;
  bool ok = index_file(f, &ix, &fault);
  for (std::size_t i = 0; ok && i < ix.blocks.size(); ++i) {
    ok = read_block(f, ix.blocks[i], dctx.get(), &raw, &fault) &&
         each_record(ix.blocks[i], {raw.data.get(), raw.size}, &fault, [](std::uint64_t, const Record&) { return true; });
  }
  v.ok = ok;
  if (!ok) {
    v.offset = fault.offset;
    v.reason = fault.reason;
    return v;
  }
  v.seq = ix.header.seq;
  v.created_unix_ms = ix.header.created_unix_ms;
  v.blocks = ix.footer.blocks;
  v.base_records = ix.footer.base_records;
  v.tail_records = ix.footer.tail_records;
  return v;
}

VerifyResult verify_snapshot(const std::string& path) {
  Mapped m;
  if (std::string e = m.open(path); !e.empty()) {
    VerifyResult v;
    v.reason = std::move(e);
    return v;
  }
  VerifyResult v = verify_snapshot_bytes(m.bytes());
  if (!v.ok) v.reason = path + ": offset " + std::to_string(v.offset) + ": " + v.reason;
  return v;
}

std::string check_snapshot_file(const std::string& path) {
  const VerifyResult v = verify_snapshot(path);
  return v.ok ? std::string() : v.reason;
}

std::string load_snapshot_file(const std::string& path, store::Partitions& parts) {
  LoadOptions o;
  o.threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  const LoadResult r = load_snapshot(path, parts, o);
  if (!r.error.empty()) return r.error;
  if (r.evicted != 0) {
    return path + ": " + std::to_string(r.evicted) + " items were evicted while loading (the store is too small for the snapshot)";
  }
  return "";
}

// --- applying -----------------------------------------------------------------------------

ApplyOutcome apply_snapshot_record(store::PartitionedContext& ctx, const store::Partitions& parts, const Record& r,
                                   std::uint64_t now_unix_ms) noexcept {
  // The append-only file's recovery leaves flushes to its loader; here a flush is applied.
  if (r.type == RecordType::kFlush) {
    ctx.flush(0);
    return ApplyOutcome::kApplied;
  }
  switch (apply_record(ctx, parts.at(0), r, now_unix_ms)) {  // the partitions share one clock
    case ApplyResult::kApplied:
      return ApplyOutcome::kApplied;
    case ApplyResult::kExpired:
      return ApplyOutcome::kExpired;
    case ApplyResult::kRefused:
      return ApplyOutcome::kRefused;
  }
  return ApplyOutcome::kRefused;
}

ApplyOutcome TailApplier::apply(const Record& r) {
  switch (r.type) {
    case RecordType::kSet: {
      const ApplyOutcome out = apply_snapshot_record(ctx_, parts_, r, now_unix_ms_);
      version_[std::string(r.key)] = out == ApplyOutcome::kApplied ? r.version : 0;
      return out;
    }
    case RecordType::kDelete:
    case RecordType::kTouch: {
      // A delete of version 0 is for the key whatever its version (the append-only file's
      // tombstone for a store it had no room for).
      const auto it = version_.find(std::string(r.key));
      const bool any = r.type == RecordType::kDelete && r.version == 0;
      if (!any && (it != version_.end() ? it->second != r.version : flushed_)) return ApplyOutcome::kStale;
      const ApplyOutcome out = apply_snapshot_record(ctx_, parts_, r, now_unix_ms_);
      if (r.type == RecordType::kDelete || out == ApplyOutcome::kExpired) version_[std::string(r.key)] = 0;
      return out;
    }
    case RecordType::kFlush:
      version_.clear();
      flushed_ = true;
      return apply_snapshot_record(ctx_, parts_, r, now_unix_ms_);
  }
  return ApplyOutcome::kRefused;
}

// --- loading ------------------------------------------------------------------------------

LoadResult load_snapshot(const std::string& path, store::Partitions& parts, const LoadOptions& options) {
  LoadResult res;
  const auto t0 = Clock::now();
  auto fail = [&](const Fault& f) {
    res.error = path + ": offset " + std::to_string(f.offset) + ": " + f.reason;
    res.error_offset = f.offset;
    res.seconds = seconds_since(t0);
    return res;
  };
  Mapped m;
  if (std::string e = m.open(path); !e.empty()) {
    res.error = std::move(e);
    return res;
  }
  const std::string_view f = m.bytes();
  Index ix;
  Fault fault;
  if (!index_file(f, &ix, &fault)) return fail(fault);
  res.seq = ix.header.seq;
  res.created_unix_ms = ix.header.created_unix_ms;
  const std::uint64_t now = options.now_unix_ms != 0 ? options.now_unix_ms : unix_now_ms();
  const std::uint64_t evictions_before = parts.stats().evictions;

  // The tail first, checked whole before the store is touched: its entries in capture order.
  std::unique_ptr<ZSTD_DCtx, DctxFree> dctx(ZSTD_createDCtx());
  std::vector<Buf> tail_raw;
  std::vector<std::pair<std::uint64_t, Record>> tail;
  tail.reserve(ix.footer.tail_records);
  for (const BlockRef& b : ix.blocks) {
    if (b.h.kind != BlockKind::kTail) continue;
    tail_raw.emplace_back();
    Buf& raw = tail_raw.back();
    if (!read_block(f, b, dctx.get(), &raw, &fault)) return fail(fault);
    if (!each_record(b, {raw.data.get(), raw.size}, &fault, [&](std::uint64_t seq, const Record& r) {
          tail.emplace_back(seq, r);
          return true;
        })) {
      return fail(fault);
    }
  }
  std::stable_sort(tail.begin(), tail.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  // The base, block by block on `threads` threads: blocks are independent.
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> loaded{0}, expired{0}, refused{0};
  std::atomic<bool> stop{false};
  std::mutex fault_mu;
  Fault first_fault;
  bool faulted = false;
  auto worker = [&](unsigned id) {
    store::PartitionedContext ctx(parts, id % parts.count());
    std::unique_ptr<ZSTD_DCtx, DctxFree> d(ZSTD_createDCtx());
    Buf raw;
    std::uint64_t n_loaded = 0, n_expired = 0, n_refused = 0;
    std::size_t since_quiescent = 0;
    Fault local;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= ix.blocks.size()) break;
      const BlockRef& b = ix.blocks[i];
      if (b.h.kind != BlockKind::kBase) continue;
      ctx.set_now(parts.now_ms());
      const bool ok = read_block(f, b, d.get(), &raw, &local) &&
                      each_record(b, {raw.data.get(), raw.size}, &local, [&](std::uint64_t, const Record& r) {
                        // Often enough that a shard that must grow can (its old array waits for
                        // every context's grace period), rather than evict what was just loaded.
                        if (++since_quiescent == kLoadQuiescentEvery) {
                          ctx.tick();
                          ctx.quiescent();
                          since_quiescent = 0;
                        }
                        switch (apply_snapshot_record(ctx, parts, r, now)) {
                          case ApplyOutcome::kApplied: ++n_loaded; break;
                          case ApplyOutcome::kExpired: ++n_expired; break;
                          case ApplyOutcome::kStale:
                          case ApplyOutcome::kRefused: ++n_refused; break;
                        }
                        return true;
                      });
      ctx.tick();
      ctx.quiescent();
      if (!ok) {
        std::lock_guard lock(fault_mu);
        if (!faulted || local.offset < first_fault.offset) first_fault = local;
        faulted = true;
        stop.store(true, std::memory_order_relaxed);
        break;
      }
    }
    loaded.fetch_add(n_loaded, std::memory_order_relaxed);
    expired.fetch_add(n_expired, std::memory_order_relaxed);
    refused.fetch_add(n_refused, std::memory_order_relaxed);
    ctx.offline();
  };
  const unsigned threads = std::max(1u, options.threads);
  {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (auto& t : pool) t.join();
  }
  res.loaded = loaded.load();
  res.expired = expired.load();
  res.refused = refused.load();
  if (faulted) return fail(first_fault);

  // The tail, in capture order, on this thread.
  store::PartitionedContext ctx(parts, 0);
  ctx.set_now(parts.now_ms());
  TailApplier applier(ctx, parts, now);
  std::size_t since_quiescent = 0;
  for (const auto& [seq, r] : tail) {
    if (++since_quiescent == kLoadQuiescentEvery) {
      ctx.set_now(parts.now_ms());
      ctx.tick();
      ctx.quiescent();
      since_quiescent = 0;
    }
    switch (applier.apply(r)) {
      case ApplyOutcome::kApplied: ++res.tail_applied; break;
      case ApplyOutcome::kRefused: ++res.refused; break;
      case ApplyOutcome::kExpired:
      case ApplyOutcome::kStale: ++res.tail_skipped; break;
    }
  }
  ctx.quiescent();
  ctx.offline();
  res.evicted = parts.stats().evictions - evictions_before;
  res.seconds = seconds_since(t0);
  return res;
}

}  // namespace ferrite::persist

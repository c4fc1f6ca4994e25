#include "persist/aof.h"

#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <thread>

#include "core/clock.h"
#include "core/compiler.h"
#include "persist/manifest.h"
#include "persist/record.h"
#include "persist/segment.h"
#include "persist/aof_internal.h"

namespace ferrite::persist {

using aof_detail::kIdle;
using aof_detail::kStampMask;
using aof_detail::tsc_now;

namespace {

constexpr std::size_t kMaxIov = 1000;  // below IOV_MAX (1024)
// Under everysec and no: the least time between two writes, and how often the rings are looked
// at meanwhile (for one a quarter full).
constexpr std::chrono::microseconds kPace{1000};
constexpr std::chrono::microseconds kPaceCheck{100};

bool kernel_clock_is_tsc() {
#if defined(__x86_64__)
  std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string name;
  return f && (f >> name) && name == "tsc";
#else
  return false;
#endif
}

// The failure messages (static strings: Durability::failure() hands them out as they are).
const char* write_failure(int err) noexcept {
  switch (err) {
    case ENOSPC: return "append-only file: write failed: no space left on device (ENOSPC)";
    case EIO: return "append-only file: write failed: I/O error (EIO)";
    case EFBIG: return "append-only file: write failed: file too large (EFBIG)";
    case EDQUOT: return "append-only file: write failed: disk quota exceeded (EDQUOT)";
    case EROFS: return "append-only file: write failed: read-only file system (EROFS)";
    default: return "append-only file: write failed";
  }
}
const char* sync_failure(int err) noexcept {
  switch (err) {
    case ENOSPC: return "append-only file: fsync failed: no space left on device (ENOSPC)";
    case EIO: return "append-only file: fsync failed: I/O error (EIO)";
    default: return "append-only file: fsync failed";
  }
}
constexpr const char* kSegmentFailure = "append-only file: cannot create the next segment or update the manifest";

std::size_t bucket_of(std::uint64_t us) noexcept {
  std::size_t i = 0;
  while (i < kFsyncBuckets - 1 && us > kFsyncBucketsUs[i]) ++i;
  return i;
}

}  // namespace

const char* fsync_policy_name(FsyncPolicy p) noexcept {
  switch (p) {
    case FsyncPolicy::kAlways: return "always";
    case FsyncPolicy::kEverysec: return "everysec";
    case FsyncPolicy::kNo: return "no";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// The writer (its own thread)

struct AofWriter::Impl {
  io_uring uring{};
  bool uring_ready = false;
  int fd = -1;
  Manifest manifest;
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;  // bytes in the current segment
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> give_up_at_ms{0};

  // One request of the rewrite at a time (request_mu held by the asker from posting to answer).
  enum class Request : std::uint8_t { kRotate, kSetBase };
  std::mutex ask_mu;  // serialises askers
  std::mutex request_mu;
  std::condition_variable request_done;
  std::atomic<bool> request{false};
  Request req_kind = Request::kRotate;
  std::string req_snapshot;
  std::uint64_t req_first = 0;
  std::string req_error;
  std::uint64_t req_seq = 0;

  // The batch being written: iovecs over `buf` (records copied from the rings) and over heap
  // records (written where they are, freed once written).
  std::unique_ptr<char[]> buf;
  std::size_t buf_cap = 0, buf_len = 0;
  std::vector<iovec> iov;
  std::vector<char*> heap_owned;
  std::vector<std::uint64_t> batch_records;  // per worker, in this batch
  std::vector<std::uint64_t> cursor;         // per worker: ring bytes taken
  std::vector<std::uint64_t> in_file;        // per worker: records written to the file
  std::uint64_t unsynced_bytes = 0;
  std::uint64_t last_sync_ms = 0;
  std::chrono::steady_clock::time_point last_write{};  // the last batch written (the pace)
  const char* last_failure = nullptr;

  // Statistics (written by the thread, read by stats()).
  std::atomic<std::uint64_t> bytes_written{0}, records{0}, fsyncs{0}, fsync_us_sum{0}, failures{0};
  std::atomic<std::uint64_t> rotations{0}, seg_now{0}, seg_bytes{0};
  std::atomic<std::uint64_t> fsync_buckets[kFsyncBuckets] = {};

  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) noexcept {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

AofWriter::AofWriter(const AofOptions& options, const store::Store& clock)
    : options_(options), clock_(clock), fsync_(options.fsync), impl_(std::make_unique<Impl>()) {
  switch (options_.stamps) {
    case StampSource::kAuto: tsc_ = kernel_clock_is_tsc(); break;
    case StampSource::kTsc: tsc_ = true; break;
    case StampSource::kCounter: tsc_ = false; break;
  }
#if !defined(__x86_64__)
  tsc_ = false;
#endif
  const unsigned n = std::max(1u, options_.workers);
  Impl& m = *impl_;
  m.buf_cap = std::max<std::size_t>(options_.write_buffer_bytes, 64 << 10);
  producers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    producers_.push_back(
        std::make_unique<AofProducer>(*this, i, options_.ring_bytes, options_.overflow_slots, m.buf_cap));
  }
  m.buf.reset(new char[m.buf_cap]);
  m.iov.reserve(kMaxIov);
  m.batch_records.assign(n, 0);
  m.cursor.assign(n, 0);
  m.in_file.assign(n, 0);
}

std::string AofWriter::ask(bool rotate, const std::string& snapshot, std::uint64_t first, std::uint64_t* seq) {
  Impl& m = *impl_;
  std::lock_guard ask(m.ask_mu);
  std::unique_lock lock(m.request_mu);
  if (!m.thread.joinable() || m.stopping.load(std::memory_order_acquire)) return "append-only file: not running";
  m.req_kind = rotate ? Impl::Request::kRotate : Impl::Request::kSetBase;
  m.req_snapshot = snapshot;
  m.req_first = first;
  m.request.store(true, std::memory_order_release);
  m.request_done.wait(lock, [&] { return !m.request.load(std::memory_order_acquire); });
  if (seq != nullptr) *seq = m.req_seq;
  return m.req_error;
}

std::string AofWriter::start_new_segment(std::uint64_t* seq) { return ask(true, "", 0, seq); }

std::string AofWriter::set_base(const std::string& snapshot, std::uint64_t first_segment) {
  return ask(false, snapshot, first_segment, nullptr);
}

AofWriter::~AofWriter() {
  stop(0);
  for (char* b : impl_->heap_owned) delete[] b;
  if (impl_->uring_ready) io_uring_queue_exit(&impl_->uring);
  if (impl_->fd >= 0) ::close(impl_->fd);
}

std::uint64_t AofWriter::now_stamp() const noexcept {
  if (tsc_) return tsc_now();
  return counter_.load(std::memory_order_acquire);
}

AofStats AofWriter::stats() const noexcept {
  const Impl& m = *impl_;
  AofStats s;
  s.bytes_written = m.bytes_written.load(std::memory_order_relaxed);
  s.records = m.records.load(std::memory_order_relaxed);
  s.fsyncs = m.fsyncs.load(std::memory_order_relaxed);
  s.fsync_us_sum = m.fsync_us_sum.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kFsyncBuckets; ++i) s.fsync_buckets[i] = m.fsync_buckets[i].load(std::memory_order_relaxed);
  for (const auto& p : producers_) {
    s.ring_drops += p->drops();
    s.slow_path += p->slow_path();
    s.ring_tombstones += p->tombstones();
  }
  s.failures = m.failures.load(std::memory_order_relaxed);
  s.failed = failure() != nullptr;
  s.incomplete = incomplete_.load(std::memory_order_relaxed);
  s.segment = m.seg_now.load(std::memory_order_relaxed);
  s.segment_bytes = m.seg_bytes.load(std::memory_order_relaxed);
  s.rotations = m.rotations.load(std::memory_order_relaxed);
  return s;
}

namespace {

// One io_uring operation, waited for: the result (>= 0) or -errno.
int uring_wait(io_uring* ring) noexcept {
  int rc = io_uring_submit(ring);
  if (rc < 0) return rc;
  io_uring_cqe* cqe = nullptr;
  do {
    rc = io_uring_wait_cqe(ring, &cqe);
  } while (rc == -EINTR);
  if (rc < 0) return rc;
  const int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

int uring_write(io_uring* ring, int fd, const iovec* iov, unsigned n, std::uint64_t off) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) return -EBUSY;
  io_uring_prep_writev(sqe, fd, iov, n, off);
  return uring_wait(ring);
}

int uring_datasync(io_uring* ring, int fd) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) return -EBUSY;
  io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
  return uring_wait(ring);
}

// Writes every byte of iov[0..n) at `off` (advancing over short writes); 0 or -errno.
int write_fully(io_uring* ring, int fd, iovec* iov, std::size_t n, std::uint64_t off) noexcept {
  std::size_t i = 0;
  while (i < n) {
    if (iov[i].iov_len == 0) {
      ++i;
      continue;
    }
    const int res = uring_write(ring, fd, iov + i, static_cast<unsigned>(n - i), off);
    if (res < 0) return res;
    if (res == 0) return -EIO;
    std::size_t done = static_cast<std::size_t>(res);
    off += done;
    while (i < n && done >= iov[i].iov_len) {
      done -= iov[i].iov_len;
      ++i;
    }
    if (i < n) {
      iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + done;
      iov[i].iov_len -= done;
    }
  }
  return 0;
}

// Opens segment `seq` (new), writes and syncs its header; the fd or -errno.
int create_segment(io_uring* ring, const std::string& dir, std::uint64_t seq) noexcept {
  const std::string path = dir + "/" + segment_file_name(seq);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  char h[kSegmentHeader];
  encode_segment_header(SegmentHeader{seq, unix_ms()}, h);
  iovec v{h, sizeof h};
  int rc = write_fully(ring, fd, &v, 1, 0);
  if (rc == 0) rc = uring_datasync(ring, fd);
  if (rc < 0) {
    ::close(fd);
    ::unlink(path.c_str());
    return rc;
  }
  return fd;
}

}  // namespace

std::string AofWriter::start() {
  Impl& m = *impl_;
  if (m.thread.joinable()) return "";
  if (::mkdir(options_.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return options_.dir + ": cannot create the persistence folder: " + std::strerror(errno);
  }
  if (!m.uring_ready) {
    const int rc = io_uring_queue_init(8, &m.uring, 0);
    if (rc < 0) return std::string("append-only file: io_uring_queue_init: ") + std::strerror(-rc);
    m.uring_ready = true;
  }
  ManifestLoad load = load_manifest(options_.dir);
  if (!load.error.empty()) return load.error;
  m.manifest = load.absent ? Manifest{} : load.manifest;
  // The next number: after the manifest's last segment and after any segment file present (one
  // created before a crash kept it out of the manifest).
  std::uint64_t seq = m.manifest.segments.empty() ? 0 : m.manifest.segments.back();
  if (DIR* d = ::opendir(options_.dir.c_str()); d != nullptr) {
    while (const dirent* e = ::readdir(d)) seq = std::max(seq, segment_seq_of(e->d_name));
    ::closedir(d);
  }
  ++seq;
  const int fd = create_segment(&m.uring, options_.dir, seq);
  if (fd < 0) {
    return options_.dir + "/" + segment_file_name(seq) + ": cannot create the segment: " + std::strerror(-fd);
  }
  Manifest next = m.manifest;
  next.generation += 1;
  next.segments.push_back(seq);
  if (std::string err = store_manifest(options_.dir, next); !err.empty()) {
    ::close(fd);
    ::unlink((options_.dir + "/" + segment_file_name(seq)).c_str());
    return err;
  }
  m.manifest = std::move(next);
  m.fd = fd;
  m.seq = seq;
  m.offset = kSegmentHeader;
  m.seg_now.store(seq, std::memory_order_relaxed);
  m.seg_bytes.store(kSegmentHeader, std::memory_order_relaxed);
  Impl::bump(m.bytes_written, kSegmentHeader);
  m.last_sync_ms = monotonic_ms();
  m.stopping.store(false, std::memory_order_relaxed);
  m.thread = std::thread([this] { run(); });
  return "";
}

void AofWriter::stop(std::uint64_t give_up_ms) {
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  m.give_up_at_ms.store(monotonic_ms() + give_up_ms, std::memory_order_relaxed);
  m.stopping.store(true, std::memory_order_release);
  m.thread.join();
}

// The thread. Each turn: the watermark (the lowest stamp any worker may still hand over), then
// every record below it from every ring in stamp order into one batch, written at the end of
// the segment; then fsync by policy, durable positions published, workers woken.
void AofWriter::run() noexcept {
  Impl& m = *impl_;
  const std::size_t n = producers_.size();
  std::vector<std::uint64_t> published(n), heap_ready(n), heap_seen(n);
  std::vector<std::uint64_t> durable_shown(n, 0);
  const char* failure_shown = nullptr;
  unsigned idle_turns = 0;
  std::uint64_t backoff_ms = 0;
  bool final_pass = false;

  // What is failing, by step: the failure shown is the first of them; each clears when its step
  // next succeeds, and the writer backs off while any is set.
  const char* write_err = nullptr;
  const char* sync_err = nullptr;
  const char* segment_err = nullptr;
  auto show = [&] {
    const char* f = write_err != nullptr ? write_err : sync_err != nullptr ? sync_err : segment_err;
    failure_.store(f, std::memory_order_release);
    if (f == nullptr) backoff_ms = 0;
  };
  auto fail = [&](const char*& slot, const char* why) {
    Impl::bump(m.failures);
    slot = why;
    backoff_ms = backoff_ms == 0 ? 10 : std::min<std::uint64_t>(backoff_ms * 2, 1000);
    show();
  };
  auto ok = [&](const char*& slot) {
    if (slot == nullptr) return;
    slot = nullptr;
    show();
  };
  auto wake_all = [&](bool only_changed) {
    for (std::size_t i = 0; i < n; ++i) {
      AofProducer& p = *producers_[i];
      const std::uint64_t d = p.durable_.load(std::memory_order_relaxed);
      if (only_changed && d == durable_shown[i]) continue;
      durable_shown[i] = d;
      if (Durability::Waker* w = p.waker_.load(std::memory_order_acquire)) w->wake();
    }
  };
  auto publish = [&] {
    for (std::size_t i = 0; i < n; ++i) producers_[i]->durable_.store(m.in_file[i], std::memory_order_release);
  };
  // fdatasync by io_uring, timed; false on failure (the reason set).
  auto sync = [&]() -> bool {
    const std::uint64_t t0 = monotonic_ms();
    const auto c0 = std::chrono::steady_clock::now();
    const int rc = uring_datasync(&m.uring, m.fd);
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - c0).count());
    if (rc < 0) {
      fail(sync_err, sync_failure(-rc));
      // Pages whose write-back failed may be dropped by the kernel: what was not synced is
      // uncertain. Under always the batch is written again; otherwise the file is incomplete.
      if (fsync() != FsyncPolicy::kAlways) incomplete_.store(true, std::memory_order_relaxed);
      return false;
    }
    Impl::bump(m.fsyncs);
    Impl::bump(m.fsync_us_sum, us);
    Impl::bump(m.fsync_buckets[bucket_of(us)]);
    m.unsynced_bytes = 0;
    m.last_sync_ms = t0;
    ok(sync_err);
    return true;
  };
  auto sleep_ms = [&](std::uint64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  // Syncs the current segment, starts the next one and names it in the manifest; false on a
  // failure (set, retried by the caller).
  auto rotate = [&]() -> bool {
    if (m.unsynced_bytes != 0 && !sync()) return false;
    publish();
    const std::uint64_t seq = m.seq + 1;
    const int fd = create_segment(&m.uring, options_.dir, seq);
    Manifest next = m.manifest;
    next.generation += 1;
    next.segments.push_back(seq);
    if (fd < 0 || !store_manifest(options_.dir, next).empty()) {
      if (fd >= 0) {
        ::close(fd);
        ::unlink((options_.dir + "/" + segment_file_name(seq)).c_str());
      }
      fail(segment_err, kSegmentFailure);
      return false;
    }
    ::close(m.fd);
    m.fd = fd;
    m.seq = seq;
    m.offset = kSegmentHeader;
    m.manifest = std::move(next);
    Impl::bump(m.rotations);
    Impl::bump(m.bytes_written, kSegmentHeader);
    m.seg_now.store(seq, std::memory_order_relaxed);
    m.seg_bytes.store(kSegmentHeader, std::memory_order_relaxed);
    ok(segment_err);
    return true;
  };

  for (;;) {
    const bool stopping = m.stopping.load(std::memory_order_acquire);
    if (stopping && !final_pass) final_pass = true;
    if (final_pass && backoff_ms != 0 && monotonic_ms() >= m.give_up_at_ms.load(std::memory_order_relaxed)) break;

    // 0. The pace. Under everysec and no nothing waits for the file, so records are gathered for
    // up to kPace between writes: fewer, larger writes (each one a hand-off to the kernel's
    // io_uring worker thread: at 20k writes/s the writer woke for every other record, and the
    // hand-offs cost more CPU per write than the records). A ring a quarter full, a heap record,
    // a rewrite's request or a failure being retried end the wait at once.
    if (!final_pass && backoff_ms == 0 && m.iov.empty() && fsync() != FsyncPolicy::kAlways &&
        !m.request.load(std::memory_order_acquire) && std::chrono::steady_clock::now() - m.last_write < kPace) {
      bool pressed = false;
      for (std::size_t i = 0; i < n && !pressed; ++i) {
        const AofProducer& p = *producers_[i];
        pressed = p.published_.load(std::memory_order_acquire) - m.cursor[i] > p.cap_ / 4 ||
                  p.heap_published_.load(std::memory_order_acquire) != p.heap_taken_.load(std::memory_order_relaxed);
      }
      if (!pressed) {
        std::this_thread::sleep_for(kPaceCheck);
        continue;
      }
    }

    // 1. The watermark: records with stamps below it are all in the rings already.
    std::uint64_t low = kStampMask;
    if (!final_pass) {
      for (std::size_t i = 0; i < n; ++i) {
        AofProducer& p = *producers_[i];
        std::uint64_t s = p.state_.load(std::memory_order_acquire);
        if ((s & kIdle) != 0) {
          // A sleeping worker does not hold the others back: its watermark moves to now, unless
          // it woke up meanwhile (then its own watermark counts).
          const std::uint64_t now = now_stamp();
          if (p.state_.compare_exchange_strong(s, kIdle | now, std::memory_order_acq_rel)) s = now;
        }
        low = std::min(low, s & kStampMask);
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      published[i] = producers_[i]->published_.load(std::memory_order_acquire);
      heap_ready[i] = producers_[i]->heap_published_.load(std::memory_order_acquire);
      heap_seen[i] = producers_[i]->heap_taken_.load(std::memory_order_relaxed);
    }

    // 2. The batch, in stamp order (ties by worker), if the previous one was written.
    if (m.iov.empty()) {
      m.buf_len = 0;
      std::fill(m.batch_records.begin(), m.batch_records.end(), 0);
      for (;;) {
        std::size_t best = n;
        std::uint64_t best_stamp = 0;
        bool best_heap = false;
        for (std::size_t i = 0; i < n; ++i) {
          AofProducer& p = *producers_[i];
          // Skip padding at the ring's end.
          while (m.cursor[i] < published[i]) {
            std::uint32_t e = 0;
            std::memcpy(&e, p.ring_.get() + (m.cursor[i] & p.mask_), 4);
            if ((e & AofProducer::kPadFlag) == 0) break;
            m.cursor[i] += e & ~AofProducer::kPadFlag;
          }
          if (m.cursor[i] < published[i]) {
            std::uint64_t st = 0;
            std::memcpy(&st, p.ring_.get() + (m.cursor[i] & p.mask_) + 8, 8);
            if (best == n || st < best_stamp) {
              best = i;
              best_stamp = st;
              best_heap = false;
            }
          }
          if (heap_seen[i] < heap_ready[i]) {
            const AofProducer::HeapRecord* h = p.heap_.front();
            if (h != nullptr && (best == n || h->stamp < best_stamp)) {
              best = i;
              best_stamp = h->stamp;
              best_heap = true;
            }
          }
        }
        if (best == n || best_stamp >= low) break;
        if (m.iov.size() >= kMaxIov - 1) break;
        AofProducer& p = *producers_[best];
        if (best_heap) {
          const AofProducer::HeapRecord h = *p.heap_.front();
          p.heap_.release();
          ++heap_seen[best];
          p.heap_taken_.store(heap_seen[best], std::memory_order_release);
          m.iov.push_back(iovec{h.bytes, h.len});
          m.heap_owned.push_back(h.bytes);
        } else {
          const char* e = p.ring_.get() + (m.cursor[best] & p.mask_);
          std::uint32_t entry = 0, len = 0;
          std::memcpy(&entry, e, 4);
          std::memcpy(&len, e + 4, 4);
          if (m.buf_len + len > m.buf_cap) break;
          char* dst = m.buf.get() + m.buf_len;
          std::memcpy(dst, e + AofProducer::kEntryHeader, len);
          if (!m.iov.empty() && static_cast<char*>(m.iov.back().iov_base) + m.iov.back().iov_len == dst) {
            m.iov.back().iov_len += len;
          } else {
            m.iov.push_back(iovec{dst, len});
          }
          m.buf_len += len;
          m.cursor[best] += entry;
        }
        ++m.batch_records[best];
      }
      // The ring space is free again once copied (the batch keeps the bytes until written).
      for (std::size_t i = 0; i < n; ++i) producers_[i]->consumed_.store(m.cursor[i], std::memory_order_release);
    }

    if (backoff_ms != 0) sleep_ms(backoff_ms);

    // 3. Write the batch (again, after a failure) at the end of the segment.
    std::uint64_t batch_bytes = 0;
    for (const iovec& v : m.iov) batch_bytes += v.iov_len;
    if (batch_bytes != 0) {
      std::vector<iovec>& iov = m.iov;
      std::vector<iovec> again(iov);  // write_fully advances its copy over short writes
      const int rc = write_fully(&m.uring, m.fd, again.data(), again.size(), m.offset);
      if (rc < 0) {
        fail(write_err, write_failure(-rc));
      } else {
        ok(write_err);
        bool synced = true;
        if (fsync() == FsyncPolicy::kAlways) {
          m.unsynced_bytes += batch_bytes;
          synced = sync();  // group commit: every worker's records of this batch at once
        }
        if (synced) {
          m.offset += batch_bytes;
          if (fsync() != FsyncPolicy::kAlways) m.unsynced_bytes += batch_bytes;
          Impl::bump(m.bytes_written, batch_bytes);
          std::uint64_t recs = 0;
          for (std::size_t i = 0; i < n; ++i) {
            m.in_file[i] += m.batch_records[i];
            recs += m.batch_records[i];
            m.batch_records[i] = 0;
          }
          Impl::bump(m.records, recs);
          m.seg_bytes.store(m.offset, std::memory_order_relaxed);
          for (char* b : m.heap_owned) delete[] b;
          m.heap_owned.clear();
          iov.clear();
          if (fsync() != FsyncPolicy::kEverysec) publish();
          idle_turns = 0;
          m.last_write = std::chrono::steady_clock::now();
        }
      }
    }

    // 4. everysec: one fdatasync at most a second (retried at once after a failed one, with the
    // back-off); then the positions are durable.
    if (m.iov.empty() && fsync() == FsyncPolicy::kEverysec && m.unsynced_bytes != 0 &&
        (final_pass || sync_err != nullptr || monotonic_ms() - m.last_sync_ms >= 1000)) {
      if (sync()) publish();
    }
    // Whatever policy: no position may stay behind a synced file (a policy switched from
    // everysec to always or no publishes here).
    if (m.iov.empty() && m.unsynced_bytes == 0) publish();

    // 5. Rotation once the segment is full.
    if (m.iov.empty() && m.offset >= options_.segment_bytes) rotate();

    // 6. A rewrite's request (a new segment now, or a new base in the manifest), between batches.
    if (m.iov.empty() && m.request.load(std::memory_order_acquire)) {
      std::lock_guard lock(m.request_mu);
      if (m.req_kind == Impl::Request::kRotate) {
        m.req_error = rotate() ? "" : (sync_err != nullptr ? sync_err : kSegmentFailure);
        m.req_seq = m.seq;
      } else {
        Manifest next = m.manifest;
        next.generation += 1;
        next.snapshot = m.req_snapshot;
        std::erase_if(next.segments, [&](std::uint64_t seq) { return seq < m.req_first; });
        m.req_error = check_manifest(next);
        if (m.req_error.empty()) m.req_error = store_manifest(options_.dir, next);
        if (m.req_error.empty()) m.manifest = std::move(next);
      }
      m.request.store(false, std::memory_order_release);
      m.request_done.notify_all();
    }

    const char* f = failure_.load(std::memory_order_relaxed);
    wake_all(f == failure_shown);
    failure_shown = f;

    if (final_pass && m.iov.empty()) {
      // Done once every ring is empty and the file synced (unless the policy is no).
      bool empty = true;
      for (std::size_t i = 0; i < n; ++i) {
        AofProducer& p = *producers_[i];
        if (m.cursor[i] != p.published_.load(std::memory_order_acquire) ||
            p.heap_taken_.load(std::memory_order_relaxed) != p.heap_published_.load(std::memory_order_acquire)) {
          empty = false;
        }
      }
      if (empty && m.unsynced_bytes != 0) {  // a clean stop syncs whatever the policy
        if (sync()) publish();
        wake_all(true);
        if (m.unsynced_bytes != 0) continue;
      }
      if (empty) break;
      continue;
    }
    if (batch_bytes == 0 && backoff_ms == 0) {
      // Nothing to write: poll again soon (workers never enter the kernel to wake this thread).
      ++idle_turns;
      const auto us = idle_turns < 20 ? 20 : idle_turns < 200 ? 100 : (fsync() == FsyncPolicy::kAlways ? 200 : 1000);
      std::this_thread::sleep_for(std::chrono::microseconds(us));
    }
  }
  // A request posted before the stop was seen is answered (askers check `stopping` first).
  std::lock_guard lock(m.request_mu);
  if (m.request.load(std::memory_order_acquire)) {
    m.req_error = "append-only file: stopped";
    m.request.store(false, std::memory_order_release);
    m.request_done.notify_all();
  }
}

}  // namespace ferrite::persist

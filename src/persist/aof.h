// The append-only file at run time (docs/persistence.md, "Append-only file"): every worker's
// store mutations become records (persist/record.h) in the worker's own byte ring
// (AofProducer, the store's MutationObserver and the worker's Durability), and one persistence
// thread (AofWriter) merges the rings in the store's order into large io_uring writes to the
// current segment (persist/segment.h), rotates segments, updates the manifest and fsyncs by
// policy.
//
//   persist::AofWriter aof(options, store);     // options.workers producers
//   std::string err = aof.start();             // opens the folder, a new segment, the thread
//   worker i: ctx.set_observer(&aof.producer(i)); engine parks on aof.durability(i);
//             every loop turn aof.producer(i).tick(); idle()/busy() around its sleeps
//   aof.stop();                                 // after the workers: drains, fsyncs, joins
//
// A worker never allocates (but for the rare slow path below), locks, or enters the kernel for
// the file: on_mutation() copies the record into the ring, tick() publishes one word.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/durability.h"
#include "core/loop_hook.h"
#include "core/spsc_ring.h"
#include "store/store.h"

namespace ferrite::persist {

enum class FsyncPolicy : std::uint8_t { kAlways, kEverysec, kNo };  // persist.fsync's choices, in order
const char* fsync_policy_name(FsyncPolicy p) noexcept;

// How records are put in the store's order across workers (see "Order across workers").
enum class StampSource : std::uint8_t {
  kAuto,     // the time stamp counter when the kernel's clock source is "tsc", else kCounter
  kTsc,      // rdtscp: synchronised across cores (invariant TSC)
  kCounter,  // one shared atomic counter (exact anywhere; one contended cache line per record)
};

struct AofOptions {
  std::string dir;  // the persistence folder (created when missing)
  FsyncPolicy fsync = FsyncPolicy::kEverysec;
  unsigned workers = 1;
  std::size_t ring_bytes = std::size_t{8} << 20;        // per worker, rounded up to a power of two
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;  // rotation size
  std::size_t overflow_slots = 4096;  // per worker: records handed over on the heap (slow path)
  std::size_t write_buffer_bytes = std::size_t{4} << 20;  // the writer's batch
  StampSource stamps = StampSource::kAuto;
};

// Fsync latency histogram bucket bounds, in microseconds (the last bucket is +Inf).
inline constexpr std::uint64_t kFsyncBucketsUs[] = {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000};
inline constexpr std::size_t kFsyncBuckets = sizeof(kFsyncBucketsUs) / sizeof(kFsyncBucketsUs[0]) + 1;

// What /metrics shows (AofWriter::stats()); every field counts since start.
struct AofStats {
  std::uint64_t bytes_written = 0;  // record and header bytes written to segments
  std::uint64_t records = 0;        // records written
  std::uint64_t fsyncs = 0;
  std::uint64_t fsync_us_sum = 0;
  std::uint64_t fsync_buckets[kFsyncBuckets] = {};  // per bucket (not cumulative)
  std::uint64_t ring_drops = 0;     // records dropped on a full ring (everysec/no): the AOF is incomplete
  std::uint64_t ring_tombstones = 0;  // stores and touches written as a delete of their key (a full ring)
  std::uint64_t slow_path = 0;      // records handed over on the heap (large, or a full ring under always)
  std::uint64_t failures = 0;       // failed writes, fsyncs, segment creations
  bool failed = false;              // the last attempt failed and none succeeded since
  bool incomplete = false;          // a record was dropped: the next rewrite/snapshot repairs it
  std::uint64_t segment = 0;        // the current segment's number
  std::uint64_t segment_bytes = 0;  // its size so far
  std::uint64_t rotations = 0;
};

class AofWriter;

// One worker's side. Every method but the Durability waker registration and the writer's reads
// runs on the worker's thread.
class AofProducer final : public store::MutationObserver, public Durability, public LoopHook {
 public:
  AofProducer(AofWriter& writer, unsigned worker, std::size_t ring_bytes, std::size_t overflow_slots,
              std::size_t batch_bytes);
  ~AofProducer() override;
  AofProducer(const AofProducer&) = delete;
  AofProducer& operator=(const AofProducer&) = delete;

  // store::MutationObserver: called under the key's bucket locks, so the record's order stamp
  // is taken there.
  void on_mutation(unsigned context_id, store::MutationKind kind, const store::Item* item) noexcept override;

  // The worker loop's hooks (the order watermark): tick() every loop turn while awake; idle()
  // before the worker may sleep, busy() when it wakes (before it serves anything). A producer
  // starts idle, so a thread that never calls these holds nothing back.
  void tick() noexcept override;
  void idle() noexcept override;
  void busy() noexcept override;

  // ferrite::Durability. Positions count the records this worker handed over.
  std::uint64_t written() const noexcept override { return accepted_; }
  bool durable(std::uint64_t pos) const noexcept override {
    return pos <= durable_.load(std::memory_order_acquire);
  }
  bool wait_for_disk() const noexcept override;
  bool congested() const noexcept override;
  bool failed() const noexcept override;
  const char* failure() const noexcept override;
  void set_waker(Waker* w) noexcept override { waker_.store(w, std::memory_order_release); }

  unsigned worker() const noexcept { return worker_; }
  std::uint64_t drops() const noexcept { return drops_.load(std::memory_order_relaxed); }
  std::uint64_t slow_path() const noexcept { return slow_.load(std::memory_order_relaxed); }
  std::uint64_t tombstones() const noexcept { return tombstones_.load(std::memory_order_relaxed); }

 private:
  friend class AofWriter;
  // A record copied to the heap (larger than a quarter of the ring, or the ring was full).
  struct HeapRecord {
    std::uint64_t stamp = 0;
    char* bytes = nullptr;
    std::uint32_t len = 0;
  };
  // Ring entries: u32 entry bytes (a multiple of 8; bit 31 = padding to the ring's end), u32
  // record bytes, u64 stamp, then the record.
  static constexpr std::size_t kEntryHeader = 16;
  static constexpr std::uint32_t kPadFlag = 0x80000000u;

  std::uint64_t stamp() const noexcept;
  void drop() noexcept;
  // Puts the record in the ring; false (nothing written) when it has no room for it. A
  // `tombstone` is a kDelete of the item's key with version 0 (whatever its version).
  bool push(std::uint64_t stamp, store::MutationKind kind, const store::Item* item, std::size_t size,
            bool tombstone = false) noexcept;
  bool heap_empty() const noexcept;
  // Hands the record over on the heap; false (nothing handed over) when the heap ring is full
  // or the allocation failed.
  bool heap_push(std::uint64_t stamp, const store::Item* item, store::MutationKind kind, std::size_t size) noexcept;
  std::size_t encode_into(char* out, store::MutationKind kind, const store::Item* item,
                          bool tombstone = false) const noexcept;

  AofWriter& writer_;
  const unsigned worker_;
  const std::size_t cap_;   // ring bytes (a power of two)
  const std::size_t mask_;
  const std::size_t max_entry_;  // the largest entry the ring takes (a quarter of it, at most the writer's batch)
  std::unique_ptr<char[]> ring_;
  // Producer side.
  alignas(64) std::uint64_t head_ = 0;       // bytes produced (monotonic)
  std::uint64_t tail_cache_ = 0;            // the consumer's position as last read
  std::uint64_t accepted_ = 0;              // records handed over (written())
  std::atomic<std::uint64_t> drops_{0};
  std::atomic<std::uint64_t> slow_{0};
  std::atomic<std::uint64_t> tombstones_{0};
  alignas(64) std::atomic<std::uint64_t> published_{0};  // head_ as the writer may read it
  alignas(64) std::atomic<std::uint64_t> consumed_{0};   // bytes the writer took
  // The watermark: bit 63 = idle; the rest: every future record of this worker has a stamp >= it.
  alignas(64) std::atomic<std::uint64_t> state_;
  alignas(64) std::atomic<std::uint64_t> durable_{0};
  std::atomic<Waker*> waker_{nullptr};
  SpscRing<HeapRecord> heap_;
  std::atomic<std::uint64_t> heap_published_{0};  // records pushed on the heap ring
  std::atomic<std::uint64_t> heap_taken_{0};      // ... and taken by the writer
};

class AofWriter {
 public:
  // `clock`: deadlines are converted to Unix ms with its to_unix_ms() (partitions share it).
  AofWriter(const AofOptions& options, const store::Store& clock);
  ~AofWriter();
  AofWriter(const AofWriter&) = delete;
  AofWriter& operator=(const AofWriter&) = delete;

  // Creates the folder if needed, reads its manifest (or starts one), creates the next segment
  // and adds it to the manifest, then starts the thread. "" or what failed (naming the file).
  std::string start();
  // Writes everything handed over so far (call once the workers stopped producing), fsyncs,
  // joins the thread. Idempotent. Gives up on a failing disk after `give_up_ms`.
  void stop(std::uint64_t give_up_ms = 10'000);

  // The rewrite's side (a snapshot thread; never a worker: both wait for the writer thread).
  // start_new_segment(): syncs the current segment and starts the next one, named in the
  // manifest; every record handed over after it returns is in that segment or a later one.
  // *seq = the new segment's number. "" or what failed.
  std::string start_new_segment(std::uint64_t* seq);
  // Makes `snapshot` (a file in the folder, "" = none) the manifest's base and drops the
  // segments numbered below `first_segment` from it (their files are the caller's to remove).
  // "" or what failed. The manifest is the writer's while it runs: changes go through here.
  std::string set_base(const std::string& snapshot, std::uint64_t first_segment);

  AofProducer& producer(unsigned worker) noexcept { return *producers_[worker]; }
  Durability& durability(unsigned worker) noexcept { return *producers_[worker]; }
  unsigned workers() const noexcept { return static_cast<unsigned>(producers_.size()); }

  FsyncPolicy fsync() const noexcept { return fsync_.load(std::memory_order_relaxed); }
  // persist.fsync changed live (CONFIG SET appendfsync): applies from the writer's next batch.
  void set_fsync(FsyncPolicy p) noexcept { fsync_.store(p, std::memory_order_relaxed); }

  AofStats stats() const noexcept;
  const std::string& dir() const noexcept { return options_.dir; }
  // The failure now in force (a static string), or nullptr.
  const char* failure() const noexcept { return failure_.load(std::memory_order_acquire); }
  bool tsc_stamps() const noexcept { return tsc_; }

 private:
  friend class AofProducer;
  struct Impl;

  void run() noexcept;
  std::uint64_t now_stamp() const noexcept;
  std::string ask(bool rotate, const std::string& snapshot, std::uint64_t first, std::uint64_t* seq);

  AofOptions options_;
  const store::Store& clock_;
  bool tsc_ = false;
  std::atomic<FsyncPolicy> fsync_;
  std::atomic<const char*> failure_{nullptr};
  std::atomic<bool> incomplete_{false};
  alignas(64) std::atomic<std::uint64_t> counter_{1};  // kCounter stamps
  std::vector<std::unique_ptr<AofProducer>> producers_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferrite::persist

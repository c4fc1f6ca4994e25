#include "persist/recover.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "persist/segment.h"

namespace ferrite::persist {
namespace {

std::uint64_t wall_unix_ms() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// One segment's bytes to apply: data[begin .. end) of the mapped file.
struct Range {
  std::string path;
  std::string_view data;  // the file up to its good end
  std::size_t begin = 0;
};

// Records between quiescent points of an applying thread (ItemViews are not held, but the
// store's reclamation waits for every context's quiescent point).
constexpr std::uint64_t kQuiescentEvery = 256;

}  // namespace

ApplyResult apply_record(store::PartitionedContext& ctx, const store::Store& clock_store, const Record& r,
                         std::uint64_t now_unix_ms) noexcept {
  const bool expired = r.deadline_ms != 0 && r.deadline_ms <= now_unix_ms;
  switch (r.type) {
    case RecordType::kSet: {
      if (expired) {
        ctx.del(r.key);  // an older value of the key must not stay behind
        return ApplyResult::kExpired;
      }
      store::SetRequest req;
      req.flags = r.flags;
      req.type = static_cast<store::ItemType>(r.item_type);
      req.expires_at_ms = r.deadline_ms == 0 ? 0 : clock_store.from_unix_ms(r.deadline_ms);
      req.may_wait = true;  // the applying threads hold no ItemView
      if (ctx.set(r.key, r.value, req).status != store::Status::kOk) {
        ctx.del(r.key);
        return ApplyResult::kRefused;
      }
      return ApplyResult::kApplied;
    }
    case RecordType::kDelete:
      ctx.del(r.key);
      return ApplyResult::kApplied;
    case RecordType::kTouch:
      if (expired) {
        ctx.del(r.key);
        return ApplyResult::kExpired;
      }
      ctx.touch(r.key, r.deadline_ms == 0 ? 0 : clock_store.from_unix_ms(r.deadline_ms));
      return ApplyResult::kApplied;
    case RecordType::kFlush:
      return ApplyResult::kApplied;
  }
  return ApplyResult::kApplied;
}

RecoverResult recover_folder(const std::string& dir, const RecoverOptions& options, store::Partitions& parts,
                             const ProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  RecoverResult res;
  auto finish = [&]() -> RecoverResult {
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
  };
  const std::uint64_t now = options.now_unix_ms != 0 ? options.now_unix_ms : wall_unix_ms();

  FolderVerifyOptions vo;
  vo.truncate_torn_tail = options.truncate_torn_tail;
  vo.load_up_to_damage = options.load_up_to_damage;
  vo.check_snapshot = options.check_snapshot;
  FolderVerifyResult v = verify_folder(dir, vo);
  if (!v.ok) {
    res.error = v.error;
    return finish();
  }
  res.warnings = v.warnings;
  res.lost_bytes = v.lost_bytes;
  res.torn_tail_cut = v.torn_cut;
  res.torn_bytes = v.torn_tail ? v.torn_bytes : 0;
  if (v.manifest_absent) {
    res.empty = true;
    return finish();
  }

  // The last flush that is due cuts: nothing before it is loaded. Flushes after it are not due
  // yet (a delayed flush): the last of them is applied once everything is loaded.
  std::size_t cut_seg = 0;
  std::uint64_t cut_off = 0;
  bool cut = false;
  std::uint64_t pending_flush_at = 0;
  for (std::size_t i = v.segments.size(); i-- > 0 && !cut;) {
    const std::vector<FlushMark>& fl = v.segments[i].flushes;
    for (std::size_t j = fl.size(); j-- > 0;) {
      if (fl[j].at_ms <= now) {
        cut = true;
        cut_seg = i;
        cut_off = fl[j].end;
        res.records_before_flush += fl[j].records;
        break;
      }
      if (pending_flush_at == 0) pending_flush_at = fl[j].at_ms;
    }
  }
  if (cut) {
    for (std::size_t i = 0; i < cut_seg; ++i) res.records_before_flush += v.segments[i].records;
  }

  if (v.snapshot_usable) {
    const std::string path = path_in(dir, v.manifest.snapshot);
    if (cut) {
      res.snapshot_skipped_by_flush = true;
    } else if (!options.load_snapshot) {
      res.error = path + ": offset 0: no snapshot loader was given (cannot load the base snapshot)";
      return finish();
    } else {
      if (std::string why = options.load_snapshot(path, parts); !why.empty()) {
        res.error = why;
        return finish();
      }
      res.snapshot_loaded = true;
    }
  }

  std::vector<MappedFile> files;
  std::vector<Range> ranges;
  std::uint64_t total = 0;
  for (std::size_t i = cut ? cut_seg : 0; i < v.segments.size(); ++i) {
    const SegmentScan& s = v.segments[i];
    if (s.good_end <= kSegmentHeader) continue;  // no records
    Range r;
    r.path = path_in(dir, segment_file_name(s.seq));
    files.emplace_back(r.path);
    if (!files.back().error().empty()) {
      res.error = r.path + ": offset 0: cannot read: " + files.back().error();
      return finish();
    }
    if (files.back().bytes().size() < s.good_end) {
      res.error = r.path + ": offset " + std::to_string(files.back().bytes().size()) +
                  ": the file shrank while it was loaded";
      return finish();
    }
    r.data = files.back().bytes().substr(0, s.good_end);
    r.begin = (cut && i == cut_seg) ? cut_off : kSegmentHeader;
    total += r.data.size() - r.begin;
    ranges.push_back(std::move(r));
  }

  const unsigned n = options.threads == 0 ? 1 : options.threads;
  struct PerThread {
    std::atomic<std::uint64_t> done{0};
    std::uint64_t applied = 0, expired = 0, refused = 0;
    std::string error;
  };
  std::vector<std::unique_ptr<PerThread>> per(n);
  for (auto& p : per) p = std::make_unique<PerThread>();
  std::atomic<unsigned> attached{0}, finished{0};
  std::atomic<bool> attach_failed{false};
  std::mutex mu;
  std::condition_variable cv;
  const store::Store& clock = parts.at(0);

  auto body = [&](unsigned index) {
    PerThread& me = *per[index];
    std::unique_ptr<store::PartitionedContext> ctx;
    try {
      ctx = std::make_unique<store::PartitionedContext>(parts, index % parts.count());
    } catch (const std::exception& e) {
      std::lock_guard lock(mu);
      me.error = std::string("recovery thread cannot attach to the store: ") + e.what();
      attach_failed.store(true);
    }
    attached.fetch_add(1);
    // Nothing is applied unless every thread has its context (each owns a share of the keys).
    while (attached.load() < n) std::this_thread::yield();
    if (ctx && !attach_failed.load()) {
      ctx->set_now(parts.now_ms());
      std::uint64_t since_quiescent = 0, done = 0;
      for (const Range& r : ranges) {
        std::size_t pos = r.begin;
        while (pos < r.data.size()) {
          Record rec;
          std::size_t used = 0;
          if (decode(r.data.substr(pos), &rec, &used) != DecodeStatus::kOk) {
            me.error = r.path + ": offset " + std::to_string(pos) + ": changed while it was loaded";
            break;
          }
          pos += used;
          done += used;
          if (rec.type == RecordType::kFlush || store::make_key(rec.key).hash % n != index) continue;
          switch (apply_record(*ctx, clock, rec, now)) {
            case ApplyResult::kApplied:
              ++me.applied;
              break;
            case ApplyResult::kExpired:
              ++me.expired;
              break;
            case ApplyResult::kRefused:
              ++me.refused;
              break;
          }
          if (++since_quiescent == kQuiescentEvery) {
            since_quiescent = 0;
            me.done.store(done, std::memory_order_relaxed);
            ctx->tick();
            ctx->quiescent();
            ctx->set_now(parts.now_ms());
          }
        }
        if (!me.error.empty()) break;
      }
      me.done.store(done, std::memory_order_relaxed);
      ctx->quiescent();
    }
    ctx.reset();  // detaches
    {
      std::lock_guard lock(mu);
      finished.fetch_add(1);
    }
    cv.notify_all();
  };

  std::vector<std::thread> threads;
  threads.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    try {
      threads.emplace_back(body, i);
    } catch (const std::system_error& e) {
      // The threads started wait for every thread to attach: count the missing ones as
      // attached and failed, so they apply nothing and finish.
      {
        std::lock_guard lock(mu);
        per[i]->error = std::string("cannot start a recovery thread: ") + e.what();
      }
      attach_failed.store(true);
      attached.fetch_add(n - i);
      finished.fetch_add(n - i);
      break;
    }
  }
  {
    std::unique_lock lock(mu);
    std::uint64_t last = ~0ull;
    while (finished.load() < n) {
      cv.wait_for(lock, std::chrono::milliseconds(50));
      if (!progress) continue;
      std::uint64_t sum = 0;
      for (const auto& p : per) sum += p->done.load(std::memory_order_relaxed);
      const std::uint64_t done = sum / n;
      if (done != last) {
        last = done;
        lock.unlock();
        progress(done, total);
        lock.lock();
      }
    }
  }
  for (std::thread& t : threads) t.join();

  for (const auto& p : per) {
    if (!p->error.empty() && res.error.empty()) res.error = p->error;
    res.records_applied += p->applied;
    res.records_expired += p->expired;
    res.records_refused += p->refused;
  }
  if (!res.error.empty()) return finish();
  res.bytes = total;
  if (pending_flush_at != 0) {
    store::PartitionedContext ctx(parts, 0);
    ctx.set_now(parts.now_ms());
    ctx.flush(pending_flush_at - now);
    ctx.quiescent();
  }
  if (res.records_refused != 0) {
    res.warnings.push_back(std::to_string(res.records_refused) +
                           " records not loaded: the store refused their values (memory limit or item size)");
  }
  if (progress) progress(total, total);
  return finish();
}

}  // namespace ferrite::persist

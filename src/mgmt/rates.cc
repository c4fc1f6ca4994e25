#include "mgmt/rates.h"

#include <algorithm>
#include <utility>

#include "store/store.h"

namespace ferrite::mgmt {

Sample take_sample(const engine::Shared& shared, std::uint64_t mono_ms) {
  Sample s;
  s.mono_ms = mono_ms;
  for (const engine::WorkerStats* w : shared.worker_stats) {
    WorkerSample ws;
    if (w != nullptr) {
      for (std::size_t p = 0; p < engine::kProtoCount; ++p) {
        for (std::size_t o = 0; o < engine::kOpCount; ++o) ws.requests += w->requests[p][o].get();
        s.hits += w->hits[p].get();
        s.misses += w->misses[p].get();
      }
      ws.cycles_busy = w->cycles_busy.get();
      ws.cycles_total = w->cycles_total.get();
      ws.connections = w->connections_current.get();
      s.refused += w->connections_refused.get();
      s.bytes_read += w->bytes_read.get();
      s.bytes_written += w->bytes_written.get();
    }
    s.requests += ws.requests;
    s.workers.push_back(ws);
  }
  if (shared.store != nullptr) s.evictions = shared.store->stats().evictions;
  return s;
}

void RateWindow::add(Sample s) {
  samples_.push_back(std::move(s));
  while (samples_.size() > kSeconds + 1) samples_.pop_front();
}

namespace {

double per_second(std::int64_t delta, double seconds) noexcept {
  return seconds > 0 && delta > 0 ? static_cast<double>(delta) / seconds : 0.0;
}

double ratio(std::int64_t part, std::int64_t whole) noexcept {
  if (whole <= 0 || part <= 0) return 0.0;
  return std::min(1.0, static_cast<double>(part) / static_cast<double>(whole));
}

}  // namespace

Rates RateWindow::rates() const {
  Rates r;
  if (samples_.size() < 2) return r;
  const Sample& now = samples_.back();
  const Sample& prev = samples_[samples_.size() - 2];
  const Sample& first = samples_.front();
  const double last_s = static_cast<double>(now.mono_ms - prev.mono_ms) / 1e3;
  const double window_s = static_cast<double>(now.mono_ms - first.mono_ms) / 1e3;
  r.window_seconds = window_s;
  r.ops_per_second = per_second(now.requests - prev.requests, last_s);
  r.evictions_per_second = per_second(now.evictions - prev.evictions, last_s);
  r.evictions_per_second_1m = per_second(now.evictions - first.evictions, window_s);
  r.read_bytes_per_second = per_second(now.bytes_read - prev.bytes_read, last_s);
  r.written_bytes_per_second = per_second(now.bytes_written - prev.bytes_written, last_s);
  const std::int64_t hits = now.hits - first.hits, misses = now.misses - first.misses;
  if (hits + misses > 0) r.hit_ratio_1m = static_cast<double>(hits) / static_cast<double>(hits + misses);
  for (std::size_t i = 0; i < now.workers.size(); ++i) {
    const WorkerSample& w = now.workers[i];
    const WorkerSample p = i < prev.workers.size() ? prev.workers[i] : WorkerSample{};
    const WorkerSample f = i < first.workers.size() ? first.workers[i] : WorkerSample{};
    r.worker_ops_per_second.push_back(per_second(w.requests - p.requests, last_s));
    r.worker_busy_ratio.push_back(ratio(w.cycles_busy - p.cycles_busy, w.cycles_total - p.cycles_total));
    r.worker_busy_ratio_1m.push_back(ratio(w.cycles_busy - f.cycles_busy, w.cycles_total - f.cycles_total));
  }
  return r;
}

}  // namespace ferrite::mgmt

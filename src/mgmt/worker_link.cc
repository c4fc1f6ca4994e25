#include "mgmt/worker_link.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace ferrite::mgmt {

WorkerLink::WorkerLink(engine::Shared& shared, std::chrono::milliseconds timeout)
    : shared_(shared), timeout_(timeout) {}

WorkerLink::~WorkerLink() = default;

std::vector<Ask> WorkerLink::for_all(engine::ControlRequest::Kind kind) const {
  std::vector<Ask> asks;
  for (unsigned w = 0; w < workers(); ++w) {
    Ask a{w, std::make_unique<engine::ControlRequest>()};
    a.request->kind = kind;
    asks.push_back(std::move(a));
  }
  return asks;
}

namespace {

std::string list_workers(const std::vector<unsigned>& ids) {
  std::string s = ids.size() == 1 ? "worker " : "workers ";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) s += i + 1 == ids.size() ? " and " : ", ";
    s += std::to_string(ids[i]);
  }
  return s;
}

}  // namespace

std::string WorkerLink::run(std::vector<Ask>& asks, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = timeout_;
  collect();
  if (shared_.controls.empty()) return "the workers have no management link";
  std::vector<unsigned> full;
  std::vector<bool> posted(asks.size(), false);
  for (std::size_t i = 0; i < asks.size(); ++i) {
    Ask& a = asks[i];
    engine::WorkerControl* c = a.worker < shared_.controls.size() ? shared_.controls[a.worker] : nullptr;
    if (c == nullptr) return "no worker " + std::to_string(a.worker);
    a.request->done.store(false, std::memory_order_relaxed);
    if (c->inbox.push(a.request.get())) {
      posted[i] = true;
    } else {
      full.push_back(a.worker);
    }
  }
  // Wait for what was posted (even when some inbox was full: those requests are in flight).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < asks.size(); ++i) {
      if (posted[i] && !asks[i].request->done.load(std::memory_order_acquire)) all = false;
    }
    if (all || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::vector<unsigned> late;
  for (std::size_t i = 0; i < asks.size(); ++i) {
    if (!posted[i] || asks[i].request->done.load(std::memory_order_acquire)) continue;
    late.push_back(asks[i].worker);
    abandoned_.push_back(std::move(asks[i].request));
  }
  std::string error;
  if (!late.empty()) {
    error = list_workers(late) + " did not answer within " + std::to_string(timeout.count()) + " ms";
  }
  if (!full.empty()) {
    if (!error.empty()) error += "; ";
    error += list_workers(full) + ": request queue full (a worker is not serving its inbox)";
  }
  return error;
}

void WorkerLink::collect() {
  std::erase_if(abandoned_, [](const std::unique_ptr<engine::ControlRequest>& r) {
    return r->done.load(std::memory_order_acquire);
  });
}

}  // namespace ferrite::mgmt

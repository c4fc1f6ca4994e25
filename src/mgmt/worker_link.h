// Requests from the management thread to the workers, through each worker's SPSC inbox
// (engine/control.h): post, then wait for the `done` flags with a bound. A worker that does not
// answer in time is named in the error; its request stays owned here (the worker may still write
// into it) and is freed once it is done, or when this object is destroyed, which must therefore
// happen after the workers have stopped.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/control.h"
#include "engine/session.h"

namespace ferrite::mgmt {

struct Ask {
  unsigned worker = 0;
  std::unique_ptr<engine::ControlRequest> request;  // null after a timeout
};

class WorkerLink {
 public:
  WorkerLink(engine::Shared& shared, std::chrono::milliseconds timeout);
  ~WorkerLink();
  WorkerLink(const WorkerLink&) = delete;
  WorkerLink& operator=(const WorkerLink&) = delete;

  unsigned workers() const noexcept { return static_cast<unsigned>(shared_.controls.size()); }

  // One request of `kind` for every worker (limit and scan fields at their defaults).
  std::vector<Ask> for_all(engine::ControlRequest::Kind kind) const;

  // Posts every request and waits until all are answered or the timeout passes. Returns "" or
  // the error: "worker 1 did not answer within 1000 ms" (several workers are listed together),
  // or "worker 0: its request queue is full". Requests not answered are moved out of `asks`.
  // `timeout` (0: the link's own) bounds the wait.
  std::string run(std::vector<Ask>& asks, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // Frees abandoned requests the workers have answered since.
  void collect();
  std::size_t abandoned() const noexcept { return abandoned_.size(); }

 private:
  engine::Shared& shared_;
  std::chrono::milliseconds timeout_;
  std::vector<std::unique_ptr<engine::ControlRequest>> abandoned_;
};

}  // namespace ferrite::mgmt

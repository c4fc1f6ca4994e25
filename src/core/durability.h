// What a worker needs to know about the durability of its own writes, without knowing how they
// become durable: src/persist implements it (the append-only file), the engine parks replies on
// it. One instance per worker; every method but wake-up registration is called on that worker's
// thread, and none blocks.
#pragma once

#include <cstdint>

namespace ferrite {

class Durability {
 public:
  // Called by the persistence side, from its own thread, when positions became durable or the
  // failure state changed: the worker should look again (it may be asleep in its ring).
  class Waker {
   public:
    virtual void wake() noexcept = 0;

   protected:
    ~Waker() = default;
  };

  virtual ~Durability() = default;

  // This worker's position: grows with every mutation it handed over (0: none yet).
  virtual std::uint64_t written() const noexcept = 0;
  // True once everything this worker handed over up to `pos` is on disk as the policy requires.
  virtual bool durable(std::uint64_t pos) const noexcept = 0;
  // Replies to writes must wait for durable() (fsync = always).
  virtual bool wait_for_disk() const noexcept = 0;
  // The persistence side cannot take more of this worker's mutations now (its ring is full).
  // Under wait_for_disk() the worker must stop executing writes until it clears.
  virtual bool congested() const noexcept = 0;
  // The last write or fsync failed (ENOSPC, EIO, ...) and has not succeeded since: under
  // wait_for_disk(), writes get an error reply instead of an acknowledgement; `failure()` is the
  // reason, for that reply (a static string).
  virtual bool failed() const noexcept = 0;
  virtual const char* failure() const noexcept = 0;
  // Registers the worker's waker (before the worker runs; nullptr to remove it).
  virtual void set_waker(Waker* w) noexcept = 0;
};

}  // namespace ferrite

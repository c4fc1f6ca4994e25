// What a worker loop tells a component that must follow its turns (the append-only file's order
// watermark, docs/persistence.md): one call per loop turn while awake, and one before and after
// each sleep. Called on the worker's thread; none may block.
#pragma once

namespace ferrite {

class LoopHook {
 public:
  // A loop turn ended (every request of it was served).
  virtual void tick() noexcept = 0;
  // The worker may sleep now (it serves nothing until busy()).
  virtual void idle() noexcept = 0;
  // The worker woke up and is about to serve.
  virtual void busy() noexcept = 0;

 protected:
  ~LoopHook() = default;
};

}  // namespace ferrite

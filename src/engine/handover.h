// The handover between partitions: when a datagram's key belongs to another partition (another
// NUMA node's table), the worker that received it copies it into a ring to one worker of that
// partition, which runs it against its local table and sends the replies through its own driver
// (its own NIC queue; the datagram's Endpoint says how to reach the peer).
//
// Each worker hands over to exactly one worker of every other partition (spread evenly), so a
// worker produces into P - 1 rings and every ring has one producer and one consumer (SpscRing):
// no lock, no allocation, and a datagram is copied once into its slot. A full ring, or a
// datagram larger than a slot, is served where it landed instead (remote memory, same answer).
//
// Only busy-polling workers hand over: a sleeping worker would leave a handed-over datagram
// waiting up to its sleep. DPDK workers always busy-poll.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/io.h"
#include "core/spsc_ring.h"
#include "store/store.h"

namespace ferrite::engine {

struct HandedDatagram {
  static constexpr std::size_t kMaxBytes = 2048;  // a jumbo-free Ethernet payload fits
  std::uint16_t tag = 0;       // the listener
  bool fast_path = false;      // answer through the fast-path driver (else the kernel driver)
  std::uint16_t len = 0;
  // The first key as the producer hashed it (its bytes are in `data`): not hashed again.
  std::uint16_t key_offset = 0;
  std::uint16_t key_len = 0;
  std::uint64_t key_hash = 0;
  io::Endpoint peer;
  char data[kMaxBytes];
};

// A handed-over datagram's first key, with the hash its producer computed.
inline store::KeyRef handed_key(const HandedDatagram& d) noexcept {
  return {std::string_view(d.data + d.key_offset, d.key_len), d.key_hash};
}

class Handover {
 public:
  using Ring = SpscRing<HandedDatagram>;

  // partition_of_worker[w] is worker w's home partition; every partition must have a worker.
  Handover(std::vector<unsigned> partition_of_worker, unsigned partitions, std::size_t ring_slots = 256)
      : part_(std::move(partition_of_worker)), partitions_(partitions) {
    const auto workers = static_cast<unsigned>(part_.size());
    members_.resize(partitions_);
    for (unsigned w = 0; w < workers; ++w) {
      if (part_[w] >= partitions_) throw std::invalid_argument("handover: partition out of range");
      rank_.push_back(static_cast<unsigned>(members_[part_[w]].size()));
      members_[part_[w]].push_back(w);
    }
    for (unsigned p = 0; p < partitions_; ++p) {
      if (members_[p].empty()) {
        throw std::invalid_argument("server.partitions: partition " + std::to_string(p) + " has no worker");
      }
    }
    out_.resize(workers);
    in_.resize(workers);
    for (unsigned w = 0; w < workers; ++w) {
      out_[w].resize(partitions_, nullptr);
      for (unsigned p = 0; p < partitions_; ++p) {
        if (p == part_[w]) continue;
        const unsigned to = target(w, p);
        rings_.push_back(std::make_unique<Ring>(ring_slots));
        out_[w][p] = rings_.back().get();
        in_[to].push_back(rings_.back().get());
      }
    }
  }
  Handover(const Handover&) = delete;
  Handover& operator=(const Handover&) = delete;

  unsigned partitions() const noexcept { return partitions_; }
  unsigned partition_of_worker(unsigned w) const noexcept { return part_[w]; }
  // The worker of `partition` that worker `from` hands to: the members of each partition are
  // matched by rank, round robin.
  unsigned target(unsigned from, unsigned partition) const noexcept {
    const auto& m = members_[partition];
    return m[rank_[from] % m.size()];
  }
  // Worker `from`'s ring towards `partition` (null for its own).
  Ring* out(unsigned from, unsigned partition) noexcept { return out_[from][partition]; }
  // The rings worker `to` consumes.
  const std::vector<Ring*>& in(unsigned to) noexcept { return in_[to]; }

 private:
  std::vector<unsigned> part_;
  unsigned partitions_;
  std::vector<unsigned> rank_;                  // a worker's index among its partition's workers
  std::vector<std::vector<unsigned>> members_;  // per partition: its workers
  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<std::vector<Ring*>> out_;
  std::vector<std::vector<Ring*>> in_;
};

}  // namespace ferrite::engine

// The fleet as the protocols see it (docs/cluster.md): which node owns a key's slot, read by the
// workers on every keyed request, and the whole map for the admin commands (CLUSTER SLOTS, NODES,
// ...; ferritectl cluster). src/cluster computes and publishes both; the engine only reads them.
//
// Slots are Redis Cluster's: 16384, CRC16 (XMODEM) of the key, or of its hash tag: the part
// between the first '{' and the next '}' when that part is not empty.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite {

inline constexpr std::uint32_t kClusterSlots = 16384;

// CRC16-XMODEM (polynomial 0x1021, initial 0), as Redis Cluster's keyHashSlot uses it.
std::uint16_t crc16_xmodem(std::string_view bytes) noexcept;

// The key's slot: of its hash tag when it has a non-empty one ("{user1000}.following" and
// "{user1000}.followers" share a slot; "{}x" and "x{}" hash the whole key).
std::uint16_t key_hash_slot(std::string_view key) noexcept;

// A node as clients reach it: written once when the node is first published, never changed after
// (a node that comes back on another address is a new entry), so a worker reads it without a lock.
struct ClusterEndpoint {
  static constexpr std::size_t kIpMax = 46;  // INET6_ADDRSTRLEN
  std::array<char, 41> id{};                 // 40 hex digits and a NUL (CLUSTER MYID, NODES)
  std::array<char, kIpMax> ip{};             // numeric, NUL-terminated ("127.0.0.1", "::1")
  std::uint16_t resp_port = 0;               // 0: the node has no RESP listener
  std::uint16_t memcache_port = 0;
  std::uint16_t http_port = 0;
  std::uint16_t binary_port = 0;
  std::uint16_t bus_port = 0;                // gossip (UDP)
  std::uint16_t internal_port = 0;           // forwarding and slot moves between nodes (TCP); 0: none yet

  std::string_view id_view() const noexcept { return {id.data()}; }
  std::string_view ip_view() const noexcept { return {ip.data()}; }
};

// The routing table the workers read on every keyed request: lock-free, no allocation. One writer
// (the cluster thread) updates it in place when the map changes; a reader may see a slot's old or
// new word, never a torn one. Node indexes refer to endpoints appended before the slot words that
// name them were stored (release/acquire), so endpoint(i) of any index read is complete.
class SlotRouting {
 public:
  static constexpr std::uint16_t kNone = 0xFFFF;
  static constexpr std::size_t kMaxEndpoints = 4096;
  static_assert(kMaxEndpoints < kNone);

  // One slot's word, as this node sees it.
  struct Slot {
    std::uint16_t primary = kNone;      // serves reads and writes (MOVED points here)
    std::uint16_t moving_to = kNone;    // set while this node (the primary) streams the slot there (ASK)
    bool self_replica = false;          // this node holds a copy: it serves reads after READONLY
    bool importing = false;             // this node receives the slot: it serves ASKING requests
  };

  SlotRouting();
  SlotRouting(const SlotRouting&) = delete;
  SlotRouting& operator=(const SlotRouting&) = delete;

  // Whether the cluster is on; when it is not, every slot is this node's and nothing is checked.
  bool enabled() const noexcept { return enabled_.load(std::memory_order_acquire); }
  std::uint16_t self() const noexcept { return self_.load(std::memory_order_acquire); }

  Slot slot(std::uint16_t slot) const noexcept { return unpack(words_[slot].load(std::memory_order_acquire)); }
  bool owns(std::uint16_t s) const noexcept { return !enabled() || slot(s).primary == self(); }
  // Endpoint i (i < endpoint_count()).
  const ClusterEndpoint& endpoint(std::uint16_t i) const noexcept { return endpoints_[i]; }
  std::uint16_t endpoint_count() const noexcept { return count_.load(std::memory_order_acquire); }
  // Bumped after every published change (a reader that caches a map compares it).
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  // The writer's side (one thread). add_endpoint returns the entry's index, or kNone when the
  // table is full; set_slot and the others take effect at publish().
  std::uint16_t add_endpoint(const ClusterEndpoint& e) noexcept;
  void set_self(std::uint16_t index) noexcept { self_.store(index, std::memory_order_release); }
  void set_slot(std::uint16_t slot, const Slot& s) noexcept {
    words_[slot].store(pack(s), std::memory_order_release);
  }
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_release); }
  void publish() noexcept { version_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  static std::uint64_t pack(const Slot& s) noexcept {
    return std::uint64_t{s.primary} | (std::uint64_t{s.moving_to} << 16) |
           (std::uint64_t{s.self_replica} << 32) | (std::uint64_t{s.importing} << 33);
  }
  static Slot unpack(std::uint64_t w) noexcept {
    return Slot{static_cast<std::uint16_t>(w), static_cast<std::uint16_t>(w >> 16), ((w >> 32) & 1) != 0,
                ((w >> 33) & 1) != 0};
  }

  std::atomic<bool> enabled_{false};
  std::atomic<std::uint16_t> self_{kNone};
  std::atomic<std::uint16_t> count_{0};
  std::atomic<std::uint64_t> version_{0};
  std::array<std::atomic<std::uint64_t>, kClusterSlots> words_;
  std::array<ClusterEndpoint, kMaxEndpoints> endpoints_{};
};

// The whole map at one moment, for admin commands and the management plane (not the hot path).
struct ClusterSnapshot {
  enum class State : std::uint8_t { kAlive, kSuspect, kDead, kLeft };
  struct Node {
    ClusterEndpoint endpoint;
    State state = State::kAlive;
    bool myself = false;
    std::string zone;
    std::uint32_t weight = 1;
    std::uint64_t incarnation = 0;
    std::uint64_t last_seen_unix_ms = 0;  // last direct or indirect ack (0: never; myself: now)
  };
  struct Range {  // slots [first, last] with the same owners
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    std::vector<std::uint16_t> owners;  // indexes into nodes: the primary, then the replicas
  };
  std::uint64_t epoch = 0;            // the membership view's epoch (converges across live nodes)
  std::uint16_t self = 0;             // index into nodes
  std::uint32_t replicas = 1;         // [cluster] replicas: copies wanted besides the primary
  std::vector<Node> nodes;            // every known member, dead and left ones included
  std::vector<Range> ranges;          // covering all 16384 slots when any node is alive
  std::uint64_t messages_sent = 0;    // gossip packets (CLUSTER INFO's cluster_stats_messages_*)
  std::uint64_t messages_received = 0;
};

class ClusterControl {
 public:
  virtual ~ClusterControl() = default;
  // May take a lock; copies.
  virtual ClusterSnapshot snapshot() const = 0;
};

}  // namespace ferrite

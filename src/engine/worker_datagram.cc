// The worker's datagrams: a poll's events with their burst prefetch, handover to the worker of
// another partition, and the replies of one datagram.
#include "engine/worker_conn.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace ferrite::engine {

// Handles one poll's events in order. The datagrams' first keys are hashed once, up front: for
// the handover, and in a burst of several, to prefetch their buckets and then their items so
// that their cache misses overlap. Keys another partition owns are not prefetched: their
// datagrams go there. A fast path delivers datagrams only.
void Worker::serve_events(const io::Event* events, std::size_t n, io::Driver& from) {
  const bool keyed = n > 1 || handover_ != nullptr;
  if (keyed) {
    for (std::size_t i = 0; i < n; ++i) burst_key_[i] = first_key(events[i], &burst_keys_[i]);
  }
  if (n > 1) {
    for (std::size_t i = 0; i < n; ++i) {
      if (burst_key_[i] == BurstKey::kLocal) ctx_->prefetch(burst_keys_[i]);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (burst_key_[i] == BurstKey::kLocal) ctx_->prefetch_item(burst_keys_[i]);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const io::Event& ev = events[i];
    if (ev.type == io::EventType::kDatagram) {
      const BurstKey kind = keyed ? burst_key_[i] : BurstKey::kNone;
      on_datagram(ev, from, kind, kind != BurstKey::kNone ? &burst_keys_[i] : nullptr);
    } else if (&from == &driver_) {
      handle(ev);
    }
  }
}

Worker::BurstKey Worker::first_key(const io::Event& ev, store::KeyRef* key) const noexcept {
  const DatagramHandler* h = handler_for(ev.tag);
  if (h == nullptr || ev.type != io::EventType::kDatagram || !h->first_key(std::string_view(ev.data, ev.len), key)) {
    return BurstKey::kNone;
  }
  return handover_ != nullptr && ctx_->partition_of(key->hash) != ctx_->home() ? BurstKey::kRemote : BurstKey::kLocal;
}

// `kind` and `key` as first_key() found them (with the handover on, every datagram's were).
void Worker::on_datagram(const io::Event& ev, io::Driver& from, BurstKey kind, const store::KeyRef* key) {
  stats_.datagrams_in.add();
  stats_.bytes_read.add(ev.len);
  if (kind == BurstKey::kRemote && hand_over(ev, &from == fast_path_, *key)) return;
  serve_datagram(ev, from, key);
}

// Copies the datagram into the ring towards its key's partition; false (served here) when the
// ring is full or the datagram does not fit a slot.
bool Worker::hand_over(const io::Event& ev, bool fast_path, const store::KeyRef& key) {
  Handover::Ring* ring = handover_->out(options_.id, ctx_->partition_of(key.hash));
  HandedDatagram* d = ring != nullptr && ev.len <= HandedDatagram::kMaxBytes && ev.peer != nullptr ? ring->claim() : nullptr;
  if (d == nullptr) {
    stats_.handover_full.add();
    return false;
  }
  d->tag = ev.tag;
  d->fast_path = fast_path;
  d->len = static_cast<std::uint16_t>(ev.len);
  d->key_offset = static_cast<std::uint16_t>(key.key.data() - ev.data);
  d->key_len = static_cast<std::uint16_t>(key.key.size());
  d->key_hash = key.hash;
  d->peer = *ev.peer;
  std::memcpy(d->data, ev.data, ev.len);
  ring->publish();
  stats_.datagrams_handed_over.add();
  return true;
}

// Runs what the other partitions' workers handed to this one (a bounded number per iteration).
// As with a poll's burst, the datagrams' buckets and then their items are prefetched first (their
// keys' hashes came with them).
std::size_t Worker::serve_handed_over() {
  constexpr std::size_t kPerRing = 64;
  std::size_t n = 0;
  for (Handover::Ring* ring : handover_->in(options_.id)) {
    const std::size_t ready = std::min(kPerRing, ring->readable());
    if (ready > 1) {
      for (std::size_t i = 0; i < ready; ++i) ctx_->prefetch(handed_key(*ring->peek(i)));
      for (std::size_t i = 0; i < ready; ++i) ctx_->prefetch_item(handed_key(*ring->peek(i)));
    }
    for (std::size_t i = 0; i < ready; ++i) {
      HandedDatagram* d = ring->front();
      if (d == nullptr) break;
      io::Event ev{io::EventType::kDatagram};
      ev.tag = d->tag;
      ev.data = d->data;
      ev.len = d->len;
      ev.peer = &d->peer;
      const store::KeyRef key = handed_key(*d);
      serve_datagram(ev, d->fast_path && fast_path_ != nullptr ? *fast_path_ : driver_, &key);
      ring->release();
      ++n;
    }
  }
  return n;
}

void Worker::serve_datagram(const io::Event& ev, io::Driver& from, const store::KeyRef* key) {
  DatagramHandler* h = handler_for(ev.tag);
  if (h == nullptr || ev.peer == nullptr) {
    stats_.datagrams_dropped.add();
    return;
  }
  datagram_out_.clear();
  exec_->conn_id = 0;  // no connection: stats conns marks none of them as asking
  if (key != nullptr) exec_->first_key = *key;
  const std::size_t factor = shared_.settings.udp_reply_factor;
  const bool bounded =
      factor != 0 && !is_loopback(*ev.peer) && !endpoint_in(*ev.peer, shared_.settings.udp_allow);
  exec_->datagram_reply_bytes = bounded ? factor * ev.len : static_cast<std::size_t>(-1);
  exec_->refresh_gate();
  const std::uint64_t written = durability_ != nullptr ? durability_->written() : 0;
  h->on_datagram(std::string_view(ev.data, ev.len), datagram_out_, *exec_);
  exec_->first_key = {};
  if (durability_ != nullptr && durability_->wait_for_disk() && durability_->written() != written) {
    // fsync = always: a datagram has no connection to park its replies on, and they would
    // acknowledge writes not on disk yet: none is sent (the client retries, as after a loss).
    stats_.datagram_replies_unparked.add(static_cast<std::int64_t>(datagram_out_.count()));
    return;
  }
  if (bounded && datagram_out_.buf.size() > factor * ev.len) {
    stats_.datagrams_dropped.add(static_cast<std::int64_t>(datagram_out_.count()));
    stats_.udp_reflection_drops.add();
    return;
  }
  // Whole or not at all: a reply cut short could never be reassembled.
  if (!from.datagram_room(datagram_out_.count(), datagram_out_.buf.size())) {
    stats_.datagrams_dropped.add(static_cast<std::int64_t>(datagram_out_.count()));
    return;
  }
  for (std::size_t i = 0; i < datagram_out_.count(); ++i) {
    const std::string_view d = datagram_out_.datagram(i);
    if (from.send_datagram(ev.tag, *ev.peer, d.data(), d.size())) {
      stats_.datagrams_out.add();
      stats_.bytes_written.add(static_cast<std::int64_t>(d.size()));
    } else {
      stats_.datagrams_dropped.add();
    }
  }
}

}  // namespace ferrite::engine

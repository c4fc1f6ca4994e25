// RESP's persistence commands over the daemon's snapshot thread (core/persist_control.h; the
// daemon's persist::Snapshotter): SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE (docs/persistence.md,
// "Snapshots in the daemon"). With persist.mode = off there is no snapshot thread: SAVE, BGSAVE
// and BGREWRITEAOF answer an error naming the setting, LASTSAVE the daemon's start.
#include <string>

#include "engine/resp/resp_internal.h"

namespace ferrite::engine::resp {

namespace {

constexpr std::string_view kErrPersistOff =
    "ERR persistence is off (persist.mode = off): there is no folder to save to; set persist.mode to "
    "snapshot, aof or both";

}  // namespace

// SAVE: a snapshot begun after the command, written before the reply. Redis blocks the whole
// server meanwhile; here only this connection's worker waits (out of its loop: the other
// workers, the snapshot's walk and the append-only file go on).
void RespSession::cmd_save(Call& c) {
  PersistControl* p = c.ex.shared.persist;
  if (p == nullptr) {
    c.w.error(kErrPersistOff);
    return;
  }
  const std::string err = c.ex.wait_off_loop([p] { return p->save(); });
  if (!err.empty()) {
    c.w.error("ERR " + err);
    return;
  }
  c.w.simple("OK");
}

// BGSAVE [SCHEDULE]: starts a snapshot on the snapshot thread. SCHEDULE (Redis: wait for an
// AOF rewrite under way) is accepted; here a rewrite is a snapshot, so one under way is the
// "already in progress" error either way.
void RespSession::cmd_bgsave(Call& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !iequals(c.argv[1], "schedule"))) {
    c.w.error(kErrSyntax);
    return;
  }
  PersistControl* p = c.ex.shared.persist;
  if (p == nullptr) {
    c.w.error(kErrPersistOff);
    return;
  }
  const std::string err = p->start_save();
  if (!err.empty()) {
    c.w.error("ERR " + err);
    return;
  }
  c.w.simple("Background saving started");
}

// BGREWRITEAOF: the append-only file's rewrite (a snapshot and a new segment), or scheduled after
// the snapshot under way.
void RespSession::cmd_bgrewriteaof(Call& c) {
  PersistControl* p = c.ex.shared.persist;
  if (p == nullptr) {
    c.w.error(kErrPersistOff);
    return;
  }
  bool scheduled = false;
  const std::string err = p->start_rewrite(&scheduled);
  if (!err.empty()) {
    c.w.error("ERR " + err);
    return;
  }
  c.w.simple(scheduled ? "Background append only file rewriting scheduled"
                       : "Background append only file rewriting started");
}

// LASTSAVE: the Unix time of the last successful snapshot (the daemon's start before any).
void RespSession::cmd_lastsave(Call& c) {
  const PersistControl* p = c.ex.shared.persist;
  const std::uint64_t ms = p != nullptr ? p->status().last_save_unix_ms : c.ex.shared.start_unix_ms;
  c.w.integer(static_cast<std::int64_t>(ms / 1000));
}

}  // namespace ferrite::engine::resp

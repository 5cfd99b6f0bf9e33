// FanotifyGuard: exec/open enforcement through fanotify permission events (FAN_CLASS_CONTENT group,
// FAN_MARK_FILESYSTEM marks), answered by a native responder thread — never the JavaScript event
// loop — from a decision table built by TypeScript (fanotify_table.h). A stuck listener stalls every
// exec on the marked filesystems, so three layers keep it from doing so:
//   1. per event, a decision must be written within responseTimeoutMs of reading it; the responder
//      answers FAN_ALLOW when a fact cannot be read or the deadline passed (counted: timeouts);
//   2. the watchdog thread answers FAN_ALLOW for events whose deadline passed while the responder
//      is busy (timeouts), and when the responder has made no progress for watchdogMs it answers
//      everything it has read and drains the kernel queue itself (watchdogAllows);
//   3. if answering fails, the group is dropped (the fd is replaced by /dev/null with dup3, so its
//      number is never reused under the threads) and the kernel allows everything pending; the
//      guard is then `failed` with a reason.
// Events of our own process are allowed at once and never reported (the responder must not wait on
// itself). The responder never opens a file on a marked filesystem (procfs cannot be marked).
// close() removes the marks, answers FAN_ALLOW to everything read or still queued, then drops the
// group. Known limit of dropping a group (fail-safe path 3, or the agent being killed): a child
// this process forked after the group existed holds a copy of the group fd until its exec passes
// the permission check (FAN_CLOEXEC acts later), so for that child the group is never released and
// it stays blocked until killed. An agent running a guard should not fork+exec binaries on marked
// filesystems itself, or should do so through a helper process started before the guard.
//
// Reports go to JavaScript in batches (one Buffer, records back to back) through a bounded
// thread-safe function; when its queue is full the reports are dropped and counted — decisions never
// wait for JavaScript. Record layout (little-endian; packages/collector/src/fanotify/reports.ts
// mirrors it):
//    0  u32 size         record bytes including the zero padding to a multiple of 8
//    4  u32 ruleId
//    8  u8  event        1 exec, 2 open
//    9  u8  verdict      the answer written: 0 allow, 1 deny
//   10  u8  monitor      1 = the rule would deny but is in monitor mode (verdict is then 0)
//   11  u8  flags        bit 0 uid known, bit 1 exe (dev, ino) known, bit 2 file (dev, ino) known
//   12  u32 pid          tgid of the accessing process
//   16  u32 uid          real uid (from /proc/<pid>/status), 0xffffffff when unknown
//   20  u16 pathLen      file path bytes (readlink of the event fd; may end in " (deleted)")
//   22  u16 exeLen       executable path bytes (readlink /proc/<pid>/exe)
//   24  u64 ktimeNs      CLOCK_MONOTONIC when the event was read
//   32  u64 dev          the file's st_dev, st_ino
//   40  u64 ino
//   48  u64 exeDev       the executable's st_dev, st_ino
//   56  u64 exeIno
//   64  path bytes, exe bytes, zero padding to 8
#pragma once

#include <napi.h>

#include <memory>

namespace peregrine {

struct FanotifyCore;

class FanotifyGuard : public Napi::ObjectWrap<FanotifyGuard> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit FanotifyGuard(const Napi::CallbackInfo& info);
  ~FanotifyGuard() override;

 private:
  Napi::Value Mark(const Napi::CallbackInfo& info);
  Napi::Value Unmark(const Napi::CallbackInfo& info);
  Napi::Value SetTable(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);
  Napi::Value MarkOp(const Napi::CallbackInfo& info, bool add);

  // JS thread or environment teardown. Idempotent.
  void Close();
  static void CleanupHook(void* arg);

  napi_env env_;
  bool open_ = false;
  // Shared with the threads: a responder stuck in the kernel past close() is detached and keeps it.
  std::shared_ptr<FanotifyCore> core_;
};

}  // namespace peregrine

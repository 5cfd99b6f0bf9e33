#include "fanotify_guard.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "errors.h"
#include "fanotify_table.h"

namespace peregrine {

namespace ft = fantable;

namespace {

constexpr size_t kRecordHeaderBytes = 64;
constexpr uint32_t kUnknownUid = 0xffffffffu;
constexpr uint8_t kFlagUid = 1, kFlagExeInode = 2, kFlagFileInode = 4;
constexpr size_t kReadBytes = 16384;
// How long close() waits for a responder stuck in the kernel before leaving it behind (detached).
constexpr auto kJoinGrace = std::chrono::seconds(2);
// Allow-cache ignore marks that pin their inode (kernels before 5.19 lack FAN_MARK_EVICTABLE): at most
// this many, then files are no longer cached (counted in cacheFull).
constexpr uint64_t kMaxPinnedMarks = 16384;

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct ReportBatch {
  uint8_t* data;
  size_t len;
};

void CallJs(Napi::Env env, Napi::Function on_events, std::nullptr_t* /*context*/, ReportBatch* batch) {
  if (env == nullptr || on_events.IsEmpty()) {  // queue drained during teardown
    free(batch->data);
    delete batch;
    return;
  }
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(batch->len));
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::NewOrCopy(
      env, batch->data, batch->len,
      [](Napi::Env fin_env, uint8_t* data, ReportBatch* owner) {
        Napi::MemoryManagement::AdjustExternalMemory(fin_env, -static_cast<int64_t>(owner->len));
        free(data);
        delete owner;
      },
      batch);
  try {
    on_events.Call({buf});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());  // as from a timer callback; the guard keeps running
  }
}

using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, ReportBatch, CallJs>;

// Real uid from /proc/<pid>/status (for reports only).
uint32_t ReadUid(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kUnknownUid;
  char buf[2048];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return kUnknownUid;
  buf[n] = '\0';
  const char* line = strstr(buf, "\nUid:");
  if (line == nullptr) return kUnknownUid;
  char* end;
  unsigned long uid = strtoul(line + 5, &end, 10);
  return end == line + 5 ? kUnknownUid : static_cast<uint32_t>(uid);
}

void Put32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
void Put16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }
void Put64(uint8_t* p, uint64_t v) { memcpy(p, &v, 8); }

}  // namespace

// One permission event read from the group and not yet finished by the responder.
struct Pending {
  int fd;
  pid_t pid;
  uint64_t mask;
  int64_t read_ns;
  int64_t deadline_ns;
  bool answered;  // guarded by FanotifyCore::inflight_mu
};

// Everything the threads share. Owned jointly by the JS object and the threads.
struct FanotifyCore {
  int fan_fd = -1;
  int wake_fd = -1;     // eventfd: wakes the responder out of poll()
  int devnull_fd = -1;  // dup3'd over fan_fd to drop the group without freeing the fd number
  pid_t self_pid = 0;
  int64_t response_timeout_ns = 0;
  int64_t watchdog_ns = 0;
  int64_t debug_stall_ns = 0;
  bool debug_fail_watchdog = false;  // test hook: the watchdog's answers fail (EIO)
  bool allow_cache = true;

  std::mutex table_mu;
  std::shared_ptr<const ft::Table> table;  // null: allow everything
  uint64_t table_gen = 0;                  // guarded by table_mu; bumped by every setTable

  // The allow cache: a file no rule can ever match gets an inode ignore mark for that event kind, so
  // its later opens/execs are not even queued to us (the exec-deny round trip is the cost of every
  // exec otherwise). cache_mu orders adding a mark against setTable's flush: a mark decided under an
  // older table is never added after the flush of the newer one.
  std::mutex cache_mu;
  bool evictable = true;      // guarded by cache_mu
  uint64_t pinned_marks = 0;  // guarded by cache_mu

  std::timed_mutex inflight_mu;
  std::vector<Pending> inflight;

  std::mutex state_mu;
  std::condition_variable state_cv;
  bool stop = false;
  bool failed = false;
  bool group_dropped = false;
  bool responder_done = false;
  std::string reason;

  std::mutex tsfn_mu;
  Tsfn tsfn;
  bool tsfn_alive = true;
  bool tsfn_closing = false;

  std::atomic<bool> in_poll{true};
  std::atomic<int64_t> last_progress_ns{0};

  std::atomic<uint64_t> events{0}, allowed{0}, denied{0}, monitored{0}, reported{0}, dropped_reports{0},
      timeouts{0}, watchdog_allows{0}, cached{0}, cache_flushes{0}, cache_full{0}, cache_failures{0};

  std::thread responder;
  std::thread watchdog;

  // Any thread. Drops the group: the kernel then answers FAN_ALLOW to everything pending.
  void DropGroupLocked() {
    if (group_dropped) return;
    group_dropped = true;
    dup3(devnull_fd, fan_fd, O_CLOEXEC);
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd, &one, sizeof(one));  // poll() holds a reference to the group
    (void)ignored;
  }
  void FailSafe(const std::string& why) {
    std::lock_guard<std::mutex> lock(state_mu);
    if (failed || stop) return;
    failed = true;
    reason = why;
    DropGroupLocked();
    state_cv.notify_all();
  }
  bool Stopping() {
    std::lock_guard<std::mutex> lock(state_mu);
    return stop || failed;
  }

  // Writes the answer for fd; false with *err set on failure. ENOENT means the event is gone (the
  // process was killed while waiting): nothing left to answer.
  bool Answer(int fd, uint32_t response, int* err, bool from_watchdog = false) {
    if (from_watchdog && debug_fail_watchdog) {
      *err = EIO;
      return false;
    }
    struct fanotify_response r = {fd, response};
    if (write(fan_fd, &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) return true;
    *err = errno;
    return *err == ENOENT;
  }

  enum class Answered { kByUs, kAlready, kFailed };
  // Responder: answers in-flight entry i unless the watchdog already did.
  Answered AnswerPending(size_t i, uint32_t response) {
    std::lock_guard<std::timed_mutex> lock(inflight_mu);
    Pending& p = inflight[i];
    if (p.answered) return Answered::kAlready;
    p.answered = true;
    int err = 0;
    if (!Answer(p.fd, response, &err)) {
      failed_write_errno = err;
      return Answered::kFailed;
    }
    return Answered::kByUs;
  }
  int failed_write_errno = 0;

  void RunResponder();
  void ProcessEvent(size_t i, const Pending& p, std::vector<uint8_t>* reports, uint64_t* report_count);
  void Flush(std::vector<uint8_t>* reports, uint64_t* report_count);
  void CacheAllow(int fd, uint64_t mask, uint64_t gen);
  // setTable: swaps the table and drops every allow-cache mark made under the previous one.
  void ReplaceTable(std::shared_ptr<const ft::Table> next);
  void RunWatchdog();
  // Returns whether the responder is stalled.
  bool WatchdogCheck(uint8_t* buf, size_t len);
  void WatchdogDrain(uint8_t* buf, size_t len);
  void Shutdown();
  // close(): FAN_ALLOW for everything read but unanswered and everything still queued.
  void AllowAllPending();
};

void FanotifyCore::RunResponder() {
  alignas(struct fanotify_event_metadata) uint8_t buf[kReadBytes];
  std::vector<uint8_t> reports;
  uint64_t report_count = 0;
  std::vector<Pending> batch;
  struct pollfd pfds[2] = {{fan_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  for (;;) {
    in_poll.store(true);
    if (Stopping()) break;
    int rc = poll(pfds, 2, -1);
    last_progress_ns.store(NowNs());
    in_poll.store(false);
    if (rc < 0) {
      if (errno == EINTR) continue;
      FailSafe(std::string("responder poll: ") + strerror(errno));
      break;
    }
    if (Stopping()) break;
    if ((pfds[0].revents & POLLIN) == 0) {
      if (pfds[0].revents & (POLLERR | POLLNVAL)) {
        FailSafe("responder poll: error condition on the fanotify fd");
        break;
      }
      continue;
    }
    ssize_t n = read(fan_fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;  // the watchdog may have read them
      FailSafe(std::string("responder read: ") + strerror(errno));
      break;
    }
    if (n == 0) break;  // the group was dropped (fd is /dev/null now)
    int64_t now = NowNs();
    batch.clear();
    bool bad_version = false;
    auto* meta = reinterpret_cast<struct fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(meta, n); meta = FAN_EVENT_NEXT(meta, n)) {
      if (meta->vers != FANOTIFY_METADATA_VERSION) {
        bad_version = true;
        break;
      }
      events++;
      if (meta->fd < 0) continue;  // FAN_Q_OVERFLOW carries no fd (permission events never overflow)
      batch.push_back({meta->fd, meta->pid, meta->mask, now, now + response_timeout_ns, false});
    }
    if (bad_version) {
      for (const Pending& p : batch) close(p.fd);
      FailSafe("fanotify metadata version " + std::to_string(meta->vers) + ", expected " +
               std::to_string(FANOTIFY_METADATA_VERSION));
      break;
    }
    {
      std::lock_guard<std::timed_mutex> lock(inflight_mu);
      inflight = batch;
    }
    for (size_t i = 0; i < batch.size(); i++) {
      ProcessEvent(i, batch[i], &reports, &report_count);
      last_progress_ns.store(NowNs());
    }
    {
      std::lock_guard<std::timed_mutex> lock(inflight_mu);
      inflight.clear();
    }
    // Only now: while an entry is in flight its fd number must not be reused.
    for (const Pending& p : batch) close(p.fd);
    Flush(&reports, &report_count);
  }
  Flush(&reports, &report_count);
  std::lock_guard<std::mutex> lock(state_mu);
  responder_done = true;
  state_cv.notify_all();
}

void FanotifyCore::ProcessEvent(size_t i, const Pending& p, std::vector<uint8_t>* reports,
                                uint64_t* report_count) {
  auto answer = [&](uint32_t response) {
    Answered a = AnswerPending(i, response);
    if (a == Answered::kFailed) {
      FailSafe(std::string("write response: ") + strerror(failed_write_errno));
    }
    return a == Answered::kByUs;
  };
  if (p.pid == self_pid) {  // never wait on ourselves
    if (answer(FAN_ALLOW)) allowed++;
    return;
  }
  if (debug_stall_ns > 0) {  // test hook: a responder stuck in /proc
    std::unique_lock<std::mutex> lock(state_mu);
    state_cv.wait_for(lock, std::chrono::nanoseconds(debug_stall_ns), [this] { return stop || failed; });
  }
  std::shared_ptr<const ft::Table> snapshot;
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lock(table_mu);
    snapshot = table;
    gen = table_gen;
  }
  uint8_t kinds[2];
  size_t nkinds = 0;
  if (p.mask & FAN_OPEN_EXEC_PERM) kinds[nkinds++] = ft::kExec;
  if (p.mask & FAN_OPEN_PERM) kinds[nkinds++] = ft::kOpen;

  ft::EventFacts facts(p.fd, p.pid);
  ft::Outcome outcome = ft::Outcome::kNoMatch;
  const ft::Rule* rule = nullptr;
  uint8_t matched_kind = 0;
  if (snapshot) {
    for (size_t k = 0; k < nkinds && outcome == ft::Outcome::kNoMatch; k++) {
      if (!snapshot->HasRulesFor(kinds[k])) continue;
      outcome = snapshot->Evaluate(kinds[k], facts, &rule);
      matched_kind = kinds[k];
    }
  }
  if (outcome == ft::Outcome::kNoMatch) {
    if (!answer(FAN_ALLOW)) return;
    allowed++;
    if (!allow_cache || !snapshot) return;
    uint64_t cache_mask = 0;
    if ((p.mask & FAN_OPEN_EXEC_PERM) && snapshot->FileNeverMatches(ft::kExec, facts)) cache_mask |= FAN_OPEN_EXEC_PERM;
    if ((p.mask & FAN_OPEN_PERM) && snapshot->FileNeverMatches(ft::kOpen, facts)) cache_mask |= FAN_OPEN_PERM;
    if (cache_mask != 0) CacheAllow(p.fd, cache_mask, gen);
    return;
  }
  if (outcome == ft::Outcome::kUndecided) {
    if (answer(FAN_ALLOW)) timeouts++;
    return;
  }
  bool would_deny = rule->verdict == 1;
  bool deny = would_deny && !rule->monitor;
  bool monitor = would_deny && rule->monitor;
  bool want_report = would_deny || rule->report || rule->monitor;
  ft::Inode file_inode{0, 0}, exe_inode{0, 0};
  bool have_file_inode = false, have_exe_inode = false;
  uint32_t uid = kUnknownUid;
  if (want_report) {
    // Before answering: once an exec is allowed /proc/<pid>/exe becomes the new binary, and once a
    // deny is answered the process may exit and be reaped.
    const std::string* ignored;
    have_file_inode = facts.FileInode(&file_inode);
    facts.FilePath(&ignored);
    have_exe_inode = facts.ExeInode(&exe_inode);
    facts.ExePath(&ignored);
    uid = ReadUid(p.pid);
  }
  if (NowNs() >= p.deadline_ns) {
    if (answer(FAN_ALLOW)) timeouts++;
    return;
  }
  if (!answer(deny ? FAN_DENY : FAN_ALLOW)) return;
  if (deny) {
    denied++;
  } else {
    allowed++;
    if (monitor) monitored++;
  }
  if (!want_report) return;
  const std::string& path = facts.file_path();
  const std::string& exe = facts.exe_path();
  size_t path_len = std::min<size_t>(path.size(), 0xffff);
  size_t exe_len = std::min<size_t>(exe.size(), 0xffff);
  size_t size = (kRecordHeaderBytes + path_len + exe_len + 7) & ~static_cast<size_t>(7);
  size_t at = reports->size();
  reports->resize(at + size, 0);
  uint8_t* r = reports->data() + at;
  Put32(r + 0, static_cast<uint32_t>(size));
  Put32(r + 4, rule->id);
  r[8] = matched_kind;
  r[9] = deny ? 1 : 0;
  r[10] = monitor ? 1 : 0;
  r[11] = (uid != kUnknownUid ? kFlagUid : 0) | (have_exe_inode ? kFlagExeInode : 0) |
          (have_file_inode ? kFlagFileInode : 0);
  Put32(r + 12, static_cast<uint32_t>(p.pid));
  Put32(r + 16, uid);
  Put16(r + 20, static_cast<uint16_t>(path_len));
  Put16(r + 22, static_cast<uint16_t>(exe_len));
  Put64(r + 24, static_cast<uint64_t>(p.read_ns));
  Put64(r + 32, file_inode.dev);
  Put64(r + 40, file_inode.ino);
  Put64(r + 48, exe_inode.dev);
  Put64(r + 56, exe_inode.ino);
  memcpy(r + kRecordHeaderBytes, path.data(), path_len);
  memcpy(r + kRecordHeaderBytes + path_len, exe.data(), exe_len);
  (*report_count)++;
}

void FanotifyCore::CacheAllow(int fd, uint64_t mask, uint64_t gen) {
  std::lock_guard<std::mutex> lock(cache_mu);
  {
    std::lock_guard<std::mutex> tl(table_mu);
    if (gen != table_gen) return;  // decided under a table that has been replaced (and flushed)
  }
  if (!evictable && pinned_marks >= kMaxPinnedMarks) {
    cache_full++;
    return;
  }
  // An ignore mask without FAN_MARK_IGNORED_SURV_MODIFY: a write to the file drops it.
  unsigned flags = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;
  int rc = fanotify_mark(fan_fd, flags | (evictable ? FAN_MARK_EVICTABLE : 0), mask, fd, nullptr);
  if (rc != 0 && errno == EINVAL && evictable) {  // before 5.19: marks pin their inode
    evictable = false;
    rc = fanotify_mark(fan_fd, flags, mask, fd, nullptr);
  }
  if (rc != 0) {
    cache_failures++;
    return;
  }
  cached++;
  if (!evictable) pinned_marks++;
}

void FanotifyCore::ReplaceTable(std::shared_ptr<const ft::Table> next) {
  std::lock_guard<std::mutex> lock(cache_mu);
  {
    std::lock_guard<std::mutex> tl(table_mu);
    table.swap(next);
    table_gen++;
  }
  // Every inode mark of the group is an allow-cache mark (the watches are filesystem marks).
  if (fanotify_mark(fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, nullptr) == 0) cache_flushes++;
  pinned_marks = 0;
}

void FanotifyCore::Flush(std::vector<uint8_t>* reports, uint64_t* report_count) {
  if (reports->empty()) return;
  uint64_t count = *report_count;
  size_t len = reports->size();
  std::lock_guard<std::mutex> lock(tsfn_mu);
  auto* data = static_cast<uint8_t*>(tsfn_alive && !tsfn_closing ? malloc(len) : nullptr);
  napi_status status = napi_generic_failure;
  ReportBatch* batch = nullptr;
  if (data != nullptr) {
    memcpy(data, reports->data(), len);
    batch = new ReportBatch{data, len};
    status = tsfn.NonBlockingCall(batch);
  }
  if (status == napi_ok) {
    reported += count;
  } else {
    if (status == napi_closing) tsfn_closing = true;
    free(data);
    delete batch;
    dropped_reports += count;
  }
  reports->clear();
  *report_count = 0;
}

void FanotifyCore::RunWatchdog() {
  int64_t tick_ns = std::clamp<int64_t>(std::min(response_timeout_ns, watchdog_ns) / 4, 1000000, 50000000);
  struct timespec tick = {static_cast<time_t>(tick_ns / 1000000000), static_cast<long>(tick_ns % 1000000000)};
  alignas(struct fanotify_event_metadata) uint8_t buf[4096];
  bool stalled = false;
  while (!Stopping()) {
    // Wakes every tick; while the responder is stalled also as soon as an event is queued, so a
    // stuck responder costs each later event microseconds rather than a tick.
    struct pollfd pfds[2] = {{wake_fd, POLLIN, 0}, {fan_fd, POLLIN, 0}};
    ppoll(pfds, stalled ? 2 : 1, &tick, nullptr);
    if (Stopping()) break;
    stalled = WatchdogCheck(buf, sizeof(buf));
  }
}

bool FanotifyCore::WatchdogCheck(uint8_t* buf, size_t len) {
  int64_t now = NowNs();
  bool stalled = !in_poll.load() && now - last_progress_ns.load() >= watchdog_ns;
  {
    std::unique_lock<std::timed_mutex> lock(inflight_mu, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::nanoseconds(watchdog_ns))) {
      FailSafe("watchdog: the in-flight list stayed locked for watchdogMs");
      return false;
    }
    for (Pending& p : inflight) {
      if (p.answered) continue;
      bool late = now >= p.deadline_ns;
      if (!late && !stalled) continue;
      p.answered = true;
      int err = 0;
      if (!Answer(p.fd, FAN_ALLOW, &err, true)) {
        lock.unlock();
        FailSafe(std::string("watchdog: write response: ") + strerror(err));
        return false;
      }
      if (late) {
        timeouts++;
      } else {
        watchdog_allows++;
      }
    }
  }
  if (stalled) WatchdogDrain(buf, len);
  return stalled;
}

// The responder is stuck: answer what waits in the kernel queue ourselves, FAN_ALLOW.
void FanotifyCore::WatchdogDrain(uint8_t* buf, size_t len) {
  for (int round = 0; round < 64; round++) {
    ssize_t n = read(fan_fd, buf, len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      FailSafe(std::string("watchdog read: ") + strerror(errno));
      return;
    }
    if (n == 0) return;
    int failed_err = 0;
    auto* meta = reinterpret_cast<struct fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(meta, n); meta = FAN_EVENT_NEXT(meta, n)) {
      if (meta->vers != FANOTIFY_METADATA_VERSION) {
        FailSafe("watchdog: fanotify metadata version " + std::to_string(meta->vers));
        return;  // fds of the rest leak; the group is gone and everything pending allowed
      }
      events++;
      if (meta->fd < 0) continue;
      int err = 0;
      if (Answer(meta->fd, FAN_ALLOW, &err, true)) {
        watchdog_allows++;
      } else {
        failed_err = err;
      }
      close(meta->fd);
    }
    if (failed_err != 0) {
      FailSafe(std::string("watchdog: write response: ") + strerror(failed_err));
      return;
    }
  }
}

void FanotifyCore::Shutdown() {
  // No new events once the marks are gone.
  fanotify_mark(fan_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, nullptr);
  {
    std::lock_guard<std::mutex> lock(state_mu);
    stop = true;
    state_cv.notify_all();
  }
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd, &one, sizeof(one));
  (void)ignored;
  watchdog.join();  // never blocks in the kernel
  std::unique_lock<std::mutex> lock(state_mu);
  bool done = state_cv.wait_for(lock, kJoinGrace, [this] { return responder_done; });
  lock.unlock();
  // Answer whatever is still pending ourselves before dropping the group. Releasing the group
  // makes the kernel allow it too, but a child of ours between fork and exec holds a copy of the
  // group fd (FAN_CLOEXEC acts only once its exec passed the permission check), and for it the
  // release would never come.
  AllowAllPending();
  lock.lock();
  DropGroupLocked();
  lock.unlock();
  if (done) {
    responder.join();
  } else {
    responder.detach();  // stuck in the kernel: it keeps the core (and its fds) alive
  }
  {
    std::lock_guard<std::mutex> tl(tsfn_mu);
    tsfn_alive = false;
    if (!tsfn_closing) tsfn.Release();
  }
  if (done) {
    close(fan_fd);
    close(wake_fd);
    close(devnull_fd);
    fan_fd = wake_fd = devnull_fd = -1;
  }
}

void FanotifyCore::AllowAllPending() {
  std::unique_lock<std::timed_mutex> lock(inflight_mu, std::defer_lock);
  if (lock.try_lock_for(kJoinGrace)) {
    for (Pending& p : inflight) {
      if (p.answered) continue;
      p.answered = true;
      int err = 0;
      if (Answer(p.fd, FAN_ALLOW, &err)) allowed++;
    }
    lock.unlock();
  }
  alignas(struct fanotify_event_metadata) uint8_t buf[4096];
  for (;;) {
    ssize_t n = read(fan_fd, buf, sizeof(buf));
    if (n <= 0) return;  // EAGAIN: empty; 0: the fd is /dev/null (group already dropped)
    auto* meta = reinterpret_cast<struct fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(meta, n); meta = FAN_EVENT_NEXT(meta, n)) {
      if (meta->vers != FANOTIFY_METADATA_VERSION) return;
      events++;
      if (meta->fd < 0) continue;
      int err = 0;
      if (Answer(meta->fd, FAN_ALLOW, &err)) allowed++;
      close(meta->fd);
    }
  }
}

Napi::Function FanotifyGuard::Init(Napi::Env env) {
  return DefineClass(env, "FanotifyGuard",
                     {InstanceMethod<&FanotifyGuard::Mark>("mark"),
                      InstanceMethod<&FanotifyGuard::Unmark>("unmark"),
                      InstanceMethod<&FanotifyGuard::SetTable>("setTable"),
                      InstanceMethod<&FanotifyGuard::Stats>("stats"),
                      InstanceMethod<&FanotifyGuard::CloseJs>("close")});
}

namespace {

int64_t RequiredMs(Napi::Env env, const Napi::Object& opts, const char* key, double min, double max,
                   double fallback) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return static_cast<int64_t>(fallback);
  double d = CheckInteger(env, v, "FanotifyGuard", std::string("opts.") + key, max);
  if (d < min) {
    ThrowInvalidArgument(env, "FanotifyGuard",
                         std::string("opts.") + key + " must be at least " + std::to_string(static_cast<int64_t>(min)));
  }
  return static_cast<int64_t>(d);
}

}  // namespace

FanotifyGuard::FanotifyGuard(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<FanotifyGuard>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  const std::string op = "FanotifyGuard";
  if (info.Length() < 1 || !info[0].IsFunction()) ThrowInvalidArgument(env, op, "onEvents must be a function");
  Napi::Function on_events = info[0].As<Napi::Function>();
  Napi::Object opts = Napi::Object::New(env);
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsObject()) ThrowInvalidArgument(env, op, "opts must be an object");
    opts = info[1].As<Napi::Object>();
  }
  auto core = std::make_shared<FanotifyCore>();
  core->response_timeout_ns = RequiredMs(env, opts, "responseTimeoutMs", 1, 600000, 250) * 1000000;
  core->watchdog_ns = RequiredMs(env, opts, "watchdogMs", 1, 600000, 1000) * 1000000;
  size_t max_queued = static_cast<size_t>(RequiredMs(env, opts, "maxQueuedBatches", 1, 1 << 20, 64));
  core->debug_stall_ns = RequiredMs(env, opts, "debugStallMs", 0, 600000, 0) * 1000000;
  Napi::Value fail_watchdog = opts.Get("debugFailWatchdog");
  if (!fail_watchdog.IsUndefined() && !fail_watchdog.IsBoolean()) {
    ThrowInvalidArgument(env, op, "opts.debugFailWatchdog must be a boolean");
  }
  core->debug_fail_watchdog = fail_watchdog.IsBoolean() && fail_watchdog.As<Napi::Boolean>().Value();
  Napi::Value allow_cache = opts.Get("allowCache");
  if (!allow_cache.IsUndefined() && !allow_cache.IsBoolean()) {
    ThrowInvalidArgument(env, op, "opts.allowCache must be a boolean");
  }
  core->allow_cache = !allow_cache.IsBoolean() || allow_cache.As<Napi::Boolean>().Value();
  core->self_pid = getpid();

  core->fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (core->fan_fd < 0) ThrowBpfError(env, op, "fanotify_init(FAN_CLASS_CONTENT)", errno, nullptr);
  core->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  core->devnull_fd = core->wake_fd < 0 ? -1 : open("/dev/null", O_RDWR | O_CLOEXEC);
  if (core->wake_fd < 0 || core->devnull_fd < 0) {
    int err = errno;
    close(core->fan_fd);
    if (core->wake_fd >= 0) close(core->wake_fd);
    ThrowBpfError(env, op, core->wake_fd < 0 ? "eventfd" : "open /dev/null", err, nullptr);
  }
  core->tsfn = Tsfn::New(env, on_events, "peregrine.FanotifyGuard", max_queued, 1);
  core->last_progress_ns.store(NowNs());
  core_ = core;
  core->responder = std::thread([core] { core->RunResponder(); });
  core->watchdog = std::thread([core] { core->RunWatchdog(); });
  napi_add_env_cleanup_hook(env_, &FanotifyGuard::CleanupHook, this);
  open_ = true;
  Ref();  // an open guard must not be collected: its marks enforce until close()
}

FanotifyGuard::~FanotifyGuard() { Close(); }

void FanotifyGuard::CleanupHook(void* arg) { static_cast<FanotifyGuard*>(arg)->Close(); }

void FanotifyGuard::Close() {
  if (!open_) return;
  open_ = false;
  core_->Shutdown();
  napi_remove_env_cleanup_hook(env_, &FanotifyGuard::CleanupHook, this);
}

Napi::Value FanotifyGuard::CloseJs(const Napi::CallbackInfo& info) {
  if (open_) {
    Close();
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value FanotifyGuard::Mark(const Napi::CallbackInfo& info) { return MarkOp(info, true); }
Napi::Value FanotifyGuard::Unmark(const Napi::CallbackInfo& info) { return MarkOp(info, false); }

Napi::Value FanotifyGuard::MarkOp(const Napi::CallbackInfo& info, bool add) {
  Napi::Env env = info.Env();
  const std::string op = add ? "mark" : "unmark";
  std::string path = ArgString(info, 0, op, "path");
  if (info.Length() < 2 || !info[1].IsObject()) ThrowInvalidArgument(env, op, "mask must be an object");
  Napi::Object m = info[1].As<Napi::Object>();
  Napi::Value exec = m.Get("exec"), open = m.Get("open");
  if (!exec.IsBoolean() || !open.IsBoolean()) {
    ThrowInvalidArgument(env, op, "mask.exec and mask.open must be booleans");
  }
  uint64_t mask = (exec.As<Napi::Boolean>().Value() ? FAN_OPEN_EXEC_PERM : 0) |
                  (open.As<Napi::Boolean>().Value() ? FAN_OPEN_PERM : 0);
  if (mask == 0) ThrowInvalidArgument(env, op, "mask selects neither exec nor open");
  std::string what = std::string(add ? "mark" : "unmark") + " filesystem of '" + path + "'";
  struct statfs sfs;
  if (statfs(path.c_str(), &sfs) != 0) ThrowBpfError(env, op, what, errno, nullptr, "statfs");
  if (sfs.f_type == PROC_SUPER_MAGIC) {
    // The responder reads /proc for every decision: waiting on itself would deadlock.
    ThrowBpfError(env, op, what, EINVAL, nullptr, "procfs cannot be marked");
  }
  std::lock_guard<std::mutex> lock(core_->state_mu);
  if (!open_ || core_->stop) ThrowBpfError(env, op, what, EBADF, nullptr, "the guard is closed");
  if (core_->failed) ThrowBpfError(env, op, what, EIO, nullptr, "the guard failed: " + core_->reason);
  unsigned flags = (add ? FAN_MARK_ADD : FAN_MARK_REMOVE) | FAN_MARK_FILESYSTEM;
  if (fanotify_mark(core_->fan_fd, flags, mask, AT_FDCWD, path.c_str()) != 0) {
    ThrowBpfError(env, op, what, errno, nullptr,
                  mask == FAN_OPEN_EXEC_PERM ? "FAN_OPEN_EXEC_PERM"
                  : mask == FAN_OPEN_PERM    ? "FAN_OPEN_PERM"
                                             : "FAN_OPEN_EXEC_PERM|FAN_OPEN_PERM");
  }
  return env.Undefined();
}

Napi::Value FanotifyGuard::SetTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> buf = ArgBuffer(info, 0, "setTable", "table");
  std::string error;
  std::shared_ptr<const ft::Table> table = ft::Table::Parse(buf.Data(), buf.Length(), &error);
  if (!table) ThrowBpfError(env, "setTable", "decision table", EINVAL, nullptr, error);
  if (!open_) ThrowBpfError(env, "setTable", "decision table", EBADF, nullptr, "the guard is closed");
  core_->ReplaceTable(std::move(table));
  return env.Undefined();
}

Napi::Value FanotifyGuard::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FanotifyCore& c = *core_;
  Napi::Object o = Napi::Object::New(env);
  o.Set("events", static_cast<double>(c.events.load()));
  o.Set("allowed", static_cast<double>(c.allowed.load()));
  o.Set("denied", static_cast<double>(c.denied.load()));
  o.Set("monitored", static_cast<double>(c.monitored.load()));
  o.Set("reported", static_cast<double>(c.reported.load()));
  o.Set("droppedReports", static_cast<double>(c.dropped_reports.load()));
  o.Set("timeouts", static_cast<double>(c.timeouts.load()));
  o.Set("watchdogAllows", static_cast<double>(c.watchdog_allows.load()));
  o.Set("cached", static_cast<double>(c.cached.load()));
  o.Set("cacheFlushes", static_cast<double>(c.cache_flushes.load()));
  o.Set("cacheFull", static_cast<double>(c.cache_full.load()));
  o.Set("cacheFailures", static_cast<double>(c.cache_failures.load()));
  std::lock_guard<std::mutex> lock(c.state_mu);
  o.Set("failed", c.failed);
  o.Set("reason", c.reason);
  return o;
}

}  // namespace peregrine

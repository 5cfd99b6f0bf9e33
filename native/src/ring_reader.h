// RingReader: drains one BPF ring buffer on a native thread and hands JavaScript whole batches.
// The BPF side submits with BPF_RB_NO_WAKEUP (a wakeup per record dominates overhead on small
// machines), so the thread polls: every pollIntervalMs it consumes everything available. Records are
// framed [u32 len LE][u32 0][bytes][pad to 8] and a batch goes to JavaScript through a bounded
// thread-safe function when it reaches batchBytes or at the end of a round. The thread never waits
// for JavaScript: when the queue is full the batch is dropped and counted.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

struct ring_buffer;

namespace peregrine {

class RingReader : public Napi::ObjectWrap<RingReader> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RingReader(const Napi::CallbackInfo& info);
  ~RingReader() override;

 private:
  struct Batch {
    uint8_t* data;
    size_t len;
  };
  static void CallJs(Napi::Env env, Napi::Function on_batch, std::nullptr_t* context, Batch* batch);
  using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Batch, CallJs>;

  Napi::Value StopJs(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  // JS thread (or env teardown): final consume, join, release. Safe to call repeatedly.
  void Stop();
  static void CleanupHook(void* arg);

  // Reader thread only.
  void Run();
  void ConsumeRound();
  static int OnRecord(void* ctx, void* data, size_t size);
  void Flush();

  napi_env env_;
  struct ring_buffer* rb_ = nullptr;
  int map_fd_ = -1;  // our own dup: the reader does not depend on the BpfObject staying open
  Tsfn tsfn_;
  std::thread thread_;
  bool running_ = false;  // JS thread only

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_requested_ = false;  // guarded by mu_

  std::chrono::milliseconds poll_interval_{5};
  size_t batch_bytes_ = 256 * 1024;
  std::vector<uint8_t> scratch_;  // reader thread only
  size_t used_ = 0;
  uint64_t pending_records_ = 0;
  bool tsfn_closing_ = false;  // reader thread only: the environment is going away

  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> dropped_batches_{0};
  std::atomic<uint64_t> dropped_records_{0};
};

}  // namespace peregrine

#include "ring_reader.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "addon_data.h"
#include "args.h"
#include "bpf_object.h"
#include "errors.h"

namespace peregrine {
namespace {

constexpr size_t kHeaderBytes = 8;

size_t Padded(size_t n) { return (n + 7) & ~static_cast<size_t>(7); }

// Optional integer option in [min, max], or the default when absent.
double Option(Napi::Env env, const Napi::Object& opts, const char* key, double min, double max,
              double fallback) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return fallback;
  double d = CheckInteger(env, v, "RingReader", std::string("opts.") + key, max);
  if (d < min) {
    ThrowInvalidArgument(env, "RingReader",
                         std::string("opts.") + key + " must be at least " +
                             std::to_string(static_cast<uint64_t>(min)));
  }
  return d;
}

}  // namespace

Napi::Function RingReader::Init(Napi::Env env) {
  return DefineClass(env, "RingReader",
                     {InstanceMethod<&RingReader::StopJs>("stop"),
                      InstanceMethod<&RingReader::Stats>("stats")});
}

RingReader::RingReader(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<RingReader>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  const std::string op = "RingReader";
  if (info.Length() < 1 || !info[0].IsObject() ||
      !info[0].As<Napi::Object>().InstanceOf(GetAddonData(env)->bpf_object_ctor.Value())) {
    ThrowInvalidArgument(env, op, "obj must be a BpfObject");
  }
  BpfObject* obj = BpfObject::Unwrap(info[0].As<Napi::Object>());
  std::string map_name = ArgString(info, 1, op, "mapName");
  if (info.Length() < 3 || !info[2].IsFunction()) {
    ThrowInvalidArgument(env, op, "onBatch must be a function");
  }
  Napi::Function on_batch = info[2].As<Napi::Function>();
  Napi::Object opts = Napi::Object::New(env);
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsObject()) ThrowInvalidArgument(env, op, "opts must be an object");
    opts = info[3].As<Napi::Object>();
  }
  poll_interval_ = std::chrono::milliseconds(
      static_cast<int64_t>(Option(env, opts, "pollIntervalMs", 1, 60000, 5)));
  batch_bytes_ = static_cast<size_t>(Option(env, opts, "batchBytes", 64, 1 << 30, 256 * 1024));
  size_t max_queued = static_cast<size_t>(Option(env, opts, "maxQueuedBatches", 1, 1 << 20, 64));

  struct bpf_map* map = obj->RequireCreatedMap(env, op, map_name);
  if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF) {
    ThrowBpfError(env, op, "read ring buffer map '" + map_name + "'", EINVAL, nullptr,
                  "map type " + std::to_string(bpf_map__type(map)) + " is not BPF_MAP_TYPE_RINGBUF");
  }
  map_fd_ = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0);
  if (map_fd_ < 0) {
    ThrowBpfError(env, op, "read ring buffer map '" + map_name + "'", errno, nullptr, "dup");
  }
  LogCapture log;
  rb_ = ring_buffer__new(map_fd_, &RingReader::OnRecord, this, nullptr);
  if (rb_ == nullptr) {
    int err = errno;
    close(map_fd_);
    map_fd_ = -1;
    ThrowBpfError(env, op, "read ring buffer map '" + map_name + "'", err, &log);
  }
  scratch_.resize(batch_bytes_);
  tsfn_ = Tsfn::New(env, on_batch, "peregrine.RingReader", max_queued, 1);
  // Stops the thread before the environment (and the thread-safe function) is torn down.
  napi_add_env_cleanup_hook(env_, &RingReader::CleanupHook, this);
  running_ = true;
  thread_ = std::thread(&RingReader::Run, this);
  // A running reader must not be collected: the thread uses this object until stop().
  Ref();
}

RingReader::~RingReader() { Stop(); }

void RingReader::CleanupHook(void* arg) { static_cast<RingReader*>(arg)->Stop(); }

void RingReader::Stop() {
  if (!running_) return;
  running_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  thread_.join();  // cannot deadlock: the thread never waits for JavaScript
  ring_buffer__free(rb_);
  rb_ = nullptr;
  close(map_fd_);
  map_fd_ = -1;
  napi_remove_env_cleanup_hook(env_, &RingReader::CleanupHook, this);
}

Napi::Value RingReader::StopJs(const Napi::CallbackInfo& info) {
  if (running_) {
    Stop();
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value RingReader::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("records", static_cast<double>(records_.load()));
  o.Set("batches", static_cast<double>(batches_.load()));
  o.Set("bytes", static_cast<double>(bytes_.load()));
  o.Set("droppedBatches", static_cast<double>(dropped_batches_.load()));
  o.Set("droppedRecords", static_cast<double>(dropped_records_.load()));
  return o;
}

void RingReader::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_requested_) {
    lock.unlock();
    ConsumeRound();
    lock.lock();
    wake_.wait_for(lock, poll_interval_, [this] { return stop_requested_; });
  }
  lock.unlock();
  ConsumeRound();  // records submitted before stop() still reach JavaScript
  if (!tsfn_closing_) tsfn_.Release();
}

void RingReader::ConsumeRound() {
  // Errors here (none expected once the ring is mapped) would only repeat every round; the next
  // round retries, and lost records show up as a gap in whatever sequence the BPF side writes.
  ring_buffer__consume(rb_);
  Flush();
}

int RingReader::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingReader*>(ctx);
  size_t need = kHeaderBytes + Padded(size);
  if (self->used_ > 0 && self->used_ + need > self->batch_bytes_) self->Flush();
  if (self->used_ + need > self->scratch_.size()) self->scratch_.resize(self->used_ + need);
  uint8_t* out = self->scratch_.data() + self->used_;
  uint32_t header[2] = {static_cast<uint32_t>(size), 0};  // x86/arm64 are little-endian
  memcpy(out, header, kHeaderBytes);
  memcpy(out + kHeaderBytes, data, size);
  memset(out + kHeaderBytes + size, 0, need - kHeaderBytes - size);
  self->used_ += need;
  self->pending_records_++;
  return 0;
}

void RingReader::Flush() {
  if (used_ == 0) return;
  size_t len = used_;
  uint64_t records = pending_records_;
  used_ = 0;
  pending_records_ = 0;
  auto* data = static_cast<uint8_t*>(tsfn_closing_ ? nullptr : malloc(len));
  if (data == nullptr) {
    dropped_batches_++;
    dropped_records_ += records;
    return;
  }
  memcpy(data, scratch_.data(), len);
  auto* batch = new Batch{data, len};
  napi_status status = tsfn_.NonBlockingCall(batch);
  if (status == napi_ok) {
    batches_++;
    records_ += records;
    bytes_ += len;
    return;
  }
  // napi_queue_full: JavaScript is behind; napi_closing: the environment is shutting down and the
  // function must not be used again (not even released).
  if (status == napi_closing) tsfn_closing_ = true;
  free(data);
  delete batch;
  dropped_batches_++;
  dropped_records_ += records;
}

void RingReader::CallJs(Napi::Env env, Napi::Function on_batch, std::nullptr_t* /*context*/,
                        Batch* batch) {
  if (env == nullptr || on_batch.IsEmpty()) {  // queue drained during teardown
    free(batch->data);
    delete batch;
    return;
  }
  // Zero-copy hand-off; the memory is reported to V8 so the GC sees the pressure it creates.
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(batch->len));
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::NewOrCopy(
      env, batch->data, batch->len,
      [](Napi::Env fin_env, uint8_t* data, Batch* owner) {
        Napi::MemoryManagement::AdjustExternalMemory(fin_env, -static_cast<int64_t>(owner->len));
        free(data);
        delete owner;
      },
      batch);
  try {
    on_batch.Call({buf});
  } catch (const Napi::Error& e) {
    // Same as a throw inside a timer callback: surfaces as an uncaught exception.
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace peregrine

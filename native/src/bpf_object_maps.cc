// BpfObject: map operations by name. Keys and values are raw bytes checked against the map's sizes
// before the syscall, so a wrong size is a clear EINVAL rather than whatever the kernel makes of it.
#include <bpf/libbpf.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "bpf_object.h"
#include "errors.h"

namespace peregrine {
namespace {

bool IsPerCpu(enum bpf_map_type type) {
  switch (type) {
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return true;
    default:
      return false;
  }
}

// What bpf(BPF_MAP_LOOKUP_ELEM) reads: one 8-byte-aligned slot per possible CPU for per-CPU maps.
size_t ValueBytes(const struct bpf_map* map) {
  size_t size = bpf_map__value_size(map);
  if (!IsPerCpu(bpf_map__type(map))) return size;
  int cpus = libbpf_num_possible_cpus();
  return ((size + 7) & ~static_cast<size_t>(7)) * static_cast<size_t>(cpus > 0 ? cpus : 1);
}

}  // namespace

Napi::Value BpfObject::MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "mapLookup";
  std::string name = ArgString(info, 0, op, "map");
  Napi::Buffer<uint8_t> key = ArgBuffer(info, 1, op, "key");
  struct bpf_map* map = RequireCreatedMap(env, op, name);
  CheckKey(env, op, map, key);
  size_t value_size = ValueBytes(map);
  Napi::Buffer<uint8_t> value = Napi::Buffer<uint8_t>::New(env, value_size);
  LogCapture log;
  int err = bpf_map__lookup_elem(map, key.Data(), key.Length(), value.Data(), value_size, 0);
  if (err == -ENOENT) return env.Null();
  if (err != 0) ThrowBpfError(env, op, "lookup in " + Quoted("map", name), err, &log);
  return value;
}

Napi::Value BpfObject::MapUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "mapUpdate";
  std::string name = ArgString(info, 0, op, "map");
  Napi::Buffer<uint8_t> key = ArgBuffer(info, 1, op, "key");
  Napi::Buffer<uint8_t> value = ArgBuffer(info, 2, op, "value");
  uint64_t flags = static_cast<uint64_t>(
      CheckInteger(env, info.Length() > 3 ? info[3] : env.Undefined(), op, "flags",
                   kMaxSafeInteger));
  struct bpf_map* map = RequireCreatedMap(env, op, name);
  CheckKey(env, op, map, key);
  size_t value_size = ValueBytes(map);
  if (value.Length() != value_size) {
    ThrowBpfError(env, op, "update " + Quoted("map", name), EINVAL, nullptr,
                  "value is " + std::to_string(value.Length()) + " bytes, the map expects " +
                      std::to_string(value_size));
  }
  LogCapture log;
  int err = bpf_map__update_elem(map, key.Data(), key.Length(), value.Data(), value.Length(), flags);
  if (err != 0) ThrowBpfError(env, op, "update " + Quoted("map", name), err, &log);
  return env.Undefined();
}

Napi::Value BpfObject::MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "mapDelete";
  std::string name = ArgString(info, 0, op, "map");
  Napi::Buffer<uint8_t> key = ArgBuffer(info, 1, op, "key");
  struct bpf_map* map = RequireCreatedMap(env, op, name);
  CheckKey(env, op, map, key);
  LogCapture log;
  int err = bpf_map__delete_elem(map, key.Data(), key.Length(), 0);
  if (err == -ENOENT) return Napi::Boolean::New(env, false);
  if (err != 0) ThrowBpfError(env, op, "delete from " + Quoted("map", name), err, &log);
  return Napi::Boolean::New(env, true);
}

Napi::Value BpfObject::MapNextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "mapNextKey";
  std::string name = ArgString(info, 0, op, "map");
  bool from_start = info.Length() < 2 || info[1].IsNull() || info[1].IsUndefined();
  if (!from_start && !info[1].IsBuffer()) {
    ThrowInvalidArgument(env, op, "key must be a Buffer or null");
  }
  struct bpf_map* map = RequireCreatedMap(env, op, name);
  if (!from_start) CheckKey(env, op, map, info[1]);
  size_t key_size = bpf_map__key_size(map);
  const void* current = from_start ? nullptr : info[1].As<Napi::Buffer<uint8_t>>().Data();
  Napi::Buffer<uint8_t> next = Napi::Buffer<uint8_t>::New(env, key_size);
  LogCapture log;
  int err = bpf_map__get_next_key(map, current, next.Data(), key_size);
  if (err == -ENOENT) return env.Null();
  if (err != 0) ThrowBpfError(env, op, "next key in " + Quoted("map", name), err, &log);
  return next;
}

}  // namespace peregrine

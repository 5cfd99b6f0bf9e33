// BpfObject: opening, configuration before load, load, introspection and close. Attach and map
// operations live in bpf_object_attach.cc and bpf_object_maps.cc.
#include "bpf_object.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <climits>
#include <string>

#include "addon_data.h"
#include "args.h"
#include "errors.h"

namespace peregrine {
namespace {

// libbpf loads all programs in one call; its log names the program or map that failed, which makes
// a far better error subject than the object.
std::string LoadFailureSubject(const std::string& log, const std::string& object_name) {
  struct Pattern {
    const char* kind;
    const char* suffix;
  };
  const Pattern patterns[] = {{"prog", "': failed to load"},
                              {"prog", "': BPF program load failed"},
                              {"map", "': failed to create"}};
  for (const auto& p : patterns) {
    size_t at = log.rfind(p.suffix);
    if (at == std::string::npos) continue;
    std::string opener = std::string(p.kind) + " '";
    size_t start = log.rfind(opener, at);
    if (start == std::string::npos) continue;
    start += opener.size();
    std::string name = log.substr(start, at - start);
    if (name.find('\n') != std::string::npos) continue;
    return std::string(p.kind[0] == 'p' ? "load " : "create ") + Quoted(p.kind, name);
  }
  return "load " + Quoted("object", object_name);
}

}  // namespace

Napi::Function BpfObject::Init(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceMethod<&BpfObject::Programs>("programs"),
                         InstanceMethod<&BpfObject::Maps>("maps"),
                         InstanceMethod<&BpfObject::SetAutoload>("setAutoload"),
                         InstanceMethod<&BpfObject::SetMapMaxEntries>("setMapMaxEntries"),
                         InstanceMethod<&BpfObject::Load>("load"),
                         InstanceMethod<&BpfObject::Attach>("attach"),
                         InstanceMethod<&BpfObject::AttachCgroup>("attachCgroup"),
                         InstanceMethod<&BpfObject::AttachUprobe>("attachUprobe"),
                         InstanceMethod<&BpfObject::AttachTracepoint>("attachTracepoint"),
                         InstanceMethod<&BpfObject::IterRead>("iterRead"),
                         InstanceMethod<&BpfObject::MapLookup>("mapLookup"),
                         InstanceMethod<&BpfObject::MapUpdate>("mapUpdate"),
                         InstanceMethod<&BpfObject::MapDelete>("mapDelete"),
                         InstanceMethod<&BpfObject::MapNextKey>("mapNextKey"),
                         InstanceMethod<&BpfObject::Close>("close"),
                         InstanceMethod<&BpfObject::SetAttachTarget>("setAttachTarget"),
                         InstanceMethod<&BpfObject::AttachKprobe>("attachKprobe"),
                         InstanceMethod<&BpfObject::ReuseMap>("reuseMap"),
                     });
}

BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  std::string path = ArgString(info, 0, "open", "path");
  LogCapture log;
  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (obj_ == nullptr) {
    int err = errno;
    ThrowBpfError(info.Env(), "open", "open " + Quoted("object", path), err, &log);
  }
  name_ = bpf_object__name(obj_);
}

BpfObject::~BpfObject() {
  if (obj_ != nullptr) bpf_object__close(obj_);
}

struct bpf_object* BpfObject::RequireOpen(Napi::Env env, const std::string& operation) {
  if (obj_ == nullptr) {
    ThrowBpfError(env, operation, operation + " " + Quoted("object", name_), EBADF, nullptr,
                  "the object is closed");
  }
  return obj_;
}

struct bpf_program* BpfObject::RequireProg(Napi::Env env, const std::string& operation,
                                           const std::string& name) {
  struct bpf_object* obj = RequireOpen(env, operation);
  struct bpf_program* prog = bpf_object__find_program_by_name(obj, name.c_str());
  if (prog == nullptr) {
    ThrowBpfError(env, operation, operation + " " + Quoted("prog", name), ENOENT, nullptr,
                  "no such program in " + Quoted("object", name_));
  }
  return prog;
}

struct bpf_program* BpfObject::RequireLoadedProg(Napi::Env env, const std::string& operation,
                                                 const std::string& name) {
  struct bpf_program* prog = RequireProg(env, operation, name);
  if (bpf_program__fd(prog) < 0) {
    ThrowBpfError(env, operation, operation + " " + Quoted("prog", name), EINVAL, nullptr,
                  "the program is not loaded: load() the object with its autoload on");
  }
  return prog;
}

struct bpf_map* BpfObject::RequireMap(Napi::Env env, const std::string& operation,
                                      const std::string& name) {
  struct bpf_map* map = bpf_object__find_map_by_name(RequireOpen(env, operation), name.c_str());
  if (map == nullptr) {
    ThrowBpfError(env, operation, operation + " " + Quoted("map", name), ENOENT, nullptr,
                  "no such map in " + Quoted("object", name_));
  }
  return map;
}

struct bpf_map* BpfObject::RequireCreatedMap(Napi::Env env, const std::string& operation,
                                             const std::string& name) {
  struct bpf_map* map = RequireMap(env, operation, name);
  if (bpf_map__fd(map) < 0) {
    ThrowBpfError(env, operation, operation + " " + Quoted("map", name), EBADF, nullptr,
                  "the map is not created yet: call load() first");
  }
  return map;
}

void BpfObject::CheckKey(Napi::Env env, const std::string& operation, const struct bpf_map* map,
                         const Napi::Value& key) {
  size_t want = bpf_map__key_size(map);
  size_t got = key.As<Napi::Buffer<uint8_t>>().Length();
  if (got != want) {
    ThrowBpfError(env, operation, operation + " " + Quoted("map", bpf_map__name(map)), EINVAL,
                  nullptr,
                  "key is " + std::to_string(got) + " bytes, the map's keys are " +
                      std::to_string(want));
  }
}

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_object* obj = RequireOpen(env, "programs");
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(prog));
    o.Set("section", bpf_program__section_name(prog));
    o.Set("autoload", bpf_program__autoload(prog));
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_object* obj = RequireOpen(env, "maps");
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  struct bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_map__name(map));
    o.Set("type", static_cast<double>(bpf_map__type(map)));
    o.Set("keySize", static_cast<double>(bpf_map__key_size(map)));
    o.Set("valueSize", static_cast<double>(bpf_map__value_size(map)));
    o.Set("maxEntries", static_cast<double>(bpf_map__max_entries(map)));
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BpfObject::SetAutoload(const Napi::CallbackInfo& info) {
  const std::string op = "setAutoload";
  std::string name = ArgString(info, 0, op, "prog");
  bool on = ArgBool(info, 1, op, "on");
  struct bpf_program* prog = RequireProg(info.Env(), op, name);
  LogCapture log;
  int err = bpf_program__set_autoload(prog, on);
  if (err != 0) {
    ThrowBpfError(info.Env(), op, "set autoload of " + Quoted("prog", name), err, &log,
                  "only possible before load()");
  }
  return info.Env().Undefined();
}

Napi::Value BpfObject::SetMapMaxEntries(const Napi::CallbackInfo& info) {
  const std::string op = "setMapMaxEntries";
  std::string name = ArgString(info, 0, op, "map");
  uint32_t n = static_cast<uint32_t>(
      CheckInteger(info.Env(), info.Length() > 1 ? info[1] : info.Env().Undefined(), op, "n",
                   UINT32_MAX));
  struct bpf_map* map = RequireMap(info.Env(), op, name);
  LogCapture log;
  int err = bpf_map__set_max_entries(map, n);
  if (err != 0) {
    ThrowBpfError(info.Env(), op, "set max entries of " + Quoted("map", name), err, &log,
                  "only possible before load()");
  }
  return info.Env().Undefined();
}

Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  struct bpf_object* obj = RequireOpen(info.Env(), "load");
  LogCapture log;
  int err = bpf_object__load(obj);
  if (err != 0) {
    ThrowBpfError(info.Env(), "load", LoadFailureSubject(log.Text(), name_), err, &log);
  }
  return info.Env().Undefined();
}

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  if (obj_ != nullptr) {
    bpf_object__close(obj_);
    obj_ = nullptr;
  }
  return info.Env().Undefined();
}

}  // namespace peregrine

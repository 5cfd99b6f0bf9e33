// BpfObject: one struct bpf_object (an opened ELF file) and the operations on its programs and maps,
// all addressed by name. Links created by attach*() are separate objects: close() frees the object
// (its program and map fds) but attached links keep their programs running until destroyed.
#pragma once

#include <napi.h>

#include <string>

struct bpf_object;
struct bpf_program;
struct bpf_map;

namespace peregrine {

class LogCapture;

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

  // For RingReader: the named map, which must exist and be created (throws otherwise).
  struct bpf_map* RequireCreatedMap(Napi::Env env, const std::string& operation,
                                    const std::string& name);

 private:
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value SetMapMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value AttachCgroup(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info);
  Napi::Value AttachTracepoint(const Napi::CallbackInfo& info);
  Napi::Value IterRead(const Napi::CallbackInfo& info);
  Napi::Value MapLookup(const Napi::CallbackInfo& info);
  Napi::Value MapUpdate(const Napi::CallbackInfo& info);
  Napi::Value MapDelete(const Napi::CallbackInfo& info);
  Napi::Value MapNextKey(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // bpf_object_kfunc.cc
  Napi::Value SetAttachTarget(const Napi::CallbackInfo& info);
  Napi::Value AttachKprobe(const Napi::CallbackInfo& info);
  Napi::Value ReuseMap(const Napi::CallbackInfo& info);

  struct bpf_object* RequireOpen(Napi::Env env, const std::string& operation);
  struct bpf_program* RequireProg(Napi::Env env, const std::string& operation,
                                  const std::string& name);
  // A program that load() loaded (attach and iterate need its fd).
  struct bpf_program* RequireLoadedProg(Napi::Env env, const std::string& operation,
                                        const std::string& name);
  struct bpf_map* RequireMap(Napi::Env env, const std::string& operation, const std::string& name);
  void CheckKey(Napi::Env env, const std::string& operation, const struct bpf_map* map,
                const Napi::Value& key);

  struct bpf_object* obj_ = nullptr;
  std::string name_;  // object name (file name without .o), for messages after close
};

}  // namespace peregrine

// BpfObject: what attaching one program to an arbitrary kernel function needs (the kfunc backend):
// a BTF attach target chosen before load (fentry, fexit, fmod_ret), a kprobe on a named function, and
// maps shared with another object instance, so that one program per function can be loaded on its
// own while every instance works on the same tables.
#include <bpf/libbpf.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "bpf_link.h"
#include "bpf_object.h"
#include "errors.h"

namespace peregrine {

Napi::Value BpfObject::SetAttachTarget(const Napi::CallbackInfo& info) {
  const std::string op = "setAttachTarget";
  std::string name = ArgString(info, 0, op, "prog");
  std::string func = ArgString(info, 1, op, "funcName");
  struct bpf_program* prog = RequireProg(info.Env(), op, name);
  LogCapture log;
  int err = bpf_program__set_attach_target(prog, 0, func.c_str());
  if (err != 0) {
    ThrowBpfError(info.Env(), op, "set attach target of " + Quoted("prog", name) + " to '" + func + "'",
                  err, &log, "only possible before load(), for a function the kernel's BTF has");
  }
  return info.Env().Undefined();
}

Napi::Value BpfObject::AttachKprobe(const Napi::CallbackInfo& info) {
  const std::string op = "attachKprobe";
  std::string name = ArgString(info, 0, op, "prog");
  std::string func = ArgString(info, 1, op, "funcName");
  bool retprobe = ArgBool(info, 2, op, "retprobe");
  struct bpf_program* prog = RequireLoadedProg(info.Env(), op, name);
  LogCapture log;
  struct bpf_link* link = bpf_program__attach_kprobe(prog, retprobe, func.c_str());
  if (link == nullptr) {
    int err = errno;
    ThrowBpfError(info.Env(), op,
                  "attach " + Quoted("prog", name) + (retprobe ? " as kretprobe" : " as kprobe") +
                      " to '" + func + "'",
                  err, &log);
  }
  return BpfLink::Wrap(info.Env(), link);
}

Napi::Value BpfObject::ReuseMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "reuseMap";
  std::string name = ArgString(info, 0, op, "map");
  if (info.Length() < 2 || !info[1].IsObject()) ThrowInvalidArgument(env, op, "from must be a BpfObject");
  BpfObject* from = Napi::ObjectWrap<BpfObject>::Unwrap(info[1].As<Napi::Object>());
  if (from == nullptr) ThrowInvalidArgument(env, op, "from must be a BpfObject");
  struct bpf_map* map = RequireMap(env, op, name);
  struct bpf_map* src = from->RequireCreatedMap(env, op, name);
  LogCapture log;
  int err = bpf_map__reuse_fd(map, bpf_map__fd(src));
  if (err != 0) {
    ThrowBpfError(env, op, "reuse " + Quoted("map", name), err, &log,
                  "only possible before load(), with a map of the same type and sizes");
  }
  return env.Undefined();
}

}  // namespace peregrine

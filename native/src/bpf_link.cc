#include "bpf_link.h"

#include <bpf/libbpf.h>

#include "addon_data.h"
#include "errors.h"

namespace peregrine {

Napi::Function BpfLink::Init(Napi::Env env) {
  return DefineClass(env, "BpfLink", {InstanceMethod<&BpfLink::Destroy>("destroy")});
}

Napi::Object BpfLink::Wrap(Napi::Env env, struct bpf_link* link) {
  return GetAddonData(env)->bpf_link_ctor.New({Napi::External<struct bpf_link>::New(env, link)});
}

BpfLink::BpfLink(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfLink>(info) {
  // Only Wrap() passes the External; user code has no way to make one.
  if (info.Length() != 1 || !info[0].IsExternal()) {
    ThrowInvalidArgument(
        info.Env(), "BpfLink",
        "links are created by BpfObject.attach(), attachCgroup() or attachUprobe()");
  }
  link_ = info[0].As<Napi::External<struct bpf_link>>().Data();
}

BpfLink::~BpfLink() {
  if (link_ != nullptr) bpf_link__destroy(link_);
}

Napi::Value BpfLink::Destroy(const Napi::CallbackInfo& info) {
  if (link_ != nullptr) {
    LogCapture log;
    int err = bpf_link__destroy(link_);
    link_ = nullptr;  // libbpf frees the link even when detaching reports an error
    if (err != 0) ThrowBpfError(info.Env(), "destroy", "destroy link", err, &log);
  }
  return info.Env().Undefined();
}

}  // namespace peregrine

// Per-environment constructors, so native code can create JS BpfLink objects and recognise
// BpfObject arguments (instanceof) in every Node environment (main thread or worker) separately.
#pragma once

#include <napi.h>

namespace peregrine {

struct AddonData {
  Napi::FunctionReference bpf_object_ctor;
  Napi::FunctionReference bpf_link_ctor;
};

inline AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

}  // namespace peregrine

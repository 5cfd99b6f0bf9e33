// Free functions that touch the system rather than a BPF object.
#pragma once

#include <napi.h>

namespace peregrine {

Napi::Value ProbeFanotify(const Napi::CallbackInfo& info);
Napi::Value LibbpfVersion(const Napi::CallbackInfo& info);
Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info);
Napi::Value BumpMemlock(const Napi::CallbackInfo& info);

}  // namespace peregrine

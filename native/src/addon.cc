// Module entry: registers the classes and free functions. Everything here is mechanism; event and
// policy semantics live in TypeScript.
#include <napi.h>

#include "addon_data.h"
#include "bpf_link.h"
#include "bpf_object.h"
#include "errors.h"
#include "fanotify_guard.h"
#include "ring_reader.h"
#include "system.h"

namespace peregrine {
namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
  auto* data = new AddonData();
  env.SetInstanceData(data);  // deleted by node-addon-api at environment teardown

  Napi::Function object_ctor = BpfObject::Init(env);
  Napi::Function link_ctor = BpfLink::Init(env);
  data->bpf_object_ctor = Napi::Persistent(object_ctor);
  data->bpf_link_ctor = Napi::Persistent(link_ctor);

  exports.Set("BpfObject", object_ctor);
  exports.Set("BpfLink", link_ctor);
  exports.Set("RingReader", RingReader::Init(env));
  exports.Set("FanotifyGuard", FanotifyGuard::Init(env));
  exports.Set("probeFanotify", Napi::Function::New<ProbeFanotify>(env, "probeFanotify"));
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
  exports.Set("numPossibleCpus", Napi::Function::New<NumPossibleCpus>(env, "numPossibleCpus"));
  exports.Set("bumpMemlock", Napi::Function::New<BumpMemlock>(env, "bumpMemlock"));
  return exports;
}

}  // namespace
}  // namespace peregrine

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return peregrine::Init(env, exports);
}

NODE_API_MODULE(peregrine_native, InitModule)

// BpfLink: owns one struct bpf_link (an attachment). destroy() detaches; the GC finalizer does the
// same, so a link dropped by JavaScript is detached at the next collection.
#pragma once

#include <napi.h>

struct bpf_link;

namespace peregrine {

class BpfLink : public Napi::ObjectWrap<BpfLink> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Wraps an attached link; ownership moves to the new JS object.
  static Napi::Object Wrap(Napi::Env env, struct bpf_link* link);

  explicit BpfLink(const Napi::CallbackInfo& info);
  ~BpfLink() override;

 private:
  Napi::Value Destroy(const Napi::CallbackInfo& info);

  struct bpf_link* link_ = nullptr;
};

}  // namespace peregrine

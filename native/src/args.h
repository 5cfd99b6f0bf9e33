// Argument decoding with uniform EINVAL errors: a wrong type never crashes or aborts.
#pragma once

#include <napi.h>

#include <string>

#include "errors.h"

namespace peregrine {

inline std::string ArgString(const Napi::CallbackInfo& info, size_t i, const std::string& op,
                             const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    ThrowInvalidArgument(info.Env(), op, std::string(what) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

inline bool ArgBool(const Napi::CallbackInfo& info, size_t i, const std::string& op,
                    const char* what) {
  if (info.Length() <= i || !info[i].IsBoolean()) {
    ThrowInvalidArgument(info.Env(), op, std::string(what) + " must be a boolean");
  }
  return info[i].As<Napi::Boolean>().Value();
}

// Number.MAX_SAFE_INTEGER: the largest integer a JS number holds exactly.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// A non-negative integer no larger than max.
inline double CheckInteger(Napi::Env env, const Napi::Value& v, const std::string& op,
                           const std::string& what, double max) {
  if (!v.IsNumber()) ThrowInvalidArgument(env, op, what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    ThrowInvalidArgument(env, op, what + " must be an integer between 0 and " +
                                      std::to_string(static_cast<uint64_t>(max)));
  }
  return d;
}

inline Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i,
                                       const std::string& op, const char* what) {
  if (info.Length() <= i || !info[i].IsBuffer()) {
    ThrowInvalidArgument(info.Env(), op, std::string(what) + " must be a Buffer");
  }
  return info[i].As<Napi::Buffer<uint8_t>>();
}

}  // namespace peregrine

// Error reporting for every addon call: libbpf's log is captured per call (libbpf_set_print is
// process-wide, so the capture target is thread-local) and attached to the thrown JS Error together
// with operation, errno and the errno's symbolic code.
#pragma once

#include <napi.h>

#include <string>

namespace peregrine {

// Installs the process-wide libbpf print callback. Called once at module init.
void InstallLibbpfPrint();

// While alive, libbpf log lines printed on this thread are appended to this capture (the newest
// 64 KiB are kept: the verifier's verdict is at the end). Captures nest; the innermost one wins.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  void Append(const char* data, size_t len);
  std::string Text() const;

 private:
  std::string buf_;
  LogCapture* prev_;
};

// "prog 'name'", "map 'name'": how messages name what an operation was applied to.
inline std::string Quoted(const char* kind, const std::string& name) {
  return std::string(kind) + " '" + name + "'";
}

// "EPERM" for 1, "LIBBPF_ERRNO__VERIFY" for 4007, "ENOTSUPP" for 524 (kernel-internal), "E<n>" else.
std::string ErrnoCode(int err);
// strerror-like text that also covers libbpf's private errno range and kernel-internal values.
std::string ErrnoText(int err);

// Throws a Napi::Error: message "<what>: <strerror>[ (<detail>)]", properties operation, errno (> 0),
// code and log. `err` may be given with either sign.
[[noreturn]] void ThrowBpfError(Napi::Env env, const std::string& operation, const std::string& what,
                                int err, const LogCapture* log, const std::string& detail = "");

// Plain Error with code EINVAL for bad arguments (wrong types, out-of-range numbers).
[[noreturn]] void ThrowInvalidArgument(Napi::Env env, const std::string& operation,
                                       const std::string& message);

}  // namespace peregrine

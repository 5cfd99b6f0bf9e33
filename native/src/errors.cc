#include "errors.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace peregrine {
namespace {

constexpr size_t kMaxLog = 64 * 1024;

thread_local LogCapture* tls_capture = nullptr;

// libbpf calls this from whatever thread runs the libbpf function. Without an active capture on that
// thread (e.g. the ring reader thread) the line is dropped: there is no operation to attach it to.
int LibbpfPrint(enum libbpf_print_level /*level*/, const char* fmt, va_list ap) {
  LogCapture* cap = tls_capture;
  if (cap == nullptr) return 0;
  char small[1024];
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(small, sizeof(small), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  if (static_cast<size_t>(n) < sizeof(small)) {
    cap->Append(small, static_cast<size_t>(n));
  } else {
    std::string big(static_cast<size_t>(n) + 1, '\0');
    vsnprintf(big.data(), big.size(), fmt, ap);
    cap->Append(big.data(), static_cast<size_t>(n));
  }
  return n;
}

struct NamedErrno {
  int value;
  const char* code;
  const char* text;
};

// Values glibc does not name: kernel-internal errnos that leak out of bpf(2), and libbpf's own
// range.
const NamedErrno kExtraErrnos[] = {
    {512, "ERESTARTSYS", "Restart system call"},
    {524, "ENOTSUPP", "Operation not supported by the kernel"},
    {4000, "LIBBPF_ERRNO__LIBELF", "Something wrong in libelf"},
    {4001, "LIBBPF_ERRNO__FORMAT", "BPF object format invalid"},
    {4002, "LIBBPF_ERRNO__KVERSION", "'version' section incorrect or lost"},
    {4003, "LIBBPF_ERRNO__ENDIAN", "Endian mismatch"},
    {4004, "LIBBPF_ERRNO__INTERNAL", "Internal error in libbpf"},
    {4005, "LIBBPF_ERRNO__RELOC", "Relocation failed"},
    {4006, "LIBBPF_ERRNO__LOAD", "Load program failed"},
    {4007, "LIBBPF_ERRNO__VERIFY", "Kernel verifier blocks program loading"},
    {4008, "LIBBPF_ERRNO__PROG2BIG", "Program too big"},
    {4009, "LIBBPF_ERRNO__KVER", "Incorrect kernel version"},
    {4010, "LIBBPF_ERRNO__PROGTYPE", "Kernel doesn't support this program type"},
    {4011, "LIBBPF_ERRNO__WRNGPID", "Wrong pid in netlink message"},
    {4012, "LIBBPF_ERRNO__INVSEQ", "Invalid netlink sequence"},
    {4013, "LIBBPF_ERRNO__NLPARSE", "Incorrect netlink message parsing"},
};

const NamedErrno* FindExtra(int err) {
  for (const auto& e : kExtraErrnos) {
    if (e.value == err) return &e;
  }
  return nullptr;
}

}  // namespace

void InstallLibbpfPrint() { libbpf_set_print(LibbpfPrint); }

LogCapture::LogCapture() : prev_(tls_capture) { tls_capture = this; }

LogCapture::~LogCapture() { tls_capture = prev_; }

void LogCapture::Append(const char* data, size_t len) {
  buf_.append(data, len);
  // Trim in chunks so a chatty load stays linear; Text() cuts to the exact limit.
  if (buf_.size() > 2 * kMaxLog) buf_.erase(0, buf_.size() - kMaxLog);
}

std::string LogCapture::Text() const {
  if (buf_.size() <= kMaxLog) return buf_;
  size_t start = buf_.size() - kMaxLog;
  size_t nl = buf_.find('\n', start);
  if (nl != std::string::npos && nl + 1 < buf_.size()) start = nl + 1;
  return buf_.substr(start);
}

std::string ErrnoCode(int err) {
  if (err < 0) err = -err;
  if (const NamedErrno* e = FindExtra(err)) return e->code;
  if (const char* name = strerrorname_np(err)) return name;
  return "E" + std::to_string(err);
}

std::string ErrnoText(int err) {
  if (err < 0) err = -err;
  if (const NamedErrno* e = FindExtra(err)) return e->text;
  char buf[128];
  // GNU strerror_r returns a pointer that may or may not be buf.
  return strerror_r(err, buf, sizeof(buf));
}

void ThrowBpfError(Napi::Env env, const std::string& operation, const std::string& what, int err,
                   const LogCapture* log, const std::string& detail) {
  if (err < 0) err = -err;
  if (err == 0) err = EINVAL;  // a failure without errno must still carry a positive one
  std::string message = what + ": " + ErrnoText(err);
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("operation", Napi::String::New(env, operation));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, ErrnoCode(err)));
  error.Set("log", Napi::String::New(env, log != nullptr ? log->Text() : std::string()));
  throw error;
}

void ThrowInvalidArgument(Napi::Env env, const std::string& operation, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, operation + ": " + message);
  error.Set("operation", Napi::String::New(env, operation));
  error.Set("errno", Napi::Number::New(env, EINVAL));
  error.Set("code", Napi::String::New(env, "EINVAL"));
  error.Set("log", Napi::String::New(env, ""));
  throw error;
}

}  // namespace peregrine

#include "system.h"

#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

#include "args.h"
#include "errors.h"

namespace peregrine {

Napi::Value ProbeFanotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "probeFanotify";
  std::string path = ArgString(info, 0, op, "markPath");
  std::string mask_name = ArgString(info, 1, op, "mask");
  uint64_t mask;
  const char* mask_text;
  if (mask_name == "exec") {
    mask = FAN_OPEN_EXEC_PERM;
    mask_text = "FAN_OPEN_EXEC_PERM";
  } else if (mask_name == "open") {
    mask = FAN_OPEN_PERM;
    mask_text = "FAN_OPEN_PERM";
  } else {
    ThrowInvalidArgument(env, op, "mask must be 'exec' or 'open'");
  }
  Napi::Object result = Napi::Object::New(env);
  auto finish = [&](int err, const std::string& message) {
    result.Set("ok", err == 0);
    result.Set("errno", err);
    result.Set("message", message);
    return result;
  };
  int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
  if (fd < 0) {
    int err = errno;
    return finish(err, "fanotify_init(FAN_CLASS_CONTENT): " + ErrnoText(err));
  }
  // Between mark and close, opens on the filesystem would wait for an answer; closing the group
  // immediately allows them (no event is ever read), so the window is a few microseconds.
  int rc = fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, path.c_str());
  int err = rc < 0 ? errno : 0;
  close(fd);
  if (err != 0) {
    return finish(err, std::string("fanotify_mark(FAN_MARK_FILESYSTEM, ") + mask_text + ") on '" +
                           path + "': " + ErrnoText(err));
  }
  return finish(0, "");
}

// libbpf reports only major.minor at run time; the patch level comes from the shared object's
// versioned file name (libbpf.so.1.1.2) when the loaded library has one.
Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  std::string version =
      std::to_string(libbpf_major_version()) + "." + std::to_string(libbpf_minor_version());
  Dl_info dl = {};
  if (dladdr(reinterpret_cast<void*>(&libbpf_major_version), &dl) != 0 && dl.dli_fname != nullptr) {
    char resolved[PATH_MAX];
    if (realpath(dl.dli_fname, resolved) != nullptr) {
      std::string file = resolved;
      size_t at = file.rfind(".so.");
      if (at != std::string::npos) {
        std::string suffix = file.substr(at + 4);
        if (suffix.rfind(version + ".", 0) == 0) version = suffix;
      }
    }
  }
  return Napi::String::New(info.Env(), version);
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) ThrowBpfError(info.Env(), "numPossibleCpus", "read possible CPUs", n, nullptr);
  return Napi::Number::New(info.Env(), n);
}

// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; newer ones use memcg and ignore it.
Napi::Value BumpMemlock(const Napi::CallbackInfo& info) {
  struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  return Napi::Boolean::New(info.Env(), setrlimit(RLIMIT_MEMLOCK, &unlimited) == 0);
}

}  // namespace peregrine

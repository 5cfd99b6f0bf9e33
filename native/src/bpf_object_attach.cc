// BpfObject: attaching programs and running iterators. Each returns a BpfLink that owns the
// attachment, except iterRead, which detaches before returning.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "args.h"
#include "bpf_link.h"
#include "bpf_object.h"
#include "errors.h"

namespace peregrine {
namespace {

// Iterators produce text proportional to what they walk; this bound only stops a runaway program.
constexpr size_t kMaxIterBytes = 256u << 20;

}  // namespace

Napi::Value BpfObject::Attach(const Napi::CallbackInfo& info) {
  const std::string op = "attach";
  std::string name = ArgString(info, 0, op, "prog");
  struct bpf_program* prog = RequireLoadedProg(info.Env(), op, name);
  LogCapture log;
  struct bpf_link* link = bpf_program__attach(prog);
  if (link == nullptr) {
    int err = errno;
    ThrowBpfError(info.Env(), op, "attach " + Quoted("prog", name), err, &log);
  }
  return BpfLink::Wrap(info.Env(), link);
}

Napi::Value BpfObject::AttachCgroup(const Napi::CallbackInfo& info) {
  const std::string op = "attachCgroup";
  std::string name = ArgString(info, 0, op, "prog");
  std::string path = ArgString(info, 1, op, "cgroupDirPath");
  struct bpf_program* prog = RequireLoadedProg(info.Env(), op, name);
  LogCapture log;
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    ThrowBpfError(info.Env(), op, "attach " + Quoted("prog", name), err, &log,
                  "cannot open cgroup directory '" + path + "'");
  }
  struct bpf_link* link = bpf_program__attach_cgroup(prog, fd);
  int err = errno;
  close(fd);  // the link holds its own reference to the cgroup
  if (link == nullptr) {
    ThrowBpfError(info.Env(), op, "attach " + Quoted("prog", name) + " to cgroup '" + path + "'",
                  err, &log);
  }
  return BpfLink::Wrap(info.Env(), link);
}

Napi::Value BpfObject::AttachUprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "attachUprobe";
  std::string name = ArgString(info, 0, op, "prog");
  if (info.Length() < 2 || !info[1].IsObject()) {
    ThrowInvalidArgument(env, op, "opts must be an object");
  }
  Napi::Object opts = info[1].As<Napi::Object>();
  Napi::Value binary = opts.Get("binaryPath");
  if (!binary.IsString()) ThrowInvalidArgument(env, op, "opts.binaryPath must be a string");
  std::string binary_path = binary.As<Napi::String>().Utf8Value();
  std::string func_name;
  Napi::Value func = opts.Get("funcName");
  if (!func.IsUndefined()) {
    if (!func.IsString()) ThrowInvalidArgument(env, op, "opts.funcName must be a string");
    func_name = func.As<Napi::String>().Utf8Value();
  }
  size_t offset = 0;
  if (!opts.Get("offset").IsUndefined()) {
    offset = static_cast<size_t>(
        CheckInteger(env, opts.Get("offset"), op, "opts.offset", kMaxSafeInteger));
  }
  pid_t pid = -1;  // every process that maps the binary
  Napi::Value pid_value = opts.Get("pid");
  if (!pid_value.IsUndefined()) {
    pid = static_cast<pid_t>(CheckInteger(env, pid_value, op, "opts.pid", INT_MAX));
  }
  bool retprobe = false;
  Napi::Value ret_value = opts.Get("retprobe");
  if (!ret_value.IsUndefined()) {
    if (!ret_value.IsBoolean()) ThrowInvalidArgument(env, op, "opts.retprobe must be a boolean");
    retprobe = ret_value.As<Napi::Boolean>().Value();
  }
  struct bpf_program* prog = RequireLoadedProg(env, op, name);
  LogCapture log;
  struct bpf_uprobe_opts uopts = {};
  uopts.sz = sizeof(uopts);
  uopts.retprobe = retprobe;
  uopts.func_name = func_name.empty() ? nullptr : func_name.c_str();
  struct bpf_link* link =
      bpf_program__attach_uprobe_opts(prog, pid, binary_path.c_str(), offset, &uopts);
  if (link == nullptr) {
    int err = errno;
    std::string target = binary_path + (func_name.empty() ? "" : ":" + func_name);
    if (offset != 0) target += "+" + std::to_string(offset);
    ThrowBpfError(env, op, "attach " + Quoted("prog", name) + " to '" + target + "'", err, &log);
  }
  return BpfLink::Wrap(env, link);
}

// A SEC("tracepoint") program attached to a tracepoint named at run time (one program may serve many).
Napi::Value BpfObject::AttachTracepoint(const Napi::CallbackInfo& info) {
  const std::string op = "attachTracepoint";
  std::string name = ArgString(info, 0, op, "prog");
  std::string category = ArgString(info, 1, op, "category");
  std::string event = ArgString(info, 2, op, "event");
  struct bpf_program* prog = RequireLoadedProg(info.Env(), op, name);
  LogCapture log;
  struct bpf_link* link = bpf_program__attach_tracepoint(prog, category.c_str(), event.c_str());
  if (link == nullptr) {
    int err = errno;
    ThrowBpfError(info.Env(), op,
                  "attach " + Quoted("prog", name) + " to tracepoint '" + category + "/" + event + "'", err,
                  &log);
  }
  return BpfLink::Wrap(info.Env(), link);
}

Napi::Value BpfObject::IterRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = "iterRead";
  std::string name = ArgString(info, 0, op, "prog");
  struct bpf_program* prog = RequireLoadedProg(env, op, name);
  LogCapture log;
  struct bpf_link* link = bpf_program__attach_iter(prog, nullptr);
  if (link == nullptr) {
    int err = errno;
    ThrowBpfError(env, op, "attach iterator " + Quoted("prog", name), err, &log);
  }
  int fd = bpf_iter_create(bpf_link__fd(link));
  if (fd < 0) {
    int err = errno;
    bpf_link__destroy(link);
    ThrowBpfError(env, op, "create iterator " + Quoted("prog", name), err, &log);
  }
  std::vector<uint8_t> out;
  uint8_t chunk[16384];
  int err = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      err = errno;
      break;
    }
    if (out.size() + static_cast<size_t>(n) > kMaxIterBytes) {
      err = E2BIG;
      break;
    }
    out.insert(out.end(), chunk, chunk + n);
  }
  close(fd);
  bpf_link__destroy(link);
  if (err != 0) {
    ThrowBpfError(env, op, "read iterator " + Quoted("prog", name), err, &log,
                  err == E2BIG ? "output exceeds 256 MiB" : "");
  }
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

}  // namespace peregrine

#include "fanotify_table.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace peregrine {
namespace fantable {
namespace {

uint32_t U32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);  // x86/arm64 are little-endian
  return v;
}
uint16_t U16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
uint64_t U64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

bool ReadLink(const char* link, std::string* out) {
  char buf[PATH_MAX];
  ssize_t n = readlink(link, buf, sizeof(buf));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return false;
  out->assign(buf, static_cast<size_t>(n));
  return true;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && memcmp(s.data(), p.data(), p.size()) == 0;
}
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && memcmp(s.data() + s.size() - p.size(), p.data(), p.size()) == 0;
}

bool HasInode(const std::vector<Inode>& set, const Inode& i) {
  for (const Inode& v : set) {
    if (v.dev == i.dev && v.ino == i.ino) return true;
  }
  return false;
}

// Any string of the set related to s by op (2/1 equal, 3 prefix, 4 postfix — file op numbering).
bool AnyString(const std::vector<std::string_view>& set, std::string_view s, int op) {
  for (std::string_view v : set) {
    if (op == kFilePrefix ? StartsWith(s, v) : op == kFilePostfix ? EndsWith(s, v) : s == v) return true;
  }
  return false;
}

}  // namespace

bool EventFacts::FileInode(Inode* out) {
  if (file_stat_ == 0) {
    struct stat st;
    file_stat_ = fstat(fd_, &st) == 0 ? 1 : -1;
    if (file_stat_ > 0) file_inode_ = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  }
  *out = file_inode_;
  return file_stat_ > 0;
}

bool EventFacts::FilePath(const std::string** out) {
  if (file_path_state_ == 0) {
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd_);
    file_path_state_ = ReadLink(link, &file_path_) ? 1 : -1;
  }
  *out = &file_path_;
  return file_path_state_ > 0;
}

bool EventFacts::ExeInode(Inode* out) {
  if (exe_stat_ == 0) {
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/exe", static_cast<int>(pid_));
    struct stat st;
    exe_stat_ = stat(link, &st) == 0 ? 1 : -1;
    if (exe_stat_ > 0) exe_inode_ = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  }
  *out = exe_inode_;
  return exe_stat_ > 0;
}

bool EventFacts::ExePath(const std::string** out) {
  if (exe_path_state_ == 0) {
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/exe", static_cast<int>(pid_));
    exe_path_state_ = ReadLink(link, &exe_path_) ? 1 : -1;
  }
  *out = &exe_path_;
  return exe_path_state_ > 0;
}

std::shared_ptr<const Table> Table::Parse(const uint8_t* data, size_t len, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = why;
    return std::shared_ptr<const Table>();
  };
  if (len < kHeaderBytes) {
    return fail("table is " + std::to_string(len) + " bytes, shorter than its 16-byte header");
  }
  uint32_t version = U32(data), rule_count = U32(data + 4), strings_bytes = U32(data + 8),
           flags = U32(data + 12);
  if (version != kVersion) return fail("table version " + std::to_string(version) + ", expected 1");
  if (flags != 0) return fail("header flags must be 0, got " + std::to_string(flags));
  if (rule_count > kMaxRules) {
    return fail("ruleCount " + std::to_string(rule_count) + " exceeds " + std::to_string(kMaxRules));
  }
  if (strings_bytes > len - kHeaderBytes) {
    return fail("stringsBytes " + std::to_string(strings_bytes) + " exceeds the buffer");
  }
  auto table = std::make_shared<Table>();
  table->bytes_.assign(data, data + len);
  const uint8_t* base = table->bytes_.data();
  const size_t rules_end = len - strings_bytes;  // where the strings section starts
  const uint8_t* strings = base + rules_end;
  size_t off = kHeaderBytes;
  table->rules_.reserve(rule_count);

  for (uint32_t r = 0; r < rule_count; r++) {
    std::string where = "rule " + std::to_string(r) + " at byte " + std::to_string(off);
    if (rules_end - off < kRuleBytes) return fail(where + ": truncated rule header");
    const uint8_t* p = base + off;
    Rule rule;
    rule.id = U32(p);
    rule.event = p[4];
    rule.verdict = p[5];
    uint8_t monitor = p[6], report = p[13];
    rule.file_op = p[7];
    rule.proc_op = p[12];
    uint32_t file_count = U32(p + 8), proc_count = U32(p + 16);
    where += " (id " + std::to_string(rule.id) + ")";
    if (rule.event != kExec && rule.event != kOpen) {
      return fail(where + ": event " + std::to_string(rule.event) + " is not 1 (exec) or 2 (open)");
    }
    if (rule.verdict > 1) return fail(where + ": verdict " + std::to_string(rule.verdict) + " is not 0 or 1");
    if (monitor > 1) return fail(where + ": monitor " + std::to_string(monitor) + " is not 0 or 1");
    if (report > 1) return fail(where + ": report " + std::to_string(report) + " is not 0 or 1");
    if (rule.file_op > kFilePostfix) return fail(where + ": fileOp " + std::to_string(rule.file_op) + " is not 0..4");
    if (rule.proc_op > kProcNotPostfix) {
      return fail(where + ": procOp " + std::to_string(rule.proc_op) + " is not 0..6");
    }
    if (U16(p + 14) != 0 || U32(p + 20) != 0) return fail(where + ": reserved bytes are not zero");
    if ((rule.file_op == kFileAny) != (file_count == 0)) {
      return fail(where + ": fileOp " + std::to_string(rule.file_op) + " with " + std::to_string(file_count) +
                  " file values (fileOp 0 takes none, the others at least one)");
    }
    if ((rule.proc_op == kProcAny) != (proc_count == 0)) {
      return fail(where + ": procOp " + std::to_string(rule.proc_op) + " with " + std::to_string(proc_count) +
                  " process values (procOp 0 takes none, the others at least one)");
    }
    rule.monitor = monitor == 1;
    rule.report = report == 1;
    off += kRuleBytes;
    uint64_t values_bytes = (static_cast<uint64_t>(file_count) + proc_count) * kValueBytes;
    if (values_bytes > rules_end - off) {
      return fail(where + ": " + std::to_string(file_count) + " + " + std::to_string(proc_count) +
                  " values overrun the rules section");
    }
    for (uint64_t v = 0; v < static_cast<uint64_t>(file_count) + proc_count; v++, off += kValueBytes) {
      const uint8_t* q = base + off;
      bool is_file = v < file_count;
      std::string vwhere = where + ": " + (is_file ? "file" : "process") + " value " +
                           std::to_string(is_file ? v : v - file_count);
      uint32_t kind = U32(q), slen = U32(q + 4);
      uint64_t a = U64(q + 8), b = U64(q + 16);
      ValueSet& set = is_file ? rule.file : rule.proc;
      if (kind == kInode) {
        if (slen != 0) return fail(vwhere + ": inode value with len " + std::to_string(slen));
        if (!is_file && rule.proc_op != kProcIn && rule.proc_op != kProcNotIn) {
          return fail(vwhere + ": procOp " + std::to_string(rule.proc_op) + " takes strings only");
        }
        set.inodes.push_back({a, b});
      } else if (kind == kString) {
        if (is_file && rule.file_op == kFileInode) return fail(vwhere + ": fileOp 1 takes inode values only");
        if (slen == 0 || slen > kMaxStringLen) {
          return fail(vwhere + ": string length " + std::to_string(slen) + " is not 1..4096");
        }
        if (b != 0) return fail(vwhere + ": string value with non-zero ino field");
        if (a > strings_bytes || slen > strings_bytes - a) {
          return fail(vwhere + ": string [" + std::to_string(a) + ", +" + std::to_string(slen) +
                      ") is outside the " + std::to_string(strings_bytes) + "-byte strings section");
        }
        std::string_view s(reinterpret_cast<const char*>(strings + a), slen);
        if (s.find('\0') != std::string_view::npos) return fail(vwhere + ": string contains a NUL byte");
        set.strings.push_back(s);
      } else {
        return fail(vwhere + ": kind " + std::to_string(kind) + " is not 1 (inode) or 2 (string)");
      }
    }
    if (rule.event == kExec) table->has_exec_ = true;
    if (rule.event == kOpen) table->has_open_ = true;
    if (rule.file_op != kFileInode && rule.file_op != kFileEqual) {
      (rule.event == kExec ? table->cacheable_exec_ : table->cacheable_open_) = false;
    }
    table->rules_.push_back(std::move(rule));
  }
  if (off != rules_end) {
    return fail("rules end at byte " + std::to_string(off) + " but the strings section starts at byte " +
                std::to_string(rules_end));
  }
  return table;
}

Outcome Table::Evaluate(uint8_t event, EventFacts& facts, const Rule** out) const {
  for (const Rule& rule : rules_) {
    if (rule.event != event) continue;
    // File condition.
    if (rule.file_op != kFileAny) {
      bool hit = false;
      if (!rule.file.inodes.empty()) {
        Inode i;
        if (!facts.FileInode(&i)) return Outcome::kUndecided;
        hit = HasInode(rule.file.inodes, i);
      }
      if (!hit && !rule.file.strings.empty()) {
        const std::string* path;
        if (!facts.FilePath(&path)) return Outcome::kUndecided;
        hit = AnyString(rule.file.strings, *path, rule.file_op);
      }
      if (!hit) continue;
    }
    // Process condition.
    if (rule.proc_op != kProcAny) {
      bool hit = false;
      bool negate = rule.proc_op == kProcNotIn || rule.proc_op == kProcNotPrefix || rule.proc_op == kProcNotPostfix;
      if (rule.proc_op == kProcIn || rule.proc_op == kProcNotIn) {
        if (!rule.proc.inodes.empty()) {
          Inode i;
          if (!facts.ExeInode(&i)) return Outcome::kUndecided;
          hit = HasInode(rule.proc.inodes, i);
        }
        if (!hit && !rule.proc.strings.empty()) {
          const std::string* exe;
          if (!facts.ExePath(&exe)) return Outcome::kUndecided;
          hit = AnyString(rule.proc.strings, *exe, kFileEqual);
        }
      } else {
        const std::string* exe;
        if (!facts.ExePath(&exe)) return Outcome::kUndecided;
        int op = (rule.proc_op == kProcPrefix || rule.proc_op == kProcNotPrefix) ? kFilePrefix : kFilePostfix;
        hit = AnyString(rule.proc.strings, *exe, op);
      }
      if (hit == negate) continue;
    }
    *out = &rule;
    return Outcome::kMatch;
  }
  return Outcome::kNoMatch;
}

bool Table::FileNeverMatches(uint8_t event, EventFacts& facts) const {
  if (!(event == kExec ? cacheable_exec_ : cacheable_open_)) return false;
  for (const Rule& rule : rules_) {
    if (rule.event != event) continue;
    if (!rule.file.inodes.empty()) {
      Inode i;
      if (!facts.FileInode(&i) || HasInode(rule.file.inodes, i)) return false;
    }
    if (!rule.file.strings.empty()) {
      const std::string* path;
      if (!facts.FilePath(&path) || AnyString(rule.file.strings, *path, kFileEqual)) return false;
    }
  }
  return true;
}

}  // namespace fantable
}  // namespace peregrine

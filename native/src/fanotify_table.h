// The fanotify decision table: a flat buffer built by TypeScript (packages/collector/src/fanotify/
// table.ts mirrors this layout — keep them in sync), validated in full by Parse() and then only looked
// up by the responder thread. The table carries no policy semantics beyond "first matching rule wins".
//
// Layout, little-endian, no implicit padding:
//
//   header (16 bytes)
//     0  u32 version        = 1
//     4  u32 ruleCount
//     8  u32 stringsBytes   size of the strings section at the very end of the buffer
//    12  u32 flags          = 0 (reserved)
//   ruleCount rules, each a 24-byte rule header followed by its values:
//     0  u32 id             reported back in events
//     4  u8  event          1 = exec (FAN_OPEN_EXEC_PERM), 2 = open (FAN_OPEN_PERM)
//     5  u8  verdict        0 = allow, 1 = deny
//     6  u8  monitor        1 = a deny is reported but the access is allowed
//     7  u8  fileOp         0 any, 1 inode-set, 2 path equal, 3 path prefix, 4 path postfix
//     8  u32 fileValueCount
//    12  u8  procOp         0 any, 1 in, 2 notIn, 3 prefix, 4 notPrefix, 5 postfix, 6 notPostfix
//    13  u8  report         1 = report a match even when the verdict is allow
//    14  u16 reserved       = 0
//    16  u32 procValueCount
//    20  u32 reserved       = 0
//    24  fileValueCount values, then procValueCount values, 24 bytes each:
//          0  u32 kind      1 = inode, 2 = string
//          4  u32 len       string: byte length (1..4096, no NUL); inode: 0
//          8  u64 dev       inode: userspace st_dev;  string: byte offset in the strings section
//         16  u64 ino       inode: st_ino;            string: 0
//   strings section (stringsBytes bytes); the buffer ends exactly there.
//
// Matching (a rule matches when its event kind, its file condition and its process condition match):
//   file:  fileOp 0 matches every file. Otherwise the file matches when its (st_dev, st_ino) equals
//          an inode value, OR its path (readlink of /proc/self/fd/<event fd>) equals / starts with /
//          ends with a string value (fileOp 2 / 3 / 4; byte comparison; fileOp 1 allows inode values
//          only). For an exec event the file is the binary being executed.
//   proc:  the accessing process's executable: (dev, ino) from stat(/proc/<pid>/exe) and its path
//          from readlink(/proc/<pid>/exe). procOp 1 (in) matches when it equals an inode value or a
//          string value (path equality); 2 is its negation; 3/5 prefix/postfix of the path against
//          string values (strings only), 4/6 their negation. For an exec event this is the process
//          before the exec (the caller), e.g. the shell.
//   The first matching rule decides; no match allows without a report. If a fact a rule needs cannot
//   be read (/proc entry gone, kernel thread without exe) the event is allowed as undecided.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace peregrine {
namespace fantable {

constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 16;
constexpr size_t kRuleBytes = 24;
constexpr size_t kValueBytes = 24;
constexpr uint32_t kMaxRules = 1u << 16;
constexpr uint32_t kMaxStringLen = 4096;

enum Event : uint8_t { kExec = 1, kOpen = 2 };
enum FileOp : uint8_t { kFileAny = 0, kFileInode = 1, kFileEqual = 2, kFilePrefix = 3, kFilePostfix = 4 };
enum ProcOp : uint8_t {
  kProcAny = 0,
  kProcIn = 1,
  kProcNotIn = 2,
  kProcPrefix = 3,
  kProcNotPrefix = 4,
  kProcPostfix = 5,
  kProcNotPostfix = 6,
};
enum ValueKind : uint32_t { kInode = 1, kString = 2 };

struct Inode {
  uint64_t dev;
  uint64_t ino;
};

struct ValueSet {
  std::vector<Inode> inodes;
  std::vector<std::string_view> strings;  // views into Table::bytes_
};

struct Rule {
  uint32_t id;
  uint8_t event;
  uint8_t verdict;  // 0 allow, 1 deny
  bool monitor;
  bool report;
  uint8_t file_op;
  uint8_t proc_op;
  ValueSet file;
  ValueSet proc;
};

// Facts about one permission event, read lazily (each at most once) because most events are
// decided by the first cheap fact: fstat of the event fd. Each getter returns false if the fact
// cannot be read.
class EventFacts {
 public:
  EventFacts(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  bool FileInode(Inode* out);
  bool FilePath(const std::string** out);
  bool ExeInode(Inode* out);
  bool ExePath(const std::string** out);
  // For reports: whatever was read (empty / zero when unknown).
  const std::string& file_path() const { return file_path_; }
  const std::string& exe_path() const { return exe_path_; }

 private:
  int fd_;
  pid_t pid_;
  int8_t file_stat_ = 0, file_path_state_ = 0, exe_stat_ = 0, exe_path_state_ = 0;  // 0 unread, 1 ok, -1 failed
  Inode file_inode_{0, 0};
  Inode exe_inode_{0, 0};
  std::string file_path_;
  std::string exe_path_;
};

enum class Outcome { kNoMatch, kMatch, kUndecided };

class Table {
 public:
  // Validates the whole buffer; on any inconsistency returns null and sets *error.
  static std::shared_ptr<const Table> Parse(const uint8_t* data, size_t len, std::string* error);

  // Evaluates the rules for an event of this kind (kExec or kOpen) in order. On kMatch, *rule is
  // the first matching rule.
  Outcome Evaluate(uint8_t event, EventFacts& facts, const Rule** rule) const;

  bool HasRulesFor(uint8_t event) const { return event == kExec ? has_exec_ : has_open_; }
  // Whether no rule of this kind can ever match the event's file — whoever accesses it, by whatever
  // path it is reached later. Only decidable when every rule of the kind names its files by inode or
  // exact path (no "any", prefix or postfix): then a file that is none of them never matches, and its
  // later events of this kind may be left to a kernel ignore mark (the allow cache). A renamed or
  // hard-linked copy of such a file keeps the answer it had: the content was allowed. False when a
  // fact cannot be read.
  bool FileNeverMatches(uint8_t event, EventFacts& facts) const;
  size_t size() const { return rules_.size(); }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<Rule> rules_;
  bool has_exec_ = false;
  bool has_open_ = false;
  bool cacheable_exec_ = true;  // every exec rule names files by inode / exact path
  bool cacheable_open_ = true;
};

}  // namespace fantable
}  // namespace peregrine

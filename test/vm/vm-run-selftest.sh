#!/usr/bin/env bash
# Self-test of scripts/vm/vm-run.sh (boots the VM kernel ~6 times; ~1 min under TCG):
# exit codes, argument quoting, a command longer than the kernel command line, writes to the shared working
# directory and to VM_SHARE, the guest mounts, lsm=...,bpf on 5.10, timeout -> 124.
# usage: test/vm/vm-run-selftest.sh [kernel]   (default 6.1)
set -uo pipefail
cd "$(dirname "$0")/../.."
K=${1:-6.1}
RUN="env VM_KERNEL=$K VM_QUIET=1 scripts/vm/vm-run.sh"
fails=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$3], got [$2]"; fails=$((fails + 1)); fi; }

W=$(mktemp -d /tmp/vm-run-selftest.XXXXXX); S=$(mktemp -d /tmp/vm-run-share.XXXXXX)
trap 'rm -rf "$W" "$S"' EXIT
cd "$W"

$RUN 'exit 3' 2>/dev/null; check 'exit code propagates' "$?" 3
out=$($RUN printf '<%s>' 'a b' '$HOME' "it's" 2>/dev/null); check 'several arguments are quoted as given' "$out" "<a b><\$HOME><it's>"
long=$(printf 'echo %04d >/dev/null; ' $(seq 1 400)); out=$($RUN "$long echo long-ok" 2>/dev/null)
check "a ${#long}-byte command runs" "$out" long-ok
VM_SHARE=$S $RUN "echo w > $W/f && echo s > $S/g && pwd && echo \$HOME" > "$W/o" 2>/dev/null
check 'cwd, HOME' "$(tr '\n' ' ' < "$W/o")" "$W /tmp "
check 'writes to the working directory reach the host' "$(cat "$W/f" 2>/dev/null)" w
check 'writes to VM_SHARE reach the host' "$(cat "$S/g" 2>/dev/null)" s
out=$($RUN 'for m in /sys/fs/bpf /sys/kernel/tracing /sys/kernel/debug /sys/kernel/security /sys/fs/cgroup /dev/shm /dev/pts /tmp /run; do printf "%s=%s " $m $(awk -v m=$m "\$2==m {print \$3}" /proc/self/mounts | tail -1); done; touch /etc/x 2>/dev/null || echo ro' 2>/dev/null)
check 'guest mounts' "$out" "/sys/fs/bpf=bpf /sys/kernel/tracing=tracefs /sys/kernel/debug=debugfs /sys/kernel/security=securityfs /sys/fs/cgroup=cgroup2 /dev/shm=tmpfs /dev/pts=devpts /tmp=tmpfs /run=tmpfs ro"
out=$(VM_CGROUP2=/sys/fs/cgroup/unified $RUN 'awk "\$3==\"cgroup2\" {print \$2}" /proc/self/mounts' 2>/dev/null)
check 'VM_CGROUP2=/sys/fs/cgroup/unified' "$out" /sys/fs/cgroup/unified
out=$($RUN 'tr , "\n" < /sys/kernel/security/lsm | grep -x bpf' 2>/dev/null); check 'bpf is an active LSM' "$out" bpf
VM_TIMEOUT=20 $RUN 'sleep 600' 2>/dev/null; check 'timeout gives 124' "$?" 124
[ -z "$(ls -A "$W" | grep -v '^[fo]$')" ]; check 'nothing left in the working directory' "$?" 0
echo "$fails failed"
exit $((fails > 0))

#!/usr/bin/env bash
# vm-run.sh <command...>
#
# Boots another kernel under QEMU (TCG) on the host's own root filesystem (read-only 9p), runs <command> as
# root in the CURRENT working directory (shared read-write at the same path), prints its output and exits
# with its exit code. One argument is a shell command line (`vm-run.sh 'make && ./t'`); several arguments
# are one command and its arguments (quoted as given). The command travels in a script file (the kernel
# command line is limited to 2 KB) in a private host directory shared read-only with the guest (so nothing
# is written into the working directory), removed afterwards.
#
# Guest: busybox initramfs (built once per kernel, cached) loads the virtio/9p modules, mounts the host root
# read-only, then proc, sysfs, devtmpfs, devpts, /dev/shm, tmpfs /tmp /run /var/tmp, bpffs, tracefs,
# debugfs, securityfs and cgroup2; brings up lo; chroots and runs the command with HOME=/tmp, NO_COLOR=1.
# Kernels older than 6.1 (Debian 5.10: CONFIG_LSM without bpf) get lsm=lockdown,capability,landlock,yama,
# apparmor,bpf appended so BPF LSM programs actually run. No network device besides lo.
#
# Env:
#   VM_KERNEL   5.10 | 6.1 | 6.12 (from ${PEREGRINE_VM_CACHE:-/var/cache/peregrine-vm}, fetched with
#               fetch-kernels.sh when missing) or a directory holding boot/vmlinuz-* and
#               [usr/]lib/modules/*  (default 6.1)
#   VM_TIMEOUT  seconds before QEMU is killed (default 1800; exit 124, console log on stderr)
#   VM_MEM (4G), VM_SMP (2), VM_ACCEL (tcg,thread=multi), VM_APPEND (extra kernel args)
#   VM_CPU      QEMU -cpu (default max,la57=off,pcid=off,invpcid=off: under TCG, PCID/INVPCID and 5-level
#               paging make every fork+exec about twice as slow: ~90 ms instead of ~43 ms per exec)
#   VM_CGROUP2  where cgroup2 is mounted (default /sys/fs/cgroup; a path below it, e.g.
#               /sys/fs/cgroup/unified, mounts a tmpfs on /sys/fs/cgroup first: the host's hybrid layout)
#   VM_SHARE    more host directories shared read-write at the same paths (space separated), e.g. for results
#   VM_WORK_CACHE  9p cache mode of the working directory: none (default; coherent, slow metadata) or loose
#               (page cache: faster, host-side edits during the run may go unseen; synced before power-off)
#   VM_PASSENV  names of host environment variables to export into the guest command (space separated)
#   VM_CONSOLE  file to keep the guest console log in (default: a temporary file, shown on failure)
#   VM_QUIET=1  no timing line on stderr
# Exit: the command's code; 124 timeout; 125 boot failure (no result from the guest); 2 usage.
# Prints on stderr at the end: "vm-run: <uname -r>: boot <s> s, command <s> s, wall <s> s, rc <n>".
set -euo pipefail

say() { printf 'vm-run: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

[ $# -gt 0 ] || die "usage: [VM_KERNEL=5.10|6.1|6.12|dir] $0 <command...>"
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PEREGRINE_VM_CACHE:-/var/cache/peregrine-vm}
K=${VM_KERNEL:-6.1}
case $K in
  5.10|6.1|6.12)
    [ -f "$CACHE/$K/.complete" ] || "$HERE/fetch-kernels.sh" "$K" >&2
    K=$CACHE/$K ;;
esac
[ -d "$K" ] || die "VM_KERNEL: no such kernel directory: $K"
K=$(cd "$K" && pwd)
KERNEL=$(ls "$K"/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$KERNEL" ] || die "no boot/vmlinuz-* in $K"
KREL=${KERNEL##*/vmlinuz-}
MODDIR=$(ls -d "$K"/lib/modules/* "$K"/usr/lib/modules/* 2>/dev/null | head -1 || true)
for t in qemu-system-x86_64 busybox timeout; do
  command -v $t >/dev/null || die "$t not found (apt-get install qemu-system-x86 busybox-static)"
done

W=$PWD
case $W in *[[:space:],]*) die "the working directory must not contain spaces or commas: $W";; esac
CG=${VM_CGROUP2:-/sys/fs/cgroup}
case $CG in /sys/fs/cgroup|/sys/fs/cgroup/[a-z]*) ;; *) die "VM_CGROUP2 must be /sys/fs/cgroup or below it";; esac

# ---- initramfs (per kernel, rebuilt when missing or older than this script) ---------------------------
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p"
INITRD=$K/.vm-initrd.cpio
if [ ! -s "$INITRD" ] || [ "$0" -nt "$INITRD" ]; then
  T=$(mktemp -d)
  mkdir -p "$T"/{bin,mods,proc,sys,dev,newroot}
  cp "$(command -v busybox)" "$T/bin/busybox"
  file "$T/bin/busybox" 2>/dev/null | grep -q dynamic && die "busybox is dynamically linked: install busybox-static"
  for m in $MODS; do
    f=$( [ -n "$MODDIR" ] && find "$MODDIR" -name "$m.ko*" | head -1 || true)   # absent = built in
    case $f in
      *.xz) xz -dc "$f" > "$T/mods/$m.ko" ;;
      *.zst) zstd -qdc "$f" > "$T/mods/$m.ko" ;;
      ?*) cp "$f" "$T/mods/$m.ko" ;;
    esac
  done
  cat > "$T/init" <<EOF
#!/bin/busybox sh
MODS="$MODS"
EOF
  cat >> "$T/init" <<'EOF'
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
fail() { echo "VMRUN_FAIL $*"; poweroff -f; }
for m in $MODS; do [ -f /mods/$m.ko ] && { insmod /mods/$m.ko || echo "insmod $m failed"; }; done
W=; CG=/sys/fs/cgroup; WC=none; NS=0
for a in $(cat /proc/cmdline); do
  case $a in vmwork=*) W=${a#vmwork=};; vmcgroup2=*) CG=${a#vmcgroup2=};; vmworkcache=*) WC=${a#vmworkcache=};;
    vmshares=*) NS=${a#vmshares=};; esac
done
R=/newroot; O=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $O,ro,cache=loose root $R || fail "mount of the host root failed"
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs $R/$d; done
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/shm $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm; mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t bpf bpf $R/sys/fs/bpf
mount -t tracefs tracefs $R/sys/kernel/tracing
mount -t debugfs debugfs $R/sys/kernel/debug
mount -t securityfs securityfs $R/sys/kernel/security
if [ "$CG" != /sys/fs/cgroup ]; then mount -t tmpfs -o mode=755 cgroup $R/sys/fs/cgroup; mkdir -p $R$CG; fi
mount -t cgroup2 -o nsdelegate cgroup2 $R$CG || fail "cgroup2 mount failed"
ifconfig lo 127.0.0.1 netmask 255.0.0.0 up; hostname peregrine-vm
C=$R/run/vm-run; mkdir -p $C; mount -t 9p -o $O,ro ctl $C || fail "mount of the control directory failed"
i=0; while [ $i -lt $NS ]; do
  P=$(sed -n "$((i + 1))p" $C/shares); mkdir -p $R$P 2>/dev/null
  mount -t 9p -o $O,cache=none share$i $R$P || fail "mount of $P failed"; i=$((i + 1))
done
mkdir -p $R$W 2>/dev/null # a working directory under /tmp or /run sits on the fresh tmpfs
mount -t 9p -o $O,cache=$WC work $R$W || fail "mount of the working directory $W failed"
echo "VMRUN_START uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"
stty -F /dev/ttyS1 raw -echo
# stdout/stderr are a pipe (as under CI), not the serial tty: no interactive progress output
{ env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TERM=dumb NO_COLOR=1 \
    LANG=C.UTF-8 USER=root LOGNAME=root chroot $R /bin/bash /run/vm-run/cmd.sh </dev/null 2>&1; echo $? > /rc; } | cat >/dev/ttyS1
rc=$(cat /rc)
sync; umount $R$W 2>/dev/null; i=0; while [ $i -lt $NS ]; do umount $R$(sed -n "$((i + 1))p" $C/shares) 2>/dev/null; i=$((i + 1)); done; sync
echo "VMRUN_RC=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
EOF
  chmod +x "$T/init"
  (cd "$T" && find . | busybox cpio -o -H newc 2>/dev/null) > "$INITRD.tmp.$$"
  mv "$INITRD.tmp.$$" "$INITRD"
  rm -rf "$T"
fi

# ---- kernel command line and the command script -------------------------------------------------------
APPEND="console=ttyS0 loglevel=4 panic=-1 ${VM_APPEND:-}"
case $KREL in
  [1-4].*|5.*|6.0.*) case ${VM_APPEND:-} in *lsm=*) ;; *) APPEND="$APPEND lsm=lockdown,capability,landlock,yama,apparmor,bpf" ;; esac ;;
esac
CTL=$(mktemp -d /tmp/vm-run.XXXXXX)
SHARE_ARGS=()
n=0
: > "$CTL/shares"
for d in ${VM_SHARE:-}; do
  d=$(cd "$d" && pwd) || die "VM_SHARE: no such directory: $d"
  case $d in *[[:space:],]*) die "VM_SHARE: paths must not contain spaces or commas: $d";; esac
  echo "$d" >> "$CTL/shares"
  SHARE_ARGS+=(-virtfs "local,path=$d,mount_tag=share$n,security_model=none,multidevs=remap")
  n=$((n + 1))
done
WC=${VM_WORK_CACHE:-none}
case $WC in none|loose|mmap) ;; *) die "VM_WORK_CACHE must be none, loose or mmap";; esac
{
  echo '# generated by scripts/vm/vm-run.sh; removed after the run'
  for v in ${VM_PASSENV:-}; do [ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"; done
  printf 'cd %q || exit 126\n' "$W"
  if [ $# -eq 1 ]; then printf '%s\n' "$1"; else printf 'exec'; printf ' %q' "$@"; printf '\n'; fi
} > "$CTL/cmd.sh"
LOG=${VM_CONSOLE:-$CTL/console.log}
cleanup() { rm -rf "$CTL"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s.%N)
qrc=0
timeout -k 10 "${VM_TIMEOUT:-1800}" qemu-system-x86_64 -nodefaults -no-user-config \
  -accel "${VM_ACCEL:-tcg,thread=multi}" -cpu "${VM_CPU:-max,la57=off,pcid=off,invpcid=off}" -m "${VM_MEM:-4G}" -smp "${VM_SMP:-2}" \
  -no-reboot -display none -vga none -monitor none -nic none \
  -serial "file:$LOG" -serial stdio -kernel "$KERNEL" -initrd "$INITRD" \
  -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$W,mount_tag=work,security_model=none,multidevs=remap" \
  -virtfs "local,path=$CTL,mount_tag=ctl,security_model=none,readonly=on" "${SHARE_ARGS[@]}" \
  -append "$APPEND vmwork=$W vmcgroup2=$CG vmworkcache=$WC vmshares=$n" </dev/null || qrc=$?
wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

RC=$(sed -n 's/.*VMRUN_RC=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
up0=$(sed -n 's/.*VMRUN_START uptime=\([0-9.]*\).*/\1/p' "$LOG" | tail -1)
up1=$(sed -n 's/.*VMRUN_RC=[0-9]* uptime=\([0-9.]*\).*/\1/p' "$LOG" | tail -1)
if [ -z "$RC" ]; then
  if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then RC=124; say "timeout after ${VM_TIMEOUT:-1800} s ($KREL)"
  else RC=125; say "no result from the guest ($KREL; qemu exit $qrc)"; fi
fi
if [ "$RC" != 0 ]; then
  n=$(wc -l < "$LOG")
  say "guest console log ($KREL, $n lines$( [ "$n" -gt 300 ] && echo ', last 300'))${VM_CONSOLE:+, kept in $LOG}:"
  tail -n 300 "$LOG" | sed 's/^/  | /' >&2
fi
cmd_s='?'; [ -n "$up0" ] && [ -n "$up1" ] && cmd_s=$(awk -v a="$up0" -v b="$up1" 'BEGIN { printf "%.1f", b - a }')
[ "${VM_QUIET:-0}" = 1 ] || say "$KREL: boot ${up0:-?} s, command $cmd_s s, wall $wall s, rc $RC"
exit "$RC"

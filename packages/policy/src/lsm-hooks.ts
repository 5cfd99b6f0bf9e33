// LSM hooks a policy may name (the security_* hooks of include/linux/lsm_hook_defs.h most used by
// security policies). A name outside this list is refused as unknown rather than failing at attach.
export const LSM_HOOKS = new Set([
  'bprm_check_security', 'bprm_creds_for_exec', 'bprm_committed_creds', 'file_open', 'file_permission', 'file_ioctl',
  'file_mprotect', 'mmap_file', 'file_receive', 'file_truncate', 'path_truncate', 'path_unlink', 'path_mkdir', 'path_rmdir',
  'path_rename', 'path_link', 'path_symlink', 'path_chmod', 'path_chown', 'inode_permission', 'inode_unlink', 'inode_create',
  'inode_rename', 'inode_setattr', 'socket_create', 'socket_connect', 'socket_bind', 'socket_listen', 'socket_accept',
  'socket_sendmsg', 'socket_recvmsg', 'task_kill', 'task_fix_setuid', 'task_fix_setgid', 'capable', 'ptrace_access_check',
  'sb_mount', 'sb_umount', 'kernel_module_request', 'kernel_load_data', 'kernel_read_file', 'bpf', 'bpf_map', 'bpf_prog',
  'cred_prepare', 'task_alloc', 'task_prctl', 'settime', 'syslog', 'quotactl', 'unix_stream_connect',
]);

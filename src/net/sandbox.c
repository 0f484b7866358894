/* sandbox.c: the confinement of a login process (net/login.c).
 *
 * A login process parses what unauthenticated clients send and runs
 * their TLS handshakes: it is the part of the server an attacker reaches
 * first.  Once its listening sockets, TLS context and channel to its
 * worker exist it needs no file, no new network socket and no program,
 * so it gives up every way to get them, in this order:
 *
 *   1. (root) chroot into an empty directory that no longer has a name
 *      (created, opened, removed, then entered: nothing can be created
 *      in it and nothing outside it can be named);
 *   2. (root) switch to login_user with no supplementary groups;
 *   3. PR_SET_NO_NEW_PRIVS and not dumpable (no ptrace by its own uid,
 *      no core file with the TLS key in it);
 *   4. Landlock, if the kernel has it: a ruleset that handles every
 *      filesystem right (and TCP bind/connect from ABI 4 on) and allows
 *      none;
 *   5. a seccomp filter that makes the dangerous system calls fail
 *      with EPERM: execve/execveat, ptrace and process_vm_*, open,
 *      openat, openat2, creat, connect, bind, listen, socket() of any
 *      family but AF_UNIX, mount/chroot/pivot_root/unshare/setns,
 *      module, kexec, bpf and perf calls.
 *
 * Each step that is not possible (not root: 1-2; an old kernel: 4) is
 * skipped and the log line says which protections are on.  Nothing here
 * may run in a worker. */
#include "net-private.h"
#include "privs.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* linux/landlock.h of older systems lacks the later fields and rights:
 * the ABI is fixed, so they are spelled out here. */
struct sandbox_landlock_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
};
#define SANDBOX_LANDLOCK_FS_ABI1 ((1ULL << 13) - 1)
#define SANDBOX_LANDLOCK_FS_REFER (1ULL << 13)		/* ABI 2 */
#define SANDBOX_LANDLOCK_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#define SANDBOX_LANDLOCK_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */
#define SANDBOX_LANDLOCK_NET_ALL 3ULL			/* bind, connect TCP */
#define SANDBOX_LANDLOCK_VERSION 1U

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Step 1: an empty directory without a name as the root. */
static int sandbox_chroot(char **error_r)
{
	char path[] = "/tmp/roost-login-XXXXXX";
	if (mkdtemp(path) == NULL) {
		*error_r = xasprintf("mkdtemp(%s): %s", path, strerror(errno));
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	(void)rmdir(path);
	if (fd < 0) {
		*error_r = xasprintf("open(%s): %s", path, strerror(err));
		return -1;
	}
	if (fchdir(fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		err = errno;
		close(fd);
		*error_r = xasprintf("chroot: %s", strerror(err));
		return -1;
	}
	close(fd);
	return 0;
}

/* Step 4: returns the ABI version in force, 0 if the kernel has no
 * Landlock, -1 on an error (logged). */
static int sandbox_landlock(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, SANDBOX_LANDLOCK_VERSION);
	if (abi < 0)
		return 0;	/* ENOSYS, EOPNOTSUPP: not built or disabled */
	struct sandbox_landlock_attr attr = { .handled_access_fs = SANDBOX_LANDLOCK_FS_ABI1 };
	size_t size = offsetof(struct sandbox_landlock_attr, handled_access_net);
	if (abi >= 2)
		attr.handled_access_fs |= SANDBOX_LANDLOCK_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= SANDBOX_LANDLOCK_FS_TRUNCATE;
	if (abi >= 4) {
		attr.handled_access_net = SANDBOX_LANDLOCK_NET_ALL;
		size = sizeof(attr);
	}
	if (abi >= 5)
		attr.handled_access_fs |= SANDBOX_LANDLOCK_FS_IOCTL_DEV;
	int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0) {
		log_error("login sandbox: landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	/* no rule: nothing on any filesystem is allowed */
	int ret = (int)syscall(SYS_landlock_restrict_self, fd, 0);
	int err = errno;
	close(fd);
	if (ret < 0) {
		log_error("login sandbox: landlock_restrict_self: %s", strerror(err));
		return -1;
	}
	return (int)abi;
}

#define SANDBOX_DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

/* Step 5. */
static int sandbox_seccomp(void)
{
#ifdef SANDBOX_AUDIT_ARCH
	struct sock_filter filter[] = {
		/* another architecture's calling convention: kill */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
		/* the x32 ABI shares the architecture number */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		SANDBOX_DENY(__NR_open),
		SANDBOX_DENY(__NR_creat),
#endif
		/* socket(): AF_UNIX only (socketpair() for the TLS proxy) */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		SANDBOX_DENY(__NR_openat),
		SANDBOX_DENY(__NR_openat2),
		SANDBOX_DENY(__NR_open_by_handle_at),
		SANDBOX_DENY(__NR_execve),
		SANDBOX_DENY(__NR_execveat),
		SANDBOX_DENY(__NR_ptrace),
		SANDBOX_DENY(__NR_process_vm_readv),
		SANDBOX_DENY(__NR_process_vm_writev),
		SANDBOX_DENY(__NR_connect),
		SANDBOX_DENY(__NR_bind),
		SANDBOX_DENY(__NR_listen),
		SANDBOX_DENY(__NR_mount),
		SANDBOX_DENY(__NR_chroot),
		SANDBOX_DENY(__NR_pivot_root),
		SANDBOX_DENY(__NR_unshare),
		SANDBOX_DENY(__NR_setns),
		SANDBOX_DENY(__NR_init_module),
		SANDBOX_DENY(__NR_finit_module),
		SANDBOX_DENY(__NR_kexec_load),
		SANDBOX_DENY(__NR_bpf),
		SANDBOX_DENY(__NR_perf_event_open),
		SANDBOX_DENY(__NR_userfaultfd),
		SANDBOX_DENY(__NR_keyctl),
		SANDBOX_DENY(__NR_add_key),
		SANDBOX_DENY(__NR_request_key),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = (unsigned short)N_ELEMENTS(filter), .filter = filter };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		log_error("login sandbox: seccomp: %s", strerror(errno));
		return -1;
	}
	return 1;
#else
	return 0;
#endif
}

int net_sandbox_enter(const struct privs *privs)
{
	char *error = NULL;
	bool rooted = false;

	/* what the C library would read from files later: the time zone
	 * for log lines */
	tzset();
	if (privs->drop) {
		if (sandbox_chroot(&error) < 0) {
			log_error("login sandbox: %s", error);
			free(error);
			return -1;
		}
		rooted = true;
		/* no supplementary groups: the user's groups could open files */
		struct privs alone = *privs;
		alone.groups = NULL;
		alone.group_count = 0;
		if (privs_drop(&alone, &error) < 0) {
			log_error("login sandbox: %s", error);
			free(error);
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0) {
		log_error("login sandbox: prctl: %s", strerror(errno));
		return -1;
	}
	int landlock = sandbox_landlock();
	int seccomp = sandbox_seccomp();
	if (landlock < 0 || seccomp < 0)
		return -1;
	char landlock_desc[32];
	if (landlock > 0)
		snprintf(landlock_desc, sizeof(landlock_desc), "landlock ABI %d", landlock);
	else
		snprintf(landlock_desc, sizeof(landlock_desc), "no landlock (kernel)");
	log_info("login process sandboxed: %s%s, no_new_privs, %s, %s",
		 rooted ? "user " : "not root: same user",
		 rooted ? privs->user : "", landlock_desc,
		 seccomp > 0 ? "seccomp" : "no seccomp (architecture)");
	return 0;
}

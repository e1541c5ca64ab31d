/*
 * The ward process (ward.h). Life cycle:
 *
 *   fork -> child: PTRACE_TRACEME, stop; the tracer sets its options
 *   (TRACESECCOMP, EXITKILL) -> child: CPUID and RDTSC faulting, the
 *   gadget page, fds closed but the RAM memfd, no_new_privs, a seccomp
 *   filter that traces every system call -> its next system call stops it
 *   for good: from there on it runs only what the tracer sets up.
 *
 * The tracer then unmaps all of the child's address space but the gadget
 * (through the gadget: a system call made for the tracer is the SYSCALL at
 * WARD_GADGET, which the seccomp stop lets through, then the INT3 after it
 * stops the ward again).
 *
 * Stops: a seccomp stop (PTRACE_EVENT_SECCOMP) for a system call, a
 * signal-delivery stop for anything else. A signal is never delivered:
 * every resume passes signal 0.
 */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "native/ward.h"

#ifndef ARCH_SET_CPUID
#define ARCH_SET_CPUID 0x1012
#endif

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

bool ward_host_fsgsbase(void)
{
	return (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
}

enum ward_state { STOPPED_SIGNAL, STOPPED_SECCOMP };

struct ward {
	pid_t pid;
	enum ward_state state;
};

/* Exit statuses of a child that could not become a ward, and what they mean. */
static const char *const child_failure[] = {
	[10] = "PTRACE_TRACEME failed",
	[11] = "PR_SET_TSC failed",
	[12] = "the host CPU has no CPUID faulting (ARCH_SET_CPUID)",
	[13] = "the gadget page cannot be mapped",
	[14] = "seccomp is not available",
	[16] = "libc's rseq area cannot be unregistered",
	[17] = "the host CPU of the vCPU's number is not available to it",
};

static _Noreturn void child(int ram_fd, unsigned host_cpu)
{
	cpu_set_t one;
	static const unsigned char gadget[] = { 0x0f, 0x05, 0xcc };	/* SYSCALL; INT3 */
	struct sock_filter trace_all = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	struct sock_fprog prog = { .len = 1, .filter = &trace_all };
	sigset_t none;
	void *g;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	CPU_ZERO(&one);
	if (host_cpu >= CPU_SETSIZE)
		_exit(17);
	CPU_SET(host_cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		_exit(17);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(10);
	raise(SIGSTOP);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the kernel would update libc's rseq area at every return to user space: it goes with the rest */
	if (__rseq_size) {
		/* unregistering needs the length libc registered, which __rseq_size need not be (glibc 2.36: 32) */
		static const unsigned lens[] = { 32, 64, 128, 256 };
		bool gone = syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, __rseq_size,
				    RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0;

		for (unsigned i = 0; !gone && i < sizeof(lens) / sizeof(lens[0]); i++)
			gone = syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, lens[i],
				       RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0;
		if (!gone)
			_exit(16);
	}
	if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV))
		_exit(11);
	if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0))
		_exit(12);
	g = mmap((void *)WARD_GADGET, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (g != (void *)WARD_GADGET)
		_exit(13);
	memcpy(g, gadget, sizeof(gadget));
	if (mprotect(g, 4096, PROT_READ | PROT_EXEC))
		_exit(13);
	/* nothing of the monitor's but guest RAM */
	if (ram_fd > 0)
		syscall(SYS_close_range, 0, ram_fd - 1, 0);
	syscall(SYS_close_range, ram_fd + 1, ~0u, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(14);
	syscall(SYS_getpid);	/* the first traced call: the tracer takes over here */
	_exit(15);
}

static bool is_seccomp_stop(int st)
{
	return WIFSTOPPED(st) && (st >> 8) == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8));
}

/* Wait for the next stop; -1 when the ward is gone. */
static int wait_stop(struct ward *w, int *st)
{
	for (;;) {
		pid_t r = waitpid(w->pid, st, __WALL);

		if (r == w->pid) {
			if ((WIFEXITED(*st) || WIFSIGNALED(*st)) && getenv("RINGVM_NATIVE_TRACE"))
				fprintf(stderr, "native: the ward ended: status %#x\n", *st);
			return (WIFEXITED(*st) || WIFSIGNALED(*st)) ? -1 : 0;
		}
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int ward_spawn(struct ward **out, int ram_fd, unsigned host_cpu, char *err, size_t errlen)
{
	struct ward *w = calloc(1, sizeof(*w));
	int st;
	long r;

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	w->pid = fork();
	if (w->pid < 0) {
		snprintf(err, errlen, "cannot fork the ward: %s", strerror(errno));
		free(w);
		return -EAGAIN;
	}
	if (w->pid == 0)
		child(ram_fd, host_cpu);
	if (wait_stop(w, &st) || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
		goto failed;
	if (ptrace(PTRACE_SETOPTIONS, w->pid, NULL, (void *)(long)(PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)) ||
	    ptrace(PTRACE_CONT, w->pid, NULL, NULL))
		goto failed;
	if (wait_stop(w, &st) || !is_seccomp_stop(st))
		goto failed;
	w->state = STOPPED_SECCOMP;
	/* everything the fork gave it goes, but the gadget (and the vsyscall page, which is not in user space) */
	r = ward_syscall(w, SYS_munmap, 0, (long)WARD_GADGET, 0, 0, 0, 0);
	if (!r)
		r = ward_syscall(w, SYS_munmap, (long)(WARD_GADGET + 4096), (long)(WARD_TOP - WARD_GADGET - 4096), 0, 0, 0,
				 0);
	if (r) {
		snprintf(err, errlen, "cannot empty the ward's address space: %s", strerror((int)-r));
		ward_destroy(w);
		return -EIO;
	}
	*out = w;
	return 0;

failed:
	if (WIFEXITED(st) && WEXITSTATUS(st) < (int)(sizeof(child_failure) / sizeof(child_failure[0])) &&
	    child_failure[WEXITSTATUS(st)])
		snprintf(err, errlen, "cannot start the ward: %s", child_failure[WEXITSTATUS(st)]);
	else
		snprintf(err, errlen, "cannot start the ward: ptrace or seccomp refused (status %#x)", st);
	ward_destroy(w);
	return -ENOSYS;
}

void ward_destroy(struct ward *w)
{
	int st;

	if (!w)
		return;
	kill(w->pid, SIGKILL);
	while (waitpid(w->pid, &st, __WALL) < 0 && errno == EINTR)
		;
	free(w);
}

pid_t ward_pid(const struct ward *w)
{
	return w->pid;
}

/*
 * Resume from the current stop with regs; a seccomp stop's own call is
 * skipped (orig_rax -1) unless regs name another one.
 */
static int resume(struct ward *w, const struct user_regs_struct *regs)
{
	if (ptrace(PTRACE_SETREGS, w->pid, NULL, regs))
		return -1;
	return ptrace(PTRACE_CONT, w->pid, NULL, NULL) ? -1 : 0;
}

/* Wait for the INT3 after the gadget's SYSCALL (a kick in between is dropped: the run loop sees its request). */
static int wait_gadget_trap(struct ward *w)
{
	int st;

	for (;;) {
		if (wait_stop(w, &st))
			return -1;
		if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP && !is_seccomp_stop(st))
			break;
		if (ptrace(PTRACE_CONT, w->pid, NULL, NULL))
			return -1;
	}
	w->state = STOPPED_SIGNAL;
	return 0;
}

/*
 * Registers for a call at the gadget: none of the guest's, which may be
 * what PTRACE_SETREGS refuses (a kernel-half FS or GS base that WRFSBASE
 * wrote) or get in the way (TF would trap after the SYSCALL).
 */
static void gadget_regs(struct user_regs_struct *r, unsigned long rip)
{
	memset(r, 0, sizeof(*r));
	r->rip = rip;
	r->eflags = 0x202;
	r->cs = 0x33;
	r->ss = 0x2b;
	r->orig_rax = ~0ul;
}

long ward_syscall(struct ward *w, long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	struct user_regs_struct r;
	int st;

	if (w->state == STOPPED_SECCOMP) {
		/*
		 * Leave the stopped call, skipped, for the INT3: it may be of
		 * another ABI (INT 80h), whose numbers are not the 64-bit ones.
		 */
		gadget_regs(&r, WARD_GADGET + 2);
		if (resume(w, &r) || wait_gadget_trap(w))
			return -ESRCH;
	}
	gadget_regs(&r, WARD_GADGET);
	r.rax = (unsigned long)nr;
	r.rdi = (unsigned long)a0;
	r.rsi = (unsigned long)a1;
	r.rdx = (unsigned long)a2;
	r.r10 = (unsigned long)a3;
	r.r8 = (unsigned long)a4;
	r.r9 = (unsigned long)a5;
	if (resume(w, &r))
		return -ESRCH;
	/* its seccomp stop: let it through */
	for (;;) {
		if (wait_stop(w, &st))
			return -ESRCH;
		if (is_seccomp_stop(st))
			break;
		if (ptrace(PTRACE_CONT, w->pid, NULL, NULL))
			return -ESRCH;
	}
	if (ptrace(PTRACE_CONT, w->pid, NULL, NULL) || wait_gadget_trap(w) ||
	    ptrace(PTRACE_GETREGS, w->pid, NULL, &r))
		return -ESRCH;
	return (long)r.rax;
}

/*
 * The host's vsyscall emulation (a call into its vsyscall page, which it
 * turns into a system call that seccomp stops) kills the process if the
 * tracer changes its instruction pointer: so resume it untouched with the
 * call skipped, let it finish the RET it emulates, and stop it at once with
 * a kick signal sent before.
 */
int ward_drop_vsyscall(struct ward *w)
{
	struct user_regs_struct r;
	int st;

	if (w->state != STOPPED_SECCOMP)
		return 0;
	if (ptrace(PTRACE_GETREGS, w->pid, NULL, &r))
		return -1;
	r.orig_rax = ~0ul;
	kill(w->pid, WARD_KICK_SIGNAL);
	if (resume(w, &r))
		return -1;
	do {
		if (wait_stop(w, &st))
			return -1;
	} while (is_seccomp_stop(st) && !ptrace(PTRACE_CONT, w->pid, NULL, NULL));
	w->state = STOPPED_SIGNAL;
	return 0;
}

enum ward_stop ward_run(struct ward *w, struct user_regs_struct *regs, struct user_fpregs_struct *fp,
			siginfo_t *info)
{
	int st, sig;

	regs->orig_rax = ~0ul;	/* skips the call a seccomp stop holds; no restart at a signal stop */
	if (ptrace(PTRACE_SETFPREGS, w->pid, NULL, fp) || resume(w, regs))
		return WARD_STOP_GONE;
	if (wait_stop(w, &st))
		return WARD_STOP_GONE;
	if (ptrace(PTRACE_GETREGS, w->pid, NULL, regs) || ptrace(PTRACE_GETFPREGS, w->pid, NULL, fp))
		return WARD_STOP_GONE;
	if (is_seccomp_stop(st)) {
		w->state = STOPPED_SECCOMP;
		return WARD_STOP_SYSCALL;
	}
	w->state = STOPPED_SIGNAL;
	sig = WSTOPSIG(st);
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) {
		if (ptrace(PTRACE_GETSIGINFO, w->pid, NULL, info))
			return WARD_STOP_GONE;
		/* one sent by kill() is no fault of the code */
		if (info->si_code > 0)
			return WARD_STOP_FAULT;
	}
	return WARD_STOP_KICK;
}

/*
 * The ward: a host process that runs a guest's ring-3 code natively
 * (native.c decides when). It is a child of the vCPU thread, traced by it
 * (ptrace), with no mapping of its own but one page holding a SYSCALL and
 * an INT3 (the gadget) and the guest pages native.c mirrors into it from
 * the guest-RAM memfd. Every system call it makes stops it (seccomp
 * SECCOMP_RET_TRACE), every fault and signal stops it (ptrace), CPUID and
 * RDTSC fault (ARCH_SET_CPUID, PR_SET_TSC), so guest code reaches nothing
 * of the host: it can only compute in the pages it is given.
 */
#ifndef RV_NATIVE_WARD_H
#define RV_NATIVE_WARD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* The gadget's page: the one address in the ward a guest mapping may not use. */
#define WARD_GADGET 0x3ffffffff000ull
/* The top of the host's user address space (47 bits, 4-level paging). */
#define WARD_TOP 0x7ffffffff000ull
/* The signal that asks a running ward to stop (any thread may send it). */
#define WARD_KICK_SIGNAL SIGUSR1

enum ward_stop {
	WARD_STOP_KICK,		/* stopped by WARD_KICK_SIGNAL (or another asynchronous signal) */
	WARD_STOP_SYSCALL,	/* guest code made a system call: rip is after it, orig_rax its number */
	WARD_STOP_FAULT,	/* a synchronous signal: info says which */
	WARD_STOP_GONE,		/* the ward died */
};

struct ward;

/* Does the host let user code run RDFSBASE and co. (CR4.FSGSBASE)? */
bool ward_host_fsgsbase(void);

/*
 * Start a ward that can map ram_fd, bound to host CPU host_cpu (RDPID and
 * LSL on the per-CPU GDT entry give a CPU number that code cannot be kept
 * from reading natively: it must be the vCPU's). On failure, one line in
 * err. Call on the thread that will run it.
 */
int ward_spawn(struct ward **out, int ram_fd, unsigned host_cpu, char *err, size_t errlen);
void ward_destroy(struct ward *w);
pid_t ward_pid(const struct ward *w);

/*
 * Run the ward from regs and fp until it stops; regs, fp and (for a fault)
 * info describe the stop. Only from the thread that spawned it.
 */
enum ward_stop ward_run(struct ward *w, struct user_regs_struct *regs, struct user_fpregs_struct *fp,
			siginfo_t *info);

/*
 * After WARD_STOP_SYSCALL with rip in the host's vsyscall page: drop the
 * call the host's vsyscall emulation made of it, leaving the ward stopped
 * (its registers are then of no use). 0, or -1 if the ward is gone.
 */
int ward_drop_vsyscall(struct ward *w);

/* Make a system call in the stopped ward; the result, or -errno. */
long ward_syscall(struct ward *w, long nr, long a0, long a1, long a2, long a3, long a4, long a5);

#endif

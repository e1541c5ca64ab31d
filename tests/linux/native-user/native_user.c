/*
 * A guest program for native user code (tests/linux/native-user.sh): runs
 * inside a ringvm guest, where --native-user may put it on the host CPU,
 * and checks what a process sees there: computed results, faults and the
 * signals the guest kernel makes of them (#PF on mprotect/munmap, #DE,
 * #UD, #BP), CPUID and RDTSC as the guest CPU answers them, system calls,
 * fork and copy-on-write, threads and their TLS (FS base), signals that
 * interrupt a compute loop, self-modifying code, remapped pages and huge
 * pages split by munmap. Each check prints "native_user: NAME ok" or
 * "native_user: FAIL NAME ..."; the results that must not depend on the
 * engine go into one digest line, which the script compares across
 * engines. The last line is "native_user: all passed" or "native_user:
 * N failed".
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>

static int failures;
static uint64_t digest = 1469598103934665603ull;

static void mix(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		digest ^= (v >> (8 * i)) & 0xff;
		digest *= 1099511628211ull;
	}
}

#define CHECK(name, cond, ...)                                                   \
	do {                                                                     \
		if (cond) {                                                      \
			printf("native_user: %s ok\n", name);                    \
		} else {                                                         \
			printf("native_user: FAIL %s: ", name);                  \
			printf(__VA_ARGS__);                                     \
			printf("\n");                                            \
			failures++;                                              \
		}                                                                \
		fflush(stdout);                                                  \
	} while (0)

/* A compute loop long enough to go native under the default heat (several timer ticks). */
static uint64_t crunch(uint8_t *buf, size_t len, unsigned rounds)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (unsigned r = 0; r < rounds; r++)
		for (size_t i = 0; i < len; i += 8) {
			uint64_t v;

			memcpy(&v, buf + i, 8);
			h = (h ^ v) * 0xff51afd7ed558ccdull;
			h ^= h >> 29;
			v = h + r;
			memcpy(buf + i, &v, 8);
		}
	return h;
}

static void test_compute(void)
{
	size_t len = 8 << 20;
	uint8_t *buf = malloc(len);
	uint64_t h;
	double x = 0.5;
	long double y = 1.0L;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 11));
	h = crunch(buf, len, 12);
	for (int i = 0; i < 200000; i++) {
		x = x * 3.7 * (1.0 - x);	/* SSE2 */
		y = y * 1.0000001L + 0.25L / (y + 1.0L);	/* x87 */
	}
	mix(h);
	mix((uint64_t)(x * 1e15));
	mix((uint64_t)(y * 1e6L));
	printf("native_user: compute %016llx\n", (unsigned long long)h);
	CHECK("compute", h != 0, "zero hash");
	free(buf);
}

static sigjmp_buf jump;
static volatile siginfo_t last;
static volatile uint64_t last_rip;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	last = *si;
	last_rip = (uint64_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	siglongjmp(jump, sig);
}

static void catch(int sig)
{
	struct sigaction sa = { 0 };

	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(sig, &sa, NULL);
}

static void test_faults(void)
{
	volatile uint8_t *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile int zero = 0, r = 0;
	int sig;

	catch(SIGSEGV);
	catch(SIGFPE);
	catch(SIGILL);
	catch(SIGTRAP);
	p[0] = 1, p[4096] = 2, p[8192] = 3;

	mprotect((void *)(p + 4096), 4096, PROT_READ);
	if (!(sig = sigsetjmp(jump, 1)))
		p[4096] = 5;
	CHECK("mprotect read-only", sig == SIGSEGV && last.si_code == SEGV_ACCERR && last.si_addr == p + 4096,
	      "signal %d code %d addr %p", sig, last.si_code, last.si_addr);
	CHECK("read-only page still readable", p[4096] == 2, "read %d", p[4096]);
	mprotect((void *)(p + 4096), 4096, PROT_READ | PROT_WRITE);
	p[4096] = 6;
	CHECK("mprotect back to writable", p[4096] == 6, "read %d", p[4096]);

	munmap((void *)(p + 8192), 4096);
	if (!(sig = sigsetjmp(jump, 1)))
		r = p[8192];
	CHECK("munmap", sig == SIGSEGV && last.si_code == SEGV_MAPERR && last.si_addr == p + 8192,
	      "signal %d code %d addr %p", sig, last.si_code, last.si_addr);

	if (!(sig = sigsetjmp(jump, 1)))
		r = 7 / zero;
	CHECK("divide error", sig == SIGFPE && last.si_code == FPE_INTDIV, "signal %d code %d", sig, last.si_code);

	if (!(sig = sigsetjmp(jump, 1)))
		__asm__ volatile("ud2");
	CHECK("invalid opcode", sig == SIGILL && last.si_code == ILL_ILLOPN, "signal %d code %d", sig, last.si_code);

	if (!(sig = sigsetjmp(jump, 1))) {
		__asm__ volatile("int3\n\t.globl after_int3\nafter_int3:");
	}
	{
		extern char after_int3[];

		CHECK("int3", sig == SIGTRAP && last_rip == (uint64_t)after_int3, "signal %d rip %#llx, want %p", sig,
		      (unsigned long long)last_rip, (void *)after_int3);
	}
	if (!(sig = sigsetjmp(jump, 1)))
		__asm__ volatile("mov %%ax, %%ds" ::"a"(0xfff3));	/* beyond the GDT's limit: #GP */
	CHECK("bad selector", sig == SIGSEGV, "signal %d", sig);
	(void)r;
	munmap((void *)p, 8192);
}

static void test_cpuid_tsc(void)
{
	unsigned a, b, c, d, a2, b2, c2, d2;
	char vendor[13];
	uint64_t t0, t1, khz;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	__cpuid(0, a, b, c, d);
	memcpy(vendor, &b, 4), memcpy(vendor + 4, &d, 4), memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	__cpuid(1, a2, b2, c2, d2);
	printf("native_user: cpuid vendor %s max %u leaf1 %08x %08x\n", vendor, a, c2, d2);
	mix(a), mix(b), mix(c), mix(d), mix(a2), mix(c2), mix(d2 & ~(1u << 28));	/* HTT: set with more than one vCPU */
	/* the guest's CPU model, not the host's: no AVX or XSAVE are offered */
	CHECK("cpuid is the guest's", !(c2 & (1u << 28)) && !(c2 & (1u << 26)), "leaf 1 ecx %08x", c2);
	__cpuid(0x40000010, a, b, c, d);
	khz = a;
	t0 = __rdtsc();
	nanosleep(&ts, NULL);
	t1 = __rdtsc();
	/* 50 ms of the guest TSC (CPUID 0x40000010 gives its kHz) */
	CHECK("rdtsc is the guest's", khz && t1 - t0 > 25 * khz && t1 - t0 < 200 * khz,
	      "%llu ticks in 50 ms at %llu kHz", (unsigned long long)(t1 - t0), (unsigned long long)khz);
}

/* The vDSO's getcpu reads RDPID or LSL on the per-CPU GDT entry, natively too: the vCPU's number. */
static void test_getcpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	uint8_t *buf = malloc(1 << 20);
	int bad = -1;

	memset(buf, 7, 1 << 20);
	for (int i = 0; i < 200 && bad < 0; i++) {
		int c = sched_getcpu();

		if (c < 0 || c >= n)
			bad = c;
		crunch(buf, 1 << 16, 1);
	}
	CHECK("getcpu", bad < 0, "sched_getcpu() gave %d with %ld CPUs", bad, n);
	free(buf);
}

static void test_syscalls(void)
{
	pid_t me = getpid();
	long sum = 0;

	for (int i = 0; i < 20000; i++)
		sum += syscall(SYS_getpid) == me;
	CHECK("system calls", sum == 20000, "%ld of 20000 getpid results right", sum);
}

static void test_fork_cow(void)
{
	size_t len = 4 << 20;
	uint8_t *buf = malloc(len);
	int fds[2];
	pid_t pid;
	uint64_t child_h = 0, h;
	int st;

	memset(buf, 0x5a, len);
	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		uint64_t ch = crunch(buf, len, 4);

		if (write(fds[1], &ch, sizeof(ch)) != sizeof(ch))
			_exit(2);
		_exit(0);
	}
	h = crunch(buf, len, 3);
	if (read(fds[0], &child_h, sizeof(child_h)) != sizeof(child_h))
		child_h = 0;
	waitpid(pid, &st, 0);
	/* the parent's copy is its own: crunching one more round from its state gives another hash */
	mix(h), mix(child_h);
	CHECK("fork and copy-on-write", WIFEXITED(st) && WEXITSTATUS(st) == 0 && child_h && child_h != h,
	      "status %#x, hashes %llx %llx", st, (unsigned long long)child_h, (unsigned long long)h);
	close(fds[0]), close(fds[1]);
	free(buf);
}

static __thread uint64_t tls_counter;

static void *thread_main(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint8_t *buf = malloc(1 << 20);

	memset(buf, (int)id, 1 << 20);
	for (int i = 0; i < 40; i++) {
		tls_counter += id;
		crunch(buf, 1 << 20, 1);
	}
	free(buf);
	return (void *)(uintptr_t)tls_counter;
}

static void test_threads(void)
{
	pthread_t t[3];
	void *res[3];
	bool ok = true;

	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(i + 1));
	for (unsigned i = 0; i < 3; i++) {
		pthread_join(t[i], &res[i]);
		ok = ok && (uintptr_t)res[i] == 40 * (i + 1);
	}
	CHECK("threads and TLS", ok && tls_counter == 0, "results %p %p %p", res[0], res[1], res[2]);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig __attribute__((unused)))
{
	alarms++;
}

static void test_timer_signals(void)
{
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	uint8_t *buf = malloc(1 << 20);
	uint64_t h = 0;

	memset(buf, 3, 1 << 20);
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	while (alarms < 10)
		h = crunch(buf, 1 << 20, 1);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK("signals into a compute loop", alarms >= 10 && h, "%d alarms", (int)alarms);
	free(buf);
}

typedef int (*fn_t)(void);

static void test_self_modifying(void)
{
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int sum = 0;

	/* mov eax, imm32; ret */
	for (int i = 0; i < 1000; i++) {
		code[0] = 0xb8;
		memcpy(code + 1, &i, 4);
		code[5] = 0xc3;
		sum += ((fn_t)code)() == i;
	}
	CHECK("self-modifying code", sum == 1000, "%d of 1000 right", sum);
	munmap(code, 4096);
}

static void test_remap(void)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *q;
	int ok = 0;

	for (int i = 0; i < 200; i++) {
		p[0] = (uint8_t)i;
		q = mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ok += q == p && p[0] == 0;	/* a new page: the old mapping must be gone */
	}
	CHECK("remapped pages", ok == 200, "%d of 200 saw the new page", ok);
	munmap(p, 4096);
}

static void test_huge_split(void)
{
	size_t len = 8 << 20;
	uint8_t *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	int sig;
	uint64_t h;

	madvise(p, 4 << 20, MADV_HUGEPAGE);
	memset(p, 1, 4 << 20);
	h = crunch(p, 4 << 20, 2);
	munmap(p + (1 << 20), 4096);	/* splits the huge page */
	catch(SIGSEGV);
	if (!(sig = sigsetjmp(jump, 1)))
		p[(1 << 20) + 5] = 1;
	CHECK("huge page split", sig == SIGSEGV && last.si_addr == p + (1 << 20) + 5,
	      "signal %d addr %p", sig, last.si_addr);
	mix(h);
	munmap(raw, len);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_compute();
	test_faults();
	test_cpuid_tsc();
	test_syscalls();
	test_getcpu();
	test_fork_cow();
	test_threads();
	test_timer_signals();
	test_self_modifying();
	test_remap();
	test_huge_split();
	printf("native_user: digest %016llx\n", (unsigned long long)digest);
	if (failures)
		printf("native_user: %d failed\n", failures);
	else
		printf("native_user: all passed\n");
	return failures != 0;
}

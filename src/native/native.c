/*
 * Native ring-3 execution (native.h).
 *
 * When: a guest process whose stretches in user mode are long (measured
 * from the CPL changes, per CR3: an average over 500 us) runs natively from
 * its next entry to ring 3; short stretches (system-call-heavy work, where
 * each stop of the ward would cost more than the soft CPU does) stay on
 * the translator. What: 64-bit code, the Linux user selectors (checked in
 * the guest's GDT against the host's), no single-stepping, breakpoints,
 * budget or guest mode.
 *
 * The mirror: guest pages appear in the ward when its code faults on
 * them. Each fault is walked as the guest's MMU would (accessed and dirty
 * bits, rights), and the page is mapped from the RAM memfd with those
 * rights: writable only when the TLB would give a write fast path (dirty,
 * not a page of translated code). It is a TLB, and is flushed as one:
 * every invalidation the CPU makes (CR3 writes, INVLPG, ...) reaches it,
 * and another CR3 or memory map drops it whole.
 *
 * Everything else the ward stops for goes back to the soft CPU at the
 * instruction boundary where the host stopped: a system call (the
 * instruction is run again by the soft CPU, which enters the guest
 * kernel), a fault the guest must see (#PF, #GP, #UD, ...: the soft CPU
 * runs the instruction and raises it, with its own exact error code),
 * CPUID and RDTSC (which fault in the ward: answered in place), INT3
 * (rewound). The run loop
 * then goes on with the translator until the guest is back in ring 3.
 *
 * Differences from the soft CPU, by design: the ward runs on the host CPU,
 * so an instruction the host has and the offered model lacks (AVX, say)
 * runs instead of raising #UD, for software that ignores CPUID, as under
 * KVM; and instructions executed natively are not counted in icount.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "cpu/cpu.h"
#include "cpu/svm.h"
#include "native/native.h"
#include "native/ward.h"

#define HOT_US 500		/* average user-mode stretch from which a process runs natively */
/* RINGVM_NATIVE_HOT_US=N (tests): another threshold; 0 runs all user code natively */
#define STRETCH_CAP_US 20000	/* one long stretch counts at most this much */
#define HEAT_SLOTS 16
#define MAX_INVLPG 32		/* single-page invalidations kept; more drop the mirror */
#define MAX_MAPS 30000		/* pages mirrored before the mirror is dropped (host VMA limit) */
#define STOP_COST_NS 50000	/* a stop of the ward and the resume after it (ptrace), about */
#define FAULT_REPEAT_MAX 3	/* the same fault again: the soft CPU runs the instruction */

/* The Linux user selectors and their descriptors (accessed), which the host's GDT has too. */
#define USER32_CS 0x23
#define USER_DS 0x2b
#define USER_CS 0x33
static const uint64_t linux_user_desc[3] = { 0x00cffb000000ffffull, 0x00cff3000000ffffull, 0x00affb000000ffffull };

/* RFLAGS bits user code may change (the rest, IF and IOPL, are the kernel's) */
#define USER_FLAGS \
	(CPU_ARITH_FLAGS | RV_FLAG_TF | RV_FLAG_DF | RV_FLAG_NT | RV_FLAG_AC | RV_FLAG_ID)

struct rw_page {
	uint64_t va, pa;
	bool exec;
};

struct native_vcpu {
	struct cpu *cpu;
	struct ward *ward;
	pid_t pid;			/* the ward's, for kicks from any thread; 0: none */
	bool broken;			/* the ward could not start or died: never again */
	int ram_fd;
	const uint8_t *ram;
	uint64_t ram_size;

	/* the mirror: what the ward maps, as a TLB of one address space */
	uint64_t cr3, memgen;
	bool flush_pending;
	bool large_seen;		/* a page mirrored from a large guest page */
	uint64_t lo, hi;		/* the range mirrored pages lie in */
	uint64_t invlpg[MAX_INVLPG];
	unsigned ninvlpg, nmaps;
	struct rw_page *rw;		/* writable pages, to make read-only if they become code */
	unsigned nrw, rw_cap;

	uint64_t stops;			/* of the ward: runs and system calls made in it */
	uint64_t fault_rip, fault_addr;
	unsigned fault_repeat;

	/* heat: per CR3, the average user-mode stretch */
	struct {
		uint64_t cr3;
		uint32_t us;
	} heat[HEAT_SLOTS];
	unsigned heat_next;
	bool in_ring3;
	uint64_t ring3_icount, ring3_ns;

	uint64_t gdt_ok;		/* the GDT base whose user descriptors matched (+1; 0: none) */
	uint32_t hot_us;
	bool trace;
	bool quiet;			/* the ward cannot start: say nothing */			/* RINGVM_NATIVE_TRACE=1: every fault stop on stderr */
	struct native_stats st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Heat                                                                */

static uint32_t *heat_of(struct native_vcpu *nv, uint64_t cr3, bool add)
{
	unsigned i;

	for (i = 0; i < HEAT_SLOTS; i++)
		if (nv->heat[i].cr3 == cr3)
			return &nv->heat[i].us;
	if (!add)
		return NULL;
	i = nv->heat_next++ % HEAT_SLOTS;
	nv->heat[i].cr3 = cr3;
	nv->heat[i].us = 0;
	return &nv->heat[i].us;
}

static void nat_cpl_changed(struct cpu *cpu)
{
	struct native_vcpu *nv = cpu->native_ctx;

	if (cpu->s.cpl == 3) {
		uint32_t *h = heat_of(nv, cpu->s.cr3, false);

		nv->in_ring3 = true;
		nv->ring3_icount = cpu->icount;
		nv->ring3_ns = 0;
		cpu->native_want = (nv->hot_us == 0 || (h && *h >= nv->hot_us)) && !nv->broken && !cpu->svm.guest;
		return;
	}
	if (nv->in_ring3) {
		/* a stretch ends: translated instructions at about 1000 per us, plus time in the ward */
		uint64_t us = (cpu->icount - nv->ring3_icount) / 1000 + nv->ring3_ns / 1000;
		uint32_t *h = heat_of(nv, cpu->s.cr3, true);

		if (us > STRETCH_CAP_US)
			us = STRETCH_CAP_US;
		*h = (uint32_t)((*h * 3ull + us) / 4);
		if (nv->trace)
			fprintf(stderr, "native: cr3 %#llx stretch %llu us, heat %u\n", (unsigned long long)cpu->s.cr3,
				(unsigned long long)us, *h);
	}
	nv->in_ring3 = false;
	cpu->native_want = false;
}

/* ------------------------------------------------------------------ */
/* The mirror                                                          */

static void nat_tlb_flush(struct cpu *cpu, uint64_t lin)
{
	struct native_vcpu *nv = cpu->native_ctx;

	if (!nv->nmaps)
		return;
	if (lin == CPU_NATIVE_FLUSH_ALL || nv->ninvlpg == MAX_INVLPG)
		nv->flush_pending = true;
	else
		nv->invlpg[nv->ninvlpg++] = lin;
}

/* A system call in the ward for the mirror: two stops of it (its seccomp stop and the INT3). */
static long nat_call(struct native_vcpu *nv, long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	nv->stops += 2;
	return ward_syscall(nv->ward, nr, a0, a1, a2, a3, a4, a5);
}

static bool unmap(struct native_vcpu *nv, uint64_t va, uint64_t len)
{
	if (va + len <= WARD_GADGET || va > WARD_GADGET) {
		long r = nat_call(nv, SYS_munmap, (long)va, (long)len, 0, 0, 0, 0);

		if (r && nv->trace)
			fprintf(stderr, "native: munmap(%#llx, %#llx): %ld\n", (unsigned long long)va,
				(unsigned long long)len, r);
		return r == 0;
	}
	return unmap(nv, va, WARD_GADGET - va) && (va + len <= WARD_GADGET + 4096 ||
						   unmap(nv, WARD_GADGET + 4096, va + len - WARD_GADGET - 4096));
}

static bool drop_all(struct native_vcpu *nv)
{
	bool ok = !nv->nmaps || unmap(nv, nv->lo, nv->hi - nv->lo);

	nv->nmaps = nv->nrw = nv->ninvlpg = 0;
	nv->large_seen = false;
	nv->lo = UINT64_MAX;
	nv->hi = 0;
	nv->st.flushes++;
	return ok;
}

static void forget_rw(struct native_vcpu *nv, uint64_t va, uint64_t len)
{
	for (unsigned i = 0; i < nv->nrw;)
		if (nv->rw[i].va - va < len)
			nv->rw[i] = nv->rw[--nv->nrw];
		else
			i++;
}

/* Bring the mirror up to the guest's TLB state; false if the ward failed. */
static bool mirror_sync(struct native_vcpu *nv)
{
	struct cpu *cpu = nv->cpu;

	if (nv->cr3 != cpu->s.cr3 || nv->memgen != cpu->mem->generation || nv->nmaps > MAX_MAPS)
		nv->flush_pending = true;
	nv->cr3 = cpu->s.cr3;
	nv->memgen = cpu->mem->generation;
	if (nv->flush_pending) {
		nv->flush_pending = false;
		return drop_all(nv);
	}
	for (unsigned i = 0; i < nv->ninvlpg; i++) {
		/* an INVLPG drops the whole page around lin: a large one's too */
		uint64_t len = nv->large_seen ? 1ull << 21 : 4096;
		uint64_t va = nv->invlpg[i] & ~(len - 1);

		if (va + len > WARD_TOP)
			len = WARD_TOP > va ? WARD_TOP - va : 0;
		if (len) {
			if (!unmap(nv, va, len))
				return false;
			forget_rw(nv, va, len);
		}
	}
	nv->ninvlpg = 0;
	/* a writable page that became translated code: its stores must reach the translator again */
	for (unsigned i = 0; i < nv->nrw;) {
		struct rw_page *p = &nv->rw[i];

		if (!cpu_code_page(cpu, p->pa)) {
			i++;
			continue;
		}
		long r = nat_call(nv, SYS_mprotect, (long)p->va, 4096, PROT_READ | (p->exec ? PROT_EXEC : 0), 0,
				      0, 0);

		if (r) {
			if (nv->trace)
				fprintf(stderr, "native: mprotect(%#llx): %ld\n", (unsigned long long)p->va, r);
			return false;
		}
		/* it may have been written since it was translated */
		if (cpu->xlat)
			cpu->xlat->code_written(cpu, p->pa, 4096);
		*p = nv->rw[--nv->nrw];
	}
	return true;
}

/*
 * Mirror the page of a fault at addr (SEGV_MAPERR: not mapped; SEGV_ACCERR:
 * mapped with fewer rights) if the guest's MMU allows the access; false if
 * the soft CPU must run the instruction (and raise what the guest sees).
 */
static bool resolve_fault(struct native_vcpu *nv, uint64_t addr, int code, uint64_t rip)
{
	struct cpu *cpu = nv->cpu;
	uint64_t page = addr & ~0xfffull;
	bool fetch = addr - rip < 16;	/* an instruction's bytes (or a store next to them: tried as a fetch first) */
	int acc = fetch ? ACC_EXEC : code == SEGV_ACCERR ? ACC_WRITE : ACC_READ;
	struct cpu_user_page p;
	long r;

	if (addr >= WARD_TOP || page == WARD_GADGET)
		return false;
	if (addr == nv->fault_addr && rip == nv->fault_rip) {
		if (++nv->fault_repeat >= FAULT_REPEAT_MAX) {
			nv->fault_repeat = 0;
			return false;
		}
	} else {
		nv->fault_addr = addr;
		nv->fault_rip = rip;
		nv->fault_repeat = 0;
	}
	/* a store beside the code that faulted as a fetch does not: the second time it is a store */
	if (fetch && code == SEGV_ACCERR && nv->fault_repeat > 0)
		acc = ACC_WRITE;
	if (!cpu_user_page(cpu, addr, acc, &p) || !p.host || p.host < nv->ram || p.host + 4096 > nv->ram + nv->ram_size)
		return false;
	if ((acc == ACC_WRITE && !p.write) || (acc == ACC_EXEC && !p.exec))
		return false;
	r = nat_call(nv, SYS_mmap, (long)page, 4096,
			 PROT_READ | (p.write ? PROT_WRITE : 0) | (p.exec ? PROT_EXEC : 0), MAP_SHARED | MAP_FIXED,
			 nv->ram_fd, (long)(p.host - nv->ram));
	if (r != (long)page)
		return false;
	nv->st.pages_mapped++;
	nv->nmaps++;
	nv->large_seen |= p.large;
	if (page < nv->lo)
		nv->lo = page;
	if (page + 4096 > nv->hi)
		nv->hi = page + 4096;
	forget_rw(nv, page, 4096);
	if (p.write) {
		if (nv->nrw == nv->rw_cap) {
			unsigned cap = nv->rw_cap ? nv->rw_cap * 2 : 256;
			struct rw_page *n = realloc(nv->rw, cap * sizeof(*n));

			if (!n) {
				nv->flush_pending = true;	/* untracked: drop it all at the next entry */
				return true;
			}
			nv->rw = n;
			nv->rw_cap = cap;
		}
		nv->rw[nv->nrw++] = (struct rw_page){ .va = page, .pa = p.pa, .exec = p.exec };
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* State                                                               */

/* Are the guest's user descriptors the ones the host CPU will load for the same selectors? */
/* GDT entry i (8 bytes) into *d, through a fault-free probe; false if it is not in RAM. */
static bool gdt_entry(struct cpu *cpu, unsigned i, uint64_t *d)
{
	jmp_buf probe;
	volatile bool ok = false;

	if (cpu->s.gdtr.limit < 8 * i + 7)
		return false;
	cpu->probe = &probe;
	if (setjmp(probe) == 0) {
		uint64_t pa = cpu_translate(cpu, cpu->s.gdtr.base + 8 * i, ACC_READ | ACC_IMPLICIT_SV);
		const struct cpu_mem_slot *s = cpu_memmap_find(cpu->mem, pa);

		if (s && !(pa & 7) && s->kind == CPU_SLOT_RAM) {
			memcpy(d, s->host + (pa - s->gpa), 8);
			ok = true;
		}
	}
	cpu->probe = NULL;
	return ok;
}

/*
 * Are the descriptors code can reach the ones the host CPU has for the
 * same selectors? The user segments (GDT 4-6, checked once per GDT) and
 * the TLS entries (12-14, per task: the ward's are empty, and LAR, LSL,
 * VERR and VERW read descriptors without faulting). The per-CPU entry
 * (15, LSL's getcpu) matches because the ward runs on the host CPU of the
 * vCPU's number (ward_spawn). An LDT the ward does not have: LDTR null.
 */
static bool gdt_matches(struct native_vcpu *nv)
{
	struct cpu *cpu = nv->cpu;
	uint64_t d;

	if (cpu->s.seg[RV_LDTR].selector & ~3u)
		return false;
	for (unsigned i = 12; i <= 14; i++)
		if (!gdt_entry(cpu, i, &d) || d)
			return false;
	if (nv->gdt_ok == cpu->s.gdtr.base + 1)
		return true;
	for (unsigned i = 0; i < 3; i++)
		if (!gdt_entry(cpu, USER32_CS / 8 + i, &d) || (d | 1ull << 40) != linux_user_desc[i])
			return false;
	nv->gdt_ok = cpu->s.gdtr.base + 1;
	return true;
}

static bool user_sel(uint16_t sel)
{
	return sel == 0 || sel == USER_DS;
}

static bool eligible(struct native_vcpu *nv)
{
	const struct cpu *cpu = nv->cpu;
	const struct cpu_state *s = &cpu->s;

	if (nv->broken || cpu->mode != MODE_LONG64 || s->cpl != 3 || cpu->svm.guest)
		return false;
	if (s->seg[RV_CS].selector != USER_CS || s->seg[RV_SS].selector != USER_DS ||
	    !user_sel(s->seg[RV_DS].selector) || !user_sel(s->seg[RV_ES].selector) || s->seg[RV_FS].selector ||
	    s->seg[RV_GS].selector || s->seg[RV_FS].base >= WARD_TOP || s->seg[RV_GS].base >= WARD_TOP)
		return false;
	/* x87 and SSE as the host runs them: no #NM, no emulation */
	if ((s->cr0 & (RV_CR0_TS | RV_CR0_EM)) || !(s->cr4 & RV_CR4_OSFXSR))
		return false;
	/* RDFSBASE & co. run natively exactly when the host allows them: the guest must allow them too */
	if (!(s->cr4 & RV_CR4_FSGSBASE) && ward_host_fsgsbase())
		return false;
	/* the host checks alignment whenever AC is set (its CR0.AM is set) */
	if ((s->rflags & (RV_FLAG_TF | RV_FLAG_RF)) || ((s->rflags & RV_FLAG_AC) && !(s->cr0 & RV_CR0_AM)))
		return false;
	return gdt_matches(nv);
}

static void regs_from_cpu(struct cpu *cpu, struct user_regs_struct *r, struct user_fpregs_struct *fp)
{
	const uint64_t *g = cpu->s.gpr;

	memset(r, 0, sizeof(*r));
	r->rax = g[RV_RAX], r->rcx = g[RV_RCX], r->rdx = g[RV_RDX], r->rbx = g[RV_RBX];
	r->rsp = g[RV_RSP], r->rbp = g[RV_RBP], r->rsi = g[RV_RSI], r->rdi = g[RV_RDI];
	r->r8 = g[RV_R8], r->r9 = g[RV_R9], r->r10 = g[RV_R10], r->r11 = g[RV_R11];
	r->r12 = g[RV_R12], r->r13 = g[RV_R13], r->r14 = g[RV_R14], r->r15 = g[RV_R15];
	r->rip = cpu->s.rip;
	r->eflags = (cpu_get_rflags(cpu) & USER_FLAGS) | RV_FLAG_IF | RV_FLAG_FIXED1;
	r->cs = USER_CS;
	r->ss = USER_DS;
	r->ds = cpu->s.seg[RV_DS].selector;
	r->es = cpu->s.seg[RV_ES].selector;
	r->fs_base = cpu->s.seg[RV_FS].base;
	r->gs_base = cpu->s.seg[RV_GS].base;
	cpu_fxsave_image(cpu, (uint8_t *)fp);
}

static void regs_to_cpu(struct cpu *cpu, const struct user_regs_struct *r, const struct user_fpregs_struct *fp)
{
	uint64_t *g = cpu->s.gpr;
	static const int segs[] = { RV_CS, RV_SS, RV_DS, RV_ES, RV_FS, RV_GS };
	const unsigned long long sels[] = { r->cs, r->ss, r->ds, r->es, r->fs, r->gs };

	g[RV_RAX] = r->rax, g[RV_RCX] = r->rcx, g[RV_RDX] = r->rdx, g[RV_RBX] = r->rbx;
	g[RV_RSP] = r->rsp, g[RV_RBP] = r->rbp, g[RV_RSI] = r->rsi, g[RV_RDI] = r->rdi;
	g[RV_R8] = r->r8, g[RV_R9] = r->r9, g[RV_R10] = r->r10, g[RV_R11] = r->r11;
	g[RV_R12] = r->r12, g[RV_R13] = r->r13, g[RV_R14] = r->r14, g[RV_R15] = r->r15;
	cpu->s.rip = r->rip;
	cpu_set_rflags(cpu, (cpu_get_rflags(cpu) & ~(uint64_t)USER_FLAGS) | (r->eflags & USER_FLAGS));
	/* selectors the code loaded itself (the GDT check made them mean the same) */
	for (unsigned i = 0; i < 6; i++)
		if ((uint16_t)sels[i] != cpu->s.seg[segs[i]].selector)
			cpu_native_seg_loaded(cpu, segs[i], (uint16_t)sels[i]);
	cpu->s.seg[RV_FS].base = r->fs_base;
	cpu->s.seg[RV_GS].base = r->gs_base;
	cpu_fxrstor_image(cpu, (const uint8_t *)fp);
}

/* INT3 (CC), INT 3 (CD 03) and INT1 (F1) stop after themselves: back to the instruction. */
static void rewind_trap(struct cpu *cpu)
{
	struct cpu_user_page p;
	uint64_t rip = cpu->s.rip;

	for (unsigned len = 1; len <= 2; len++) {
		uint64_t at = rip - len;

		if (!cpu_user_page(cpu, at, ACC_EXEC, &p) || !p.host || (len == 2 && (at & 0xfff) == 0xfff))
			return;
		if ((len == 1 && (p.host[at & 0xfff] == 0xcc || p.host[at & 0xfff] == 0xf1)) ||
		    (len == 2 && p.host[at & 0xfff] == 0xcd && p.host[(at & 0xfff) + 1] == 0x03)) {
			cpu->s.rip = at;
			return;
		}
	}
}

/*
 * RDTSC, RDTSCP and CPUID fault in the ward (PR_SET_TSC, ARCH_SET_CPUID):
 * answer them here as the soft CPU's handlers do (exec_sys.c; no SVM
 * intercepts, as guest mode never runs natively) and go on natively, one
 * stop instead of a trip through the soft CPU and back. Only the plain
 * encodings; with a prefix the soft CPU runs it.
 */
static bool answer_here(struct native_vcpu *nv, struct user_regs_struct *r)
{
	struct cpu *cpu = nv->cpu;
	struct cpu_user_page p;
	const uint8_t *b;

	if ((r->rip & 0xfff) > 0xffd || !cpu_user_page(cpu, r->rip, ACC_EXEC, &p) || !p.host)
		return false;
	b = p.host + (r->rip & 0xfff);
	if (b[0] != 0x0f)
		return false;
	if (b[1] == 0x31 || (b[1] == 0x01 && b[2] == 0xf9)) {
		uint64_t t;

		if (cpu->s.cr4 & RV_CR4_TSD)
			return false;	/* the soft CPU raises #GP */
		t = cpu_rdtsc(cpu);
		r->rax = (uint32_t)t;
		r->rdx = t >> 32;
		if (b[1] == 0x01)
			r->rcx = (uint32_t)cpu->s.tsc_aux;
		r->rip += b[1] == 0x01 ? 3 : 2;
		return true;
	}
	if (b[1] == 0xa2) {
		uint32_t o[4];

		cpu_cpuid(cpu, (uint32_t)r->rax, (uint32_t)r->rcx, o);
		r->rax = o[0], r->rbx = o[1], r->rcx = o[2], r->rdx = o[3];
		r->rip += 2;
		return true;
	}
	return false;
}

static bool start_ward(struct native_vcpu *nv)
{
	char err[200];

	if (ward_spawn(&nv->ward, nv->ram_fd, nv->cpu->apic_id, err, sizeof(err))) {
		if (!nv->quiet)
			fprintf(stderr, "ringvm: native user code is off: %s\n", err);
		nv->broken = true;
		return false;
	}
	__atomic_store_n(&nv->pid, ward_pid(nv->ward), __ATOMIC_SEQ_CST);
	nv->lo = UINT64_MAX;
	/*
	 * The vCPU thread joins its ward on that host CPU: every stop is a
	 * switch between the two, which costs a context switch there, where
	 * across CPUs it costs waking an idle one (tens of microseconds in a
	 * VM).
	 */
	{
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(nv->cpu->apic_id, &one);
		sched_setaffinity(0, sizeof(one), &one);
	}
	return true;
}

static void lose_ward(struct native_vcpu *nv, const char *why)
{
	fprintf(stderr, "ringvm: native user code is off: the ward %s\n", why);
	__atomic_store_n(&nv->pid, 0, __ATOMIC_SEQ_CST);
	ward_destroy(nv->ward);
	nv->ward = NULL;
	nv->broken = true;
}

static bool nat_run(struct cpu *cpu)
{
	struct native_vcpu *nv = cpu->native_ctx;
	struct user_regs_struct regs;
	struct user_fpregs_struct fp;
	siginfo_t info;
	uint64_t t0, stops0;
	bool ran = false, single_step = false;

	if (!eligible(nv) || (!nv->ward && !start_ward(nv))) {
		cpu->native_want = false;
		return false;
	}
	t0 = now_ns();
	stops0 = nv->stops;
	if (!mirror_sync(nv)) {
		lose_ward(nv, "failed to change its mappings");
		cpu->native_want = false;
		return false;
	}
	regs_from_cpu(cpu, &regs, &fp);
	for (;;) {
		enum ward_stop stop;

		__atomic_store_n(&cpu->exit_req, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&cpu->native_running, 1, __ATOMIC_SEQ_CST);
		/* after the store: a kicker either sees it or is seen here */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (cpu_loop_needed(cpu)) {
			__atomic_store_n(&cpu->native_running, 0, __ATOMIC_SEQ_CST);
			break;
		}
		nv->st.entries++;
		nv->stops++;
		stop = ward_run(nv->ward, &regs, &fp, &info);
		__atomic_store_n(&cpu->native_running, 0, __ATOMIC_SEQ_CST);
		if (stop == WARD_STOP_GONE) {
			/* the state is the last entry's: the guest loses what its code did since */
			lose_ward(nv, "died");
			cpu->native_want = false;
			break;
		}
		ran = true;
		regs_to_cpu(cpu, &regs, &fp);
		if (stop == WARD_STOP_KICK) {
			nv->st.stop_kick++;
			break;
		}
		if (stop == WARD_STOP_SYSCALL) {
			/* SYSCALL, SYSENTER and INT 80h are 2 bytes: the soft CPU runs it again, with the guest's rules */
			nv->st.stop_syscall++;
			if (regs.rip >= WARD_TOP) {
				/*
				 * A call into the vsyscall page, which the host emulates: the
				 * guest's page tables decide what it is (RAX is dead: the
				 * call returns its result there).
				 */
				if (ward_drop_vsyscall(nv->ward)) {
					lose_ward(nv, "died");
					cpu->native_want = false;
					break;
				}
			} else {
				cpu->s.rip -= 2;
				cpu->s.gpr[RV_RAX] = regs.orig_rax;
			}
			nv->st.fallbacks++;
			cpu->native_want = false;
			break;
		}
		nv->st.stop_fault++;
		if (nv->trace)
			fprintf(stderr, "native: stop signal %d code %d addr %p rip %#llx cs %#llx ds %#llx gs %#llx\n",
				info.si_signo, info.si_code, info.si_addr, regs.rip, regs.cs, regs.ds, regs.gs);
		if (info.si_signo == SIGSEGV && (info.si_code == SEGV_MAPERR || info.si_code == SEGV_ACCERR) &&
		    resolve_fault(nv, (uint64_t)(uintptr_t)info.si_addr, info.si_code, regs.rip))
			continue;
		if (info.si_signo == SIGSEGV && info.si_code == SI_KERNEL && answer_here(nv, &regs))
			continue;
		if (info.si_signo == SIGTRAP) {
			if (regs.eflags & RV_FLAG_TF)
				single_step = true;	/* code set TF itself: the instruction is done, #DB is due */
			else
				rewind_trap(cpu);
		}
		nv->st.fallbacks++;
		cpu->native_want = false;
		break;
	}
	{
		/*
		 * The stretch counts what the ward computed: each stop cost about
		 * STOP_COST_NS that the translator would not have paid, twice
		 * over, so that code that stops often (faults on a mirror that
		 * another CR3 keeps dropping, say) cools down to the translator.
		 */
		uint64_t ns = now_ns() - t0, cost = 2 * STOP_COST_NS * (nv->stops - stops0);

		nv->ring3_ns += ns > cost ? ns - cost : 0;
		nv->st.ns += ns;
	}
	if (single_step)
		cpu_debug_retire(cpu, RV_FLAG_TF);
	return ran;
}

static void nat_kick(struct cpu *cpu)
{
	struct native_vcpu *nv = cpu->native_ctx;
	pid_t pid = __atomic_load_n(&nv->pid, __ATOMIC_SEQ_CST);

	if (pid > 0)
		kill(pid, WARD_KICK_SIGNAL);
}

static const struct cpu_native native_ops = {
	.run = nat_run,
	.cpl_changed = nat_cpl_changed,
	.tlb_flush = nat_tlb_flush,
	.kick = nat_kick,
};

int native_vcpu_create(struct cpu *cpu, int ram_fd, const uint8_t *ram, uint64_t ram_size, bool quiet,
		       struct native_vcpu **out)
{
	struct native_vcpu *nv = calloc(1, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv->cpu = cpu;
	nv->ram_fd = ram_fd;
	nv->ram = ram;
	nv->ram_size = ram_size;
	nv->quiet = quiet;
	nv->lo = UINT64_MAX;
	nv->hot_us = getenv("RINGVM_NATIVE_HOT_US") ? (uint32_t)strtoul(getenv("RINGVM_NATIVE_HOT_US"), NULL, 0) : HOT_US;
	nv->trace = getenv("RINGVM_NATIVE_TRACE") != NULL;
	cpu->native_ctx = nv;
	cpu->native_cpl = cpu->s.cpl;
	cpu->native = &native_ops;
	*out = nv;
	return 0;
}

void native_vcpu_destroy(struct native_vcpu *nv)
{
	if (!nv)
		return;
	nv->cpu->native = NULL;
	nv->cpu->native_want = false;
	__atomic_store_n(&nv->pid, 0, __ATOMIC_SEQ_CST);
	ward_destroy(nv->ward);
	free(nv->rw);
	free(nv);
}

void native_vcpu_stats(const struct native_vcpu *nv, struct native_stats *st)
{
	*st = nv->st;
}

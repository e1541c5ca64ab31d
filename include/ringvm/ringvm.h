/*
 * libringvm: the one seam between a virtual machine monitor and an engine
 * (the software x86-64 CPU now, KVM later). It follows the hardware
 * virtualization model: a VM owns a guest-physical memory map, each vCPU
 * runs with rv_vcpu_run() until an exit, and state is checked on entry.
 *
 * Functions return 0 or a negative errno value.
 */
#ifndef RINGVM_RINGVM_H
#define RINGVM_RINGVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/regs.h"

struct rv_vm;
struct rv_vcpu;

enum rv_engine {
	RV_ENGINE_SOFT,		/* ringvm's own x86-64 CPU in software */
	RV_ENGINE_KVM,		/* /dev/kvm (not yet built) */
};

/*
 * The guest's time-stamp counter runs at a fixed frequency from one clock:
 * TSC = clock_ns() * tsc_hz / 10^9, so it advances with real time whether
 * the vCPU runs, halts or is descheduled (an invariant TSC).
 */
#define RV_DEFAULT_TSC_HZ 2000000000ull

struct rv_vm_config {
	enum rv_engine engine;
	uint64_t tsc_hz;		/* 0: RV_DEFAULT_TSC_HZ */
	/* Guest time in ns, not decreasing; NULL: host CLOCK_MONOTONIC since rv_vm_create. */
	uint64_t (*clock_ns)(void *opaque);
	void *clock_opaque;
	/*
	 * RV_ENGINE_SOFT runs guest code translated into host code (on x86-64
	 * Linux hosts), with the interpreter for what it does not translate;
	 * true runs the reference interpreter alone.
	 */
	bool soft_interpreter;
	uint64_t soft_code_cache;	/* bytes of translated code per vCPU; 0: the default (64 MiB) */
	/*
	 * Offer AMD-V (SVM) to the guest: CPUID, EFER.SVME, VM_CR,
	 * VM_HSAVE_PA and the SVM instructions (nested virtualization, soft
	 * engine). Off by default until nested SVM is complete.
	 */
	bool cpu_svm;
	/*
	 * Run the guest's 64-bit user code on the host CPU in a ptraced,
	 * seccomp-confined process that mirrors its user mappings (soft
	 * engine; needs guest RAM in a memfd: rv_vm_share_ram). Processes
	 * whose user-mode stretches are long go there; the rest stay on the
	 * translator. AUTO: silently off where the host cannot (no CPUID
	 * faulting, ptrace or seccomp); ON: say why on stderr.
	 */
	enum rv_native_user { RV_NATIVE_OFF, RV_NATIVE_AUTO, RV_NATIVE_ON } native_user;
};

/* Is the soft engine's translator available on this host? If not, *why says why. */
bool rv_soft_translator_available(const char **why);

int rv_vm_create(struct rv_vm **vm, const struct rv_vm_config *config);
void rv_vm_destroy(struct rv_vm *vm);

/*
 * Guest-physical memory map ("nested paging"). RAM and ROM slots point at
 * host memory the caller owns and keeps alive for the VM's lifetime; guest
 * writes to ROM are dropped. Every guest-physical address not covered by a
 * slot is a hole: accesses to it exit to the VMM as RV_EXIT_MMIO.
 * Slots must be page-aligned and may not overlap.
 */
enum rv_mem_kind {
	RV_MEM_RAM,
	RV_MEM_ROM,
};

int rv_vm_map(struct rv_vm *vm, uint64_t gpa, uint64_t size,
	      enum rv_mem_kind kind, void *host);
/*
 * [host, host + size) is a MAP_SHARED mapping of fd from offset 0, and
 * RAM slots point into it: an engine may map the same memory elsewhere
 * (native user code). Before the vCPUs are created.
 */
int rv_vm_share_ram(struct rv_vm *vm, int fd, void *host, uint64_t size);
/*
 * The VMM or a device wrote guest RAM [gpa, gpa + len) behind the vCPUs'
 * backs (DMA): an engine that caches translated code drops what the
 * write covered before it runs it again. Any thread.
 */
void rv_vm_note_write(struct rv_vm *vm, uint64_t gpa, uint64_t len);
/* Remove the slot that starts at gpa. */
int rv_vm_unmap(struct rv_vm *vm, uint64_t gpa);

/*
 * Create vCPU number `index`. Its state is the x86 power-on state
 * (real mode, CS:IP = F000:FFF0 with CS base 0xFFFF0000).
 */
int rv_vcpu_create(struct rv_vm *vm, unsigned index, struct rv_vcpu **vcpu);
void rv_vcpu_destroy(struct rv_vcpu *vcpu);

/*
 * Back to the power-on state of rv_vcpu_create() (a machine reset, SDM
 * vol. 3A 9.1.1): registers, MSRs, x87/SSE state, pending events and
 * TLB; the retired-instruction count and intercepts stay. Only while the
 * vCPU is not running.
 */
int rv_vcpu_reset(struct rv_vcpu *vcpu);

int rv_vcpu_get_regs(struct rv_vcpu *vcpu, struct rv_regs *regs);
int rv_vcpu_set_regs(struct rv_vcpu *vcpu, const struct rv_regs *regs);
int rv_vcpu_get_sregs(struct rv_vcpu *vcpu, struct rv_sregs *sregs);
int rv_vcpu_set_sregs(struct rv_vcpu *vcpu, const struct rv_sregs *sregs);
int rv_vcpu_get_fpu(struct rv_vcpu *vcpu, struct rv_fpu *fpu);
int rv_vcpu_set_fpu(struct rv_vcpu *vcpu, const struct rv_fpu *fpu);
int rv_vcpu_get_debugregs(struct rv_vcpu *vcpu, struct rv_debugregs *dregs);
int rv_vcpu_set_debugregs(struct rv_vcpu *vcpu, const struct rv_debugregs *dregs);
/* -ENOENT for an MSR the engine does not implement. */
int rv_vcpu_get_msr(struct rv_vcpu *vcpu, uint32_t index, uint64_t *value);
int rv_vcpu_set_msr(struct rv_vcpu *vcpu, uint32_t index, uint64_t value);

/* Exit reasons, the analogue of a #VMEXIT code. */
enum rv_exit_reason {
	RV_EXIT_NONE,
	RV_EXIT_IO,		/* IN/OUT/INS/OUTS: see exit.io */
	RV_EXIT_MMIO,		/* access to a hole in the memory map */
	RV_EXIT_HLT,		/* HLT executed (RIP is past it) */
	RV_EXIT_SHUTDOWN,	/* triple fault */
	RV_EXIT_INVALID_STATE,	/* entry consistency check failed */
	RV_EXIT_IRQ_WINDOW,	/* guest can now take an external interrupt */
	RV_EXIT_DEBUG,		/* single step or breakpoint requested by the VMM */
	RV_EXIT_KICK,		/* rv_vcpu_kick() from another thread */
	RV_EXIT_MSR,		/* RDMSR/WRMSR of an MSR the VMM implements: see exit.msr */
};

/*
 * For an IN or an MMIO read, the VMM stores the value in `data` before the
 * next rv_vcpu_run(), which then completes the instruction. For OUT and
 * MMIO writes `data` holds what the guest wrote. A string instruction exits
 * once per element.
 */
struct rv_exit {
	enum rv_exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2 or 4 */
			bool is_write;
			uint32_t data;
		} io;
		struct {
			uint64_t gpa;
			uint8_t size;		/* 1 to 8 */
			bool is_write;
			uint64_t data;
		} mmio;
		struct {
			const char *check;	/* which consistency check failed */
			uint64_t value;		/* the offending value */
		} invalid;
		struct {
			uint64_t dr6;
		} debug;
		/*
		 * RDMSR/WRMSR of an MSR the VMM implements (the local APIC's
		 * x2APIC range 0x800-0x8ff, IA32_TSC_DEADLINE 0x6e0; and
		 * IA32_APIC_BASE 0x1b writes, after the engine checked the
		 * reserved bits). Completion as for IN: for a read the VMM
		 * stores the value in `data`; setting `error` instead makes the
		 * instruction raise #GP(0) when it runs again.
		 */
		struct {
			uint32_t index;
			bool is_write;
			bool error;
			uint64_t data;
		} msr;
	};
	uint64_t cr8;		/* CR8 (the task priority, TPR[7:4]) at the exit */
};

/*
 * Run the vCPU until an exit. On return *exit describes it and stays valid
 * (and writable, for I/O data) until the next run. Returns 0, or a negative
 * errno for a misuse of the API.
 */
int rv_vcpu_run(struct rv_vcpu *vcpu, struct rv_exit *exit);

/* Make a running (or the next) rv_vcpu_run() return RV_EXIT_KICK soon. Thread-safe. */
void rv_vcpu_kick(struct rv_vcpu *vcpu);

/*
 * Event injection. rv_vcpu_interrupt() queues an external interrupt vector;
 * it is delivered at the next instruction boundary where RFLAGS.IF is set and
 * no interrupt shadow is active. Returns -EBUSY if one is already queued.
 * With the interrupt-window intercept on, the vCPU exits with
 * RV_EXIT_IRQ_WINDOW as soon as an interrupt could be delivered.
 */
int rv_vcpu_interrupt(struct rv_vcpu *vcpu, uint8_t vector);
int rv_vcpu_nmi(struct rv_vcpu *vcpu);
void rv_vcpu_set_irq_window_exit(struct rv_vcpu *vcpu, bool on);
/* Whether the guest halted and waits for an interrupt (state after a HLT exit). */
bool rv_vcpu_halted(struct rv_vcpu *vcpu);

/* Intercepts the VMM may set, the analogue of the VMCB intercept vector. */
#define RV_INTERCEPT_HLT     (1u << 0)	/* exit on HLT (default on) */
#define RV_INTERCEPT_SINGLESTEP (1u << 1) /* exit after every instruction */
int rv_vcpu_set_intercepts(struct rv_vcpu *vcpu, uint32_t intercepts);

struct rv_vcpu_stats {
	uint64_t instructions;	/* retired guest instructions */
	uint64_t exits;
	uint64_t exits_by_reason[RV_EXIT_MSR + 1];	/* exits to the VMM, by enum rv_exit_reason */
	/* The soft engine's translator (all zero with the interpreter) */
	bool translated;		/* the translator ran this vCPU */
	uint64_t blocks;		/* blocks translated */
	uint64_t code_bytes;		/* translated code in the cache now */
	uint64_t code_emitted;		/* translated code generated in all, flushed or not */
	uint64_t cache_bytes;		/* the code cache's size */
	uint64_t cache_flushes;		/* whole-cache flushes (full, remap, reset) */
	uint64_t invalidations;		/* blocks dropped because their guest code was written */
	uint64_t chained;		/* block exits patched into direct jumps */
	uint64_t unchained_exits;	/* block exits that went back to the dispatcher */
	uint64_t indirect_misses;	/* indirect branches the target cache missed */
	uint64_t indirect_stale;	/* of those, entries left from before a TLB flush */
	uint64_t interp_branches;	/* blocks left after a branch the interpreter ran */
	uint64_t tlb_misses;		/* memory accesses that missed the inline TLB check */
	uint64_t interpreted;		/* instructions the translated code left to the interpreter's handlers */
	/* Native user code (rv_vm_config.native_user) */
	uint64_t native_entries;	/* runs of user code on the host CPU */
	uint64_t native_syscalls;	/* of their stops: system calls, */
	uint64_t native_faults;		/* faults and traps, */
	uint64_t native_kicks;		/* events and kicks */
	uint64_t native_pages;		/* guest pages mirrored on faults */
	uint64_t native_flushes;	/* mirrors dropped whole */
	uint64_t native_ns;		/* time user code ran on the host CPU */
};
int rv_vcpu_get_stats(struct rv_vcpu *vcpu, struct rv_vcpu_stats *stats);

const char *rv_exit_reason_name(enum rv_exit_reason reason);

#endif

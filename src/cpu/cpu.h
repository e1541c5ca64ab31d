/*
 * The software x86-64 CPU: the state of one vCPU and the contract between
 * the decoder, the instruction handlers, the MMU and exception delivery.
 * src/cpu knows nothing of devices, files or the VMM: memory comes in as a
 * slot map, and everything else leaves as an exit.
 */
#ifndef RV_CPU_H
#define RV_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/regs.h"

/* ------------------------------------------------------------------ */
/* Guest-physical memory as the CPU sees it (set up by the engine).   */

#define CPU_MAX_SLOTS 32

enum cpu_slot_kind { CPU_SLOT_RAM, CPU_SLOT_ROM };

struct cpu_mem_slot {
	uint64_t gpa, size;
	uint8_t *host;
	enum cpu_slot_kind kind;
};

/* Shared by all vCPUs of a VM; `generation` changes on every remap. */
struct cpu_memmap {
	unsigned count;
	struct cpu_mem_slot slot[CPU_MAX_SLOTS];
	uint64_t generation;
};

/* Host pointer for [gpa, gpa+len) if it lies in one slot, else NULL. */
const struct cpu_mem_slot *cpu_memmap_find(const struct cpu_memmap *map, uint64_t gpa);

/* ------------------------------------------------------------------ */
/* Architectural state: one struct, laid out to map onto the VMCB save */
/* area for nested virtualization later.                               */

struct cpu_fpu {
	uint16_t fcw, fsw;
	uint8_t ftw;		/* abridged tag word as in FXSAVE: bit i = ST(i)... physical reg i valid */
	uint16_t fop;
	uint64_t fip, fdp;
	uint16_t fcs, fds;
	uint32_t mxcsr;
	uint8_t st[8][16];	/* physical registers R0-R7, 80-bit values in the low 10 bytes */
	uint8_t xmm[16][16];
};

struct cpu_state {
	uint64_t gpr[RV_NR_GPRS];
	uint64_t rip;
	uint64_t rflags;	/* the non-arithmetic bits; arithmetic bits live in struct lazy_flags */
	struct rv_segment seg[RV_NR_SEGS];
	struct rv_dtable gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t dr[4], dr6, dr7;
	uint8_t cpl;

	/* MSRs */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t apic_base, pat, tsc_aux, misc_enable;
	int64_t tsc_offset;
	uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
	uint64_t hwcr_xor;	/* AMD HWCR XOR its reset value (so a zeroed state is the reset state) */
	uint64_t mcg_status;

	struct cpu_fpu fpu;
};

/* ------------------------------------------------------------------ */
/* Lazy flags (QEMU's CC_OP scheme): the last flag-setting operation.  */

enum cc_op {
	CC_EAGER,		/* arithmetic flags are in lazy.eager, as RFLAGS bits */
	CC_LAHF,		/* lazy.eager as a translator keeps them: LAHF's AH in bits 8-15, OF in bit 0 */
	CC_ADD, CC_ADC, CC_SUB, CC_SBB, CC_LOGIC, CC_INC, CC_DEC,
	CC_NR
};

#define CPU_ARITH_FLAGS (RV_FLAG_CF | RV_FLAG_PF | RV_FLAG_AF | RV_FLAG_ZF | RV_FLAG_SF | RV_FLAG_OF)

struct lazy_flags {
	uint8_t op;		/* enum cc_op */
	uint8_t size;		/* operand size in bytes: 1, 2, 4, 8 */
	uint64_t res;		/* result */
	uint64_t src1, src2;	/* operands; for INC/DEC src2 holds the old CF */
	uint64_t eager;		/* with CC_EAGER or CC_LAHF */
};

/* Are the flags stored rather than to be computed from an operation? */
static inline bool cc_is_stored(unsigned op)
{
	return op <= CC_LAHF;
}

/* ------------------------------------------------------------------ */
/* Decoded instructions.                                               */

struct cpu;
struct insn;
typedef void (*insn_fn)(struct cpu *cpu, const struct insn *in);

enum op_map { MAP_1B, MAP_0F, MAP_0F38, MAP_0F3A, MAP_NR };

#define REG_NONE 0xff

/* Prefix bits in insn.prefix */
#define PFX_66   (1u << 0)
#define PFX_67   (1u << 1)
#define PFX_LOCK (1u << 2)
#define PFX_REP  (1u << 3)	/* F3 */
#define PFX_REPNE (1u << 4)	/* F2 */

/* insn.sse_pfx: the mandatory prefix that selects an SSE form (F3/F2 win over 66) */
enum sse_pfx { SSE_NONE, SSE_66, SSE_F3, SSE_F2 };

struct insn {
	insn_fn fn;
	uint64_t imm;		/* first immediate, sign-extended to 64 bits where the opcode says so */
	uint64_t imm2;		/* second immediate: ENTER level, far pointer selector */
	int64_t disp;		/* displacement, sign-extended */
	uint8_t len;		/* total length in bytes */
	uint8_t map;		/* enum op_map */
	uint8_t opcode;		/* opcode byte within its map */
	uint8_t opsize;		/* 1 (byte-operand opcodes), 2, 4 or 8 */
	uint8_t addrsize;	/* 2, 4 or 8 */
	uint8_t seg;		/* segment of the memory operand: override or default (DS, or SS for rBP/rSP bases) */
	uint8_t prefix;		/* PFX_* bits */
	uint8_t sse_pfx;	/* enum sse_pfx */
	uint8_t rex;		/* the REX byte, 0 if none */
	uint8_t has_modrm;
	uint8_t mod;		/* ModRM.mod (3 = register operand) */
	uint8_t reg;		/* ModRM.reg with REX.R: 0-15 (for groups: the /digit is reg & 7) */
	uint8_t rm;		/* ModRM.rm with REX.B: 0-15, meaningful when mod == 3 */
	uint8_t base;		/* memory operand base register, REG_NONE if none */
	uint8_t index;		/* memory operand index register, REG_NONE if none */
	uint8_t scale;		/* 0-3 (shift) */
	uint8_t rip_rel;	/* 64-bit RIP-relative addressing */
	uint8_t imm_len;	/* bytes of immediates (and far pointer / moffs) at the end */
	uint8_t bytes[15];	/* the raw bytes, for the decode cache check and the debug dump */
};

/*
 * One opcode, described once: the decoder reads the flags, the executor
 * calls fn, and debug output prints name. Each instruction-group file
 * exports a table of these; cpu_optable_init() merges them.
 */
#define OPF_MODRM     (1u << 0)
#define OPF_BYTE      (1u << 1)	/* 8-bit operand: opsize = 1 */
#define OPF_IMM8      (1u << 2)	/* imm8, sign-extended */
#define OPF_IMM8U     (1u << 3)	/* imm8, zero-extended */
#define OPF_IMM16     (1u << 4)	/* imm16, zero-extended (RET imm16, ENTER first part) */
#define OPF_IMMZ      (1u << 5)	/* imm16 or imm32 by operand size, sign-extended (imm32 in 64-bit opsize) */
#define OPF_IMMV      (1u << 6)	/* imm16/32/64 by operand size (MOV r, imm) */
#define OPF_MOFFS     (1u << 7)	/* absolute offset of address size (MOV AL, moffs) */
#define OPF_FARPTR    (1u << 8)	/* ptr16:16/ptr16:32: offset in imm, selector in imm2 */
#define OPF_ENTER     (1u << 9)	/* imm16 then imm8 (in imm2) */
#define OPF_DEF64     (1u << 10)	/* operand size defaults to 64 in 64-bit mode (PUSH, POP, ...) */
#define OPF_FORCE64   (1u << 11)	/* operand size is always 64 in 64-bit mode (near branches) */
#define OPF_INV64     (1u << 12)	/* #UD in 64-bit mode */
#define OPF_LOCKOK    (1u << 13)	/* LOCK allowed (with a memory destination) */
#define OPF_GRP3      (1u << 14)	/* F6/F7: immediate only for /0 and /1 (TEST) */
#define OPF_REL       (1u << 15)	/* immediate is a branch displacement (imm8 or immz) */

struct opdesc {
	uint8_t map;
	uint8_t opcode;
	uint16_t flags;
	insn_fn fn;
	const char *name;
};

/* The tables every instruction-group file provides, terminated by a zero-fn entry. */
extern const struct opdesc cpu_ops_int[];	/* exec_int.c: ALU, MOV, stack, jumps, ... */
extern const struct opdesc cpu_ops_int2[];	/* exec_int2.c: shifts, mul/div, bits, strings, BCD, ... */
extern const struct opdesc cpu_ops_sys[];	/* exec_sys.c: system instructions, far transfers, I/O */
extern const struct opdesc cpu_ops_fpu[];	/* exec_x87.c: x87 */
extern const struct opdesc cpu_ops_sse[];	/* exec_sse.c: MMX, SSE, SSE2, FXSAVE */

void cpu_optable_init(void);	/* idempotent, thread-safe */
const struct opdesc *cpu_opdesc(unsigned map, unsigned opcode);

/*
 * Decode the instruction at `bytes` (up to `avail` bytes readable) in the
 * current mode of `cpu`. Returns the length, or 0 if more than `avail` bytes
 * would be needed; an invalid encoding yields an insn whose fn raises #UD
 * (or #GP for over-long instructions).
 */
int cpu_decode(const struct cpu *cpu, const uint8_t *bytes, unsigned avail, struct insn *in);

/* ------------------------------------------------------------------ */
/* Software TLB, tagged by address space.                              */

#define TLB_SIZE 4096

/*
 * One 4 KiB translation for one privilege (cpu->tlb[0] supervisor, [1] user).
 * Each access kind has its own tag: it equals tlb_key(va), the page address
 * (low 12 bits zero), only when that kind may take the fast path (rights
 * granted, RAM, and for writes the dirty bit already set); otherwise it is
 * tlb_tag_none(index): a page of another index, so that no address that
 * looks this entry up equals it, or XORs with it to less than 4096
 * (translated code checks address ^ tag, which is the offset in the page
 * exactly when the tag matches, whatever the address, non-canonical ones
 * included). So a load or store is a compare and an add. The entry is 32 bytes so that translated
 * code (src/jit) indexes it with a shift; what only the slow paths need is
 * in the parallel struct tlb_info.
 */
struct tlb_entry {
	uint64_t tag_read, tag_write, tag_exec;
	uintptr_t host;		/* host address of the page (RAM/ROM pages) */
};
static inline uint64_t tlb_tag_none(unsigned index)
{
	return (uint64_t)(index ^ 1) << 12;
}

/* The host address of linear address lin through entry e (a tag of e matched). */
static inline uintptr_t tlb_host(const struct tlb_entry *e, uint64_t lin)
{
	return e->host + (uintptr_t)(lin & 0xfff);
}

struct tlb_info {
	uint64_t pa;		/* physical page (an SVM guest with nested paging: the host's, L1's) */
	uint64_t va;		/* virtual page */
	uint32_t flags;		/* TLBF_* */
	uint8_t size_shift;	/* 12, or 21 / 22 / 30 for an entry from a large page */
};
#define TLBF_GLOBAL (1u << 0)
#define TLBF_LARGE  (1u << 1)	/* from a 2M/4M/1G page: INVLPG must find it */
#define TLBF_RAM    (1u << 2)
#define TLBF_ROM    (1u << 3)	/* neither: a hole (MMIO) */

/* ------------------------------------------------------------------ */
/* Exits and exceptions.                                               */

enum cpu_exit {
	CPU_EXIT_NONE,
	CPU_EXIT_IO,
	CPU_EXIT_MMIO,
	CPU_EXIT_HLT,
	CPU_EXIT_SHUTDOWN,
	CPU_EXIT_INVALID,
	CPU_EXIT_IRQ_WINDOW,
	CPU_EXIT_DEBUG,
	CPU_EXIT_KICK,
	CPU_EXIT_BUDGET,	/* instruction budget of cpu_run() used up */
	CPU_EXIT_MSR,		/* RDMSR/WRMSR of a VMM-implemented MSR (exit.port unused, msr_index) */
};

/* The completed port and MMIO accesses of the instruction being retried. */
#define CPU_REPLAY_MAX 8
struct cpu_replay {
	unsigned count;		/* accesses completed by the VMM */
	unsigned next;		/* next access to consume on re-execution */
	uint64_t value[CPU_REPLAY_MAX];
};

struct cpu_exit_info {
	enum cpu_exit reason;
	uint16_t port;
	uint8_t size;
	bool is_write;
	uint64_t gpa;
	uint64_t data;
	uint32_t msr_index;	/* CPU_EXIT_MSR (data: the value written) */
	const char *check;	/* CPU_EXIT_INVALID: the failed consistency check */
	uint64_t check_value;
};

/* Exception vectors */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
	EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
	EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* Kinds of event delivery (they differ in privilege checks and saved RIP). */
enum event_kind {
	EV_EXCEPTION,		/* fault or trap raised by the CPU */
	EV_EXTERNAL,		/* external interrupt (INTR) */
	EV_NMI,
	EV_SOFTWARE,		/* INT n: gate DPL checked against CPL */
	EV_SOFT_EXCEPTION,	/* INT3, INTO: like INT n */
	EV_PRIV_SOFT,		/* INT1/ICEBP: no DPL check */
};

/* Page-fault error code bits */
#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)

/* ------------------------------------------------------------------ */
/* AMD-V offered to the guest (svm.c; AMD APM vol. 2, chapter 15).    */

/*
 * The host state VMRUN saves and #VMEXIT restores (APM 15.5.1, 15.6). The
 * manual leaves the HSAVE area's format to the implementation; ringvm keeps
 * the state here, in the CPU, where no guest store can reach it (a guest
 * without nested paging sees the host's physical memory, HSAVE page included).
 */
struct cpu_svm_host {
	struct rv_segment seg[4];	/* ES, CS, SS, DS */
	struct rv_dtable gdtr, idtr;
	uint64_t efer, cr0, cr3, cr4, rflags, rip, rsp, rax;
	uint64_t pat;			/* with nested paging the guest runs on G_PAT (APM 15.25.8) */
};

struct cpu_svm {
	bool gif_clear;		/* GIF = 0 (CLGI, #VMEXIT): interrupts and NMIs held pending */
	bool guest;		/* guest mode: between VMRUN and #VMEXIT */
	uint64_t vm_cr;		/* VM_CR MSR: DPD, R_INIT, DIS_A20M, LOCK, SVMDIS */
	uint64_t hsave_pa;	/* VM_HSAVE_PA MSR */
	/* The controls of the running guest, read from its VMCB at VMRUN */
	uint64_t vmcb;		/* guest-physical address of its VMCB */
	uint32_t asid;		/* its address space: the TLB's tag (tlb_ctx.c) */
	uint32_t icpt_cr;	/* bits 0-15 reads of CR0-15, 16-31 writes */
	uint32_t icpt_dr;	/* bits 0-15 reads of DR0-15, 16-31 writes */
	uint32_t icpt_exc;	/* exception vectors */
	uint32_t icpt_misc1;	/* VMCB offset 0x0C: INTR ... SHUTDOWN */
	uint32_t icpt_misc2;	/* VMCB offset 0x10: VMRUN ... */
	uint64_t iopm, msrpm;	/* I/O and MSR permission maps */
	int64_t tsc_offset;	/* added to the TSC the guest reads */
	bool v_intr_masking;	/* physical interrupts masked by the host's IF, not the guest's */
	bool host_if;		/* the host's RFLAGS.IF at VMRUN */
	/*
	 * Virtual interrupts (APM 15.21.4, svm_intr.c): V_TPR, and a pending
	 * V_IRQ with its priority and vector, loaded from the VMCB's V_INTR
	 * by VMRUN; V_TPR and V_IRQ go back to it at #VMEXIT.
	 */
	bool v_irq;
	bool v_ign_tpr;
	uint8_t v_tpr;		/* 4 bits, the guest's CR8 under V_INTR_MASKING */
	uint8_t v_intr_prio;	/* 4 bits */
	uint8_t v_intr_vector;
	uint64_t pf_addr;	/* a #PF's address while its intercept may hold CR2 unchanged */
	bool inject;		/* delivering the VMCB's EVENTINJ: not subject to intercepts */
	/*
	 * Nested paging (APM 15.25, paging.c): guest-physical addresses go
	 * through the tables at ncr3, in the host's paging format (host.cr4,
	 * host.efer); the TLB holds guest linear -> host-physical.
	 */
	bool np;
	uint64_t ncr3;
	uint64_t event;		/* EXITINTINFO of the event being delivered, for a #NPF met on the way */
	struct cpu_svm_host host;
};

/* ------------------------------------------------------------------ */
/* The vCPU.                                                           */

struct cpu {
	struct cpu_state s;
	struct lazy_flags lf;

	const struct cpu_memmap *mem;
	uint64_t mem_generation;	/* of mem when the TLB was filled */

	/* Execution of the current instruction */
	uint64_t next_rip;		/* RIP after the current instruction; branches set it */
	jmp_buf *unwind;		/* where cpu_raise()/cpu_exit_restart() jump to */
	jmp_buf *probe;			/* set: a fault ends a side-effect-free probe here instead (svm.c) */
	struct cpu_replay replay;
	struct cpu_exit_info exit;

	/* Pending exception being raised (set by cpu_raise, consumed by delivery) */
	int exc_vector;			/* -1 if none */
	uint32_t exc_error;
	bool exc_has_error;
	int exc_nesting;		/* for #DF / triple fault: vector being delivered, -1 if none */

	/* Interrupt inputs (set by the engine, possibly from another thread through it) */
	int pending_irq;		/* external vector, -1 if none */
	bool pending_nmi;
	bool nmi_blocked;
	bool irq_window_exit;
	bool halted;
	uint8_t shadow;			/* interrupt shadow: 1 for the instruction after STI / MOV SS / POP SS */
	volatile int kick;

	/* Mode summary, recomputed by cpu_update_mode() after any CR0/CR4/EFER/CS change */
	uint8_t mode;			/* enum cpu_mode */
	uint8_t code_size;		/* default operand/address size of CS: 2, 4, 8 */
	uint8_t stack_size;		/* SS.B: 2 or 4 (8 in 64-bit mode) */
	/*
	 * Segments (bit = enum rv_seg) whose reads / writes need no segment
	 * check beyond natural alignment: base 0, no limit and the type allows
	 * the access (every ES/CS/SS/DS in 64-bit mode). cpu_update_flat()
	 * (mmu.h) recomputes them; the MMU's inline fast path reads them.
	 */
	uint8_t flat_rd, flat_wr;

	/* Software TLB */
	struct tlb_entry tlb[2][TLB_SIZE];	/* [0] supervisor, [1] user (CPL 3) accesses */
	struct tlb_info tlbi[2][TLB_SIZE];	/* the same entries' physical page and kind */
	/*
	 * Entries filled since the last flush (priv * TLB_SIZE + index), so
	 * that flushes touch only those: [0] from non-global pages, the ones a
	 * CR3 write drops, [1] from global pages.
	 */
	uint16_t tlb_used[2][2 * TLB_SIZE];
	unsigned tlb_nused[2];
	uint64_t tlb_inuse[2][2 * TLB_SIZE / 64];
	uint8_t tlb_large_shifts;	/* sizes of the large pages with entries: bit s - 21 for 2^s bytes */
	uint64_t tlb_fills;		/* page walks that filled an entry (the tests count misses) */
	/*
	 * Other address spaces' TLBs (tlb_ctx.c), allocated at the first
	 * world switch, and the running one's kept entries, which misses take
	 * back (NULL: none)
	 */
	struct tlb_ctx *tlb_ctx;
	struct tlb_ctx *tlb_back;
	uint64_t tlb_ctx_clock;
	uint8_t maxphyaddr;		/* physical address width (CPUID 0x80000008), for reserved bits */

	/* Decode cache (see decode_cache.c) */
	struct decode_cache *dcache;

	/*
	 * Debug architecture (debug.c). dbg_trap holds the DR6 bits of trap-class
	 * #DBs the current instruction raised (data breakpoints) plus DBG_T_* flags;
	 * non-zero makes the run loop call cpu_debug_retire().
	 */
	uint32_t dbg_trap;
	uint32_t dbg_defer;		/* DR6 bits held over a MOV SS / POP SS */
	uint64_t dbg_seen[5];		/* DR0-DR3, DR7 when the TLB was last filtered for watchpoints */

	uint64_t icount;		/* retired instructions */
	uint32_t intercepts;		/* RV_INTERCEPT_* */
	uint32_t apic_id;		/* initial APIC ID (CPUID 1 EBX[31:24]); the engine sets the vCPU index */
	uint32_t tsc_khz;		/* guest TSC frequency reported in CPUID 0x40000010; the engine sets it */
	uint32_t nr_cpus;		/* vCPUs in the VM, the cores of CPUID's one package; the engine sets it */
	bool msr_gp;			/* the VMM refused the MSR access being replayed: #GP(0) */

	/* Time: guest TSC = host clock scaled + tsc_offset (see cpu_rdtsc) */
	uint64_t (*read_host_tsc)(void *opaque);
	void *opaque;

	/* Decoded basic blocks (block.c) and their self-modifying-code guard */
	struct block_cache *bcache;
	uint64_t blk_page;		/* guest-physical page of the block being run, ~0 if none */
	uint8_t blk_stop;		/* a store hit that page: end the block after this instruction */

	/*
	 * A translator (src/jit) plugged into the run loop, NULL if none; see
	 * struct cpu_xlat. The fields below are its half of the contract.
	 */
	const struct cpu_xlat *xlat;
	void *xlat_ctx;
	/*
	 * Guest-physical pages holding translated code, shared by the VM's
	 * vCPUs and written by the translator: one word per page, bit i set
	 * when bytes [64i, 64i+63] of it were translated. The TLB gives such
	 * pages no write fast path, so stores to them reach the MMU slow path,
	 * which tells the translator (cpu_note_store).
	 */
	const uint64_t *code_granules;
	uint64_t code_npages;		/* pages code_granules covers */
	/* Set (by any thread) when the translated code must return to the run loop: kick, event, invalidation. */
	uint32_t exit_req;
	/*
	 * Generations of the virtual-to-physical mappings that translated
	 * code's target cache relies on: code_gen[0] changes with every TLB
	 * flush, code_gen[1] only with those that may drop global pages too
	 * (a CR3 write keeps them). An INVLPG changes them only for a page in
	 * code_vpages (hashed virtual page numbers the translator marks).
	 */
	uint32_t code_gen[2];
	uint32_t code_gen_clock;	/* the last generation handed out: each new one is unique */
	uint64_t code_vpages[64];
	/* A cpu_rmw_ptr() pointer into translated code: the store cpu_rmw_done() reports. */
	uint64_t rmw_code_pa;
	unsigned rmw_code_len;

	/* AMD-V for the guest (svm.c): offered when the engine sets svm_offered (rv_vm_config.cpu_svm) */
	bool svm_offered;
	struct cpu_svm svm;

	/*
	 * Native ring-3 execution (src/native), NULL if off; see struct
	 * cpu_native. native_want: the run loop should hand the current
	 * CPL-3 code to it (set by its cpl_changed(), cleared by run()).
	 * native_running: it is running guest code now, so an exit request
	 * must also reach it (cpu_request_exit).
	 */
	const struct cpu_native *native;
	void *native_ctx;
	bool native_want;
	uint8_t native_cpl;		/* the CPL cpl_changed() was last told */
	int native_running;
};

/*
 * Native ring-3 execution: run() runs the guest's user code on the host
 * CPU until something needs the run loop (an event, a system call, a
 * fault it cannot resolve, an instruction it does not run natively); it
 * leaves the state as the interpreter would have at that instruction
 * boundary, and returns false if it ran nothing. cpl_changed() is called
 * by cpu_update_mode() when the CPL changes; tlb_flush() on every TLB
 * invalidation (lin, or CPU_NATIVE_FLUSH_ALL); kick() by any thread, to
 * stop a running run().
 */
#define CPU_NATIVE_FLUSH_ALL (~0ull)
struct cpu_native {
	bool (*run)(struct cpu *cpu);
	void (*cpl_changed)(struct cpu *cpu);
	void (*tlb_flush)(struct cpu *cpu, uint64_t lin);
	void (*kick)(struct cpu *cpu);
};

/*
 * The translator's entry points. run() executes translated code from the
 * current RIP until something needs the run loop (an exit request, an
 * instruction that may change mode, flags or interrupt state, an exit to
 * the VMM, the budget), with the same architectural effect as the
 * interpreter;
 * exceptions unwind through it like from any handler. It returns
 * CPU_XLAT_DECLINED without running anything when the current state is
 * one it does not translate (then the interpreter runs). code_written()
 * is called after this vCPU stored to a page code_granules marks.
 */
enum { CPU_XLAT_RAN, CPU_XLAT_DECLINED };
struct cpu_xlat {
	/* end: stop before cpu->icount would pass it (UINT64_MAX: no budget) */
	int (*run)(struct cpu *cpu, uint64_t end);
	void (*code_written)(struct cpu *cpu, uint64_t pa, unsigned len);
};

/* Ask the vCPU's translated code to return to the run loop at its next block boundary (any thread). */
static inline void cpu_request_exit(struct cpu *cpu)
{
	__atomic_store_n(&cpu->exit_req, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&cpu->native_running, __ATOMIC_SEQ_CST))
		cpu->native->kick(cpu);
}

/* Does guest-physical page pa hold translated code (of any vCPU of this VM)? */
static inline bool cpu_code_page(const struct cpu *cpu, uint64_t pa)
{
	uint64_t pfn = pa >> 12;

	return cpu->code_granules && pfn < cpu->code_npages &&
	       __atomic_load_n(&cpu->code_granules[pfn], __ATOMIC_RELAXED) != 0;
}

/* The local APIC timer's input frequency the VMM implements (src/devices/lapic.c), for CPUID 0x40000010. */
#define CPU_APIC_TIMER_KHZ 1000000u

enum cpu_mode {
	MODE_REAL,		/* CR0.PE = 0 */
	MODE_PROT,		/* protected mode, 16- or 32-bit code */
	MODE_VM86,		/* EFLAGS.VM */
	MODE_COMPAT,		/* long mode, CS.L = 0 */
	MODE_LONG64,		/* long mode, CS.L = 1 */
};

/* ------------------------------------------------------------------ */
/* Life cycle and running (cpu.c).                                     */

void cpu_init(struct cpu *cpu, const struct cpu_memmap *mem);	/* power-on state */
void cpu_reset(struct cpu *cpu);	/* back to the power-on state (INIT keeps some, see SDM 9.1.1) */
void cpu_fini(struct cpu *cpu);
/* Run until an exit or until `budget` instructions retired; returns the exit reason (also in cpu->exit). */
enum cpu_exit cpu_run(struct cpu *cpu, uint64_t budget);
/* Recompute mode, code_size, stack_size, cpl-dependent caches. */
void cpu_update_mode(struct cpu *cpu);
/* Entry consistency checks (check.c): NULL if the state is consistent, else the name of the failed check. */
const char *cpu_check_state(const struct cpu_state *s, uint64_t *bad_value);

/* ------------------------------------------------------------------ */
/* Exceptions and exits from inside an instruction. None of these      */
/* return: they unwind to cpu_run(), leaving the architectural state   */
/* as at the start of the instruction (handlers commit registers only  */
/* after the last access that can fault).                              */

_Noreturn void cpu_raise(struct cpu *cpu, int vector, uint32_t error_code);
_Noreturn void cpu_raise_ud(struct cpu *cpu);
_Noreturn void cpu_raise_gp0(struct cpu *cpu);
_Noreturn void cpu_raise_pf(struct cpu *cpu, uint64_t lin, uint32_t error_code);
/* Exit to the VMM; the instruction is executed again on the next run (replaying completed I/O). */
_Noreturn void cpu_exit_restart(struct cpu *cpu);
/*
 * Back to the run loop after a world switch (#VMEXIT) replaced the state
 * mid-instruction: it goes on at the new RIP, nothing retires.
 */
_Noreturn void cpu_unwind_switch(struct cpu *cpu);

/* Deliver an event through the IVT/IDT (except.c); handles #DF and triple fault. */
void cpu_deliver_event(struct cpu *cpu, int vector, enum event_kind kind, bool has_error, uint32_t error);

/* Exit after the current instruction retires (HLT, ...). */
void cpu_exit_after(struct cpu *cpu, enum cpu_exit reason);

/* ------------------------------------------------------------------ */
/* Memory access (mmu.c). seg is an enum rv_seg; off is the offset in  */
/* the segment (already truncated to the address size). These check   */
/* segment limits and rights, translate through paging (setting A/D   */
/* bits), and fault with cpu_raise*. Accesses to holes exit as MMIO.   */

enum access { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2 };
/* OR-ed into the access kind: a supervisor access regardless of CPL (descriptor tables, TSS) */
#define ACC_IMPLICIT_SV 0x10

uint8_t cpu_read8(struct cpu *cpu, int seg, uint64_t off);
uint16_t cpu_read16(struct cpu *cpu, int seg, uint64_t off);
uint32_t cpu_read32(struct cpu *cpu, int seg, uint64_t off);
uint64_t cpu_read64(struct cpu *cpu, int seg, uint64_t off);
void cpu_write8(struct cpu *cpu, int seg, uint64_t off, uint8_t v);
void cpu_write16(struct cpu *cpu, int seg, uint64_t off, uint16_t v);
void cpu_write32(struct cpu *cpu, int seg, uint64_t off, uint32_t v);
void cpu_write64(struct cpu *cpu, int seg, uint64_t off, uint64_t v);
/* Sized access, size 1/2/4/8 */
uint64_t cpu_read(struct cpu *cpu, int seg, uint64_t off, unsigned size);
void cpu_write(struct cpu *cpu, int seg, uint64_t off, uint64_t v, unsigned size);
/* Arbitrary-length (10, 16, 512 bytes...), all checks done before any byte is written. */
void cpu_read_bytes(struct cpu *cpu, int seg, uint64_t off, void *dst, unsigned len);
void cpu_write_bytes(struct cpu *cpu, int seg, uint64_t off, const void *src, unsigned len);
/* Check that a write would succeed (for instructions that must not fault after a partial update). */
void cpu_check_write(struct cpu *cpu, int seg, uint64_t off, unsigned len);
/*
 * Host pointer for an aligned-enough RAM access of `size` bytes that does
 * not cross a page, after all checks for a read-modify-write; NULL if the
 * access must go through cpu_read/cpu_write (MMIO, ROM, page-crossing).
 * Used by LOCK-ed instructions to use host atomics.
 */
void *cpu_rmw_ptr(struct cpu *cpu, int seg, uint64_t off, unsigned size);
/*
 * After an instruction that may have written through a cpu_rmw_ptr()
 * pointer (the run loops call it after every handler): tells a translator
 * of a store into its code, once the bytes are there.
 */
void cpu_rmw_done_slow(struct cpu *cpu);
static inline void cpu_rmw_done(struct cpu *cpu)
{
	if (__builtin_expect(cpu->rmw_code_len != 0, 0))
		cpu_rmw_done_slow(cpu);
}

/* Segmentation only: offset -> linear address, with limit and type checks. */
uint64_t cpu_linear(struct cpu *cpu, int seg, uint64_t off, unsigned size, int access);
/* Linear-address accesses (descriptor tables, TSS, IDT). */
uint64_t cpu_lin_read(struct cpu *cpu, uint64_t lin, unsigned size, int access);
void cpu_lin_write(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size, int access);
/* Translate linear -> guest-physical through paging; faults with #PF. */
uint64_t cpu_translate(struct cpu *cpu, uint64_t lin, int access);
/* Guest-physical accesses (page walks); holes read as all ones. */
uint64_t cpu_phys_read(struct cpu *cpu, uint64_t pa, unsigned size);
void cpu_phys_write(struct cpu *cpu, uint64_t pa, uint64_t v, unsigned size);

/* Near branch: truncate target to opsize, check CS limit / canonical (#GP(0)), set next_rip. */
void cpu_jump_near(struct cpu *cpu, uint64_t target, unsigned opsize);
/* ARPL (opcode 63 outside 64-bit mode), written by the system engineer. */
void cpu_arpl(struct cpu *cpu, const struct insn *in);

void cpu_tlb_flush(struct cpu *cpu);			/* all but global entries */
void cpu_tlb_flush_all(struct cpu *cpu);		/* including global entries */
void cpu_tlb_flush_page(struct cpu *cpu, uint64_t lin);	/* INVLPG */
/*
 * A CPL-3 access to lin as the MMU makes it (accessed and dirty bits set,
 * the TLB filled), without raising: false if it would fault. Then what the
 * TLB allows on that page without the slow path: read, write (dirty, not a
 * code or watched page), execute; host is NULL unless it is RAM.
 */
struct cpu_user_page {
	uint64_t pa;
	uint8_t *host;
	bool read, write, exec, large;
};
bool cpu_user_page(struct cpu *cpu, uint64_t lin, int access, struct cpu_user_page *p);
/*
 * The TLBs of the address spaces not running (tlb_ctx.c, AMD APM vol. 2,
 * 15.16): the host's is ASID 0. A world switch saves the running TLB as
 * that of `asid` (which empties cpu->tlb) before it loads the new state,
 * and loads the new ASID's after (its entries come back as they are
 * missed), if kept and made under the same paging state. The others drop
 * an ASID's entries, or one page of them (INVLPGA), or those of every
 * ASID, the running TLB included.
 */
void cpu_tlb_ctx_save(struct cpu *cpu, uint32_t asid);
void cpu_tlb_ctx_load(struct cpu *cpu, uint32_t asid);
void cpu_tlb_ctx_drop(struct cpu *cpu, uint32_t asid);
void cpu_tlb_ctx_flush_page(struct cpu *cpu, uint32_t asid, uint64_t lin);
void cpu_tlb_flush_asids(struct cpu *cpu);
void cpu_tlb_ctx_free(struct cpu *cpu);

/* Port I/O from an instruction: exits to the VMM, replays on re-execution. */
uint32_t cpu_io_in(struct cpu *cpu, uint16_t port, unsigned size);
void cpu_io_out(struct cpu *cpu, uint16_t port, unsigned size, uint32_t value);

/* ------------------------------------------------------------------ */
/* Registers and flags (regs.c, flags.c).                              */

static inline uint64_t size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* Read/write a general register of `size` bytes with x86 rules: 32-bit writes zero the upper half, 8/16-bit writes merge. */
uint64_t cpu_reg_get(const struct cpu *cpu, unsigned reg, unsigned size);
void cpu_reg_set(struct cpu *cpu, unsigned reg, unsigned size, uint64_t v);
/* 8-bit register by encoding, honouring AH/CH/DH/BH without REX. */
uint8_t cpu_reg8_get(const struct cpu *cpu, const struct insn *in, unsigned reg);
void cpu_reg8_set(struct cpu *cpu, const struct insn *in, unsigned reg, uint8_t v);

/* Effective address (offset within in->seg) of the ModRM memory operand. */
uint64_t insn_ea(const struct cpu *cpu, const struct insn *in);
/* Read/write the ModRM r/m operand (register or memory) of size in->opsize. */
uint64_t insn_rm_read(struct cpu *cpu, const struct insn *in);
void insn_rm_write(struct cpu *cpu, const struct insn *in, uint64_t v);

/* Flags */
uint64_t cpu_get_rflags(struct cpu *cpu);		/* materialize all bits */
void cpu_set_rflags(struct cpu *cpu, uint64_t v);	/* set all bits (no privilege checks) */
bool cpu_get_cf(struct cpu *cpu);
/* Evaluate condition code cc (0-15, as in Jcc/SETcc/CMOVcc). */
bool cpu_cond(struct cpu *cpu, unsigned cc);
static inline void cpu_set_lazy(struct cpu *cpu, enum cc_op op, unsigned size,
				uint64_t res, uint64_t src1, uint64_t src2)
{
	cpu->lf.op = (uint8_t)op;
	cpu->lf.size = (uint8_t)size;
	cpu->lf.res = res;
	cpu->lf.src1 = src1;
	cpu->lf.src2 = src2;
}
/* Set arithmetic flags eagerly: bits in `mask` take their value from `flags`, others keep theirs. */
void cpu_set_flags_eager(struct cpu *cpu, uint64_t mask, uint64_t flags);
/* Store the arithmetic flags in the CC_LAHF form. */
void cpu_set_flags_lahf(struct cpu *cpu);
/* Parity of the low byte (PF). */
static inline bool parity8(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

/* Stack (regs.c): push/pop with the current stack size; faults leave RSP unchanged. */
void cpu_push(struct cpu *cpu, uint64_t v, unsigned size);
uint64_t cpu_pop(struct cpu *cpu, unsigned size);

/* ------------------------------------------------------------------ */
/* System (seg.c, except.c, msr.c, cpuid.c).                           */

/* Load a segment register as MOV Sreg / POP Sreg do in the current mode, with all checks. */
void cpu_load_seg(struct cpu *cpu, int seg, uint16_t sel);
/* The host CPU loaded sel into seg while running the guest's ring-3 code natively (src/native). */
void cpu_native_seg_loaded(struct cpu *cpu, int seg, uint16_t sel);
/* Real-mode/VM86 style load: base = sel << 4, attributes kept. */
void cpu_load_seg_real(struct cpu *cpu, int seg, uint16_t sel);
/* Read an 8-byte descriptor for `sel` from the GDT/LDT; raises #GP(sel) if outside the table. */
uint64_t cpu_read_descriptor(struct cpu *cpu, uint16_t sel, int fault_vector);
/* Unpack a descriptor into a segment cache. */
void cpu_desc_to_seg(uint64_t desc, uint16_t sel, struct rv_segment *seg);

/* Far JMP/CALL to sel:off (gates, task and privilege rules included), as opcodes EA/9A/FF /3 /5 do. */
void cpu_far_jump(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize);
void cpu_far_call(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize);

/* I/O permission for IN/OUT/INS/OUTS: CPL vs IOPL, then the TSS I/O bitmap; raises #GP(0) if denied. */
void cpu_check_io(struct cpu *cpu, uint16_t port, unsigned size);

/*
 * MSRs the VMM implements (the x2APIC range, TSC deadline, APIC base
 * writes): RDMSR/WRMSR exit with CPU_EXIT_MSR and replay the value
 * (msr.c). cpu_msr_vmm() says which; cpu_msr_exit() returns the value read.
 */
bool cpu_msr_vmm(uint32_t index, bool is_write);
uint64_t cpu_msr_exit(struct cpu *cpu, uint32_t index, bool is_write, uint64_t value);
/* MSRs: return false if the MSR does not exist (caller raises #GP). */
bool cpu_rdmsr(struct cpu *cpu, uint32_t index, uint64_t *value);
bool cpu_wrmsr(struct cpu *cpu, uint32_t index, uint64_t value);
/* CPUID leaf/subleaf */
void cpu_cpuid(struct cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* Guest TSC now. */
uint64_t cpu_rdtsc(struct cpu *cpu);
/* Write CR0/CR3/CR4/EFER with the architectural side effects (mode change, TLB flush); fault on bad values. */
void cpu_write_cr(struct cpu *cpu, unsigned cr, uint64_t v);
void cpu_write_efer(struct cpu *cpu, uint64_t v);

/*
 * Debug registers (debug.c, Intel SDM vol. 3 ch. 17). The run loop calls
 * cpu_debug_before() before an instruction when (s.dr7 | dbg_seen[4]) has an
 * enable bit (instruction breakpoints: a #DB fault), and cpu_debug_retire()
 * after it when the old RFLAGS had TF/RF or dbg_trap is set (traps). The MMU
 * calls cpu_debug_access() on its slow path when DR7 enables a breakpoint;
 * cpu_debug_watch_page() says whether a page holds a watched address (bit 0:
 * reads, bit 1: writes), so such pages never take the TLB fast path.
 */
#define DBG_T_MOVSS   (1u << 31)	/* the instruction was MOV SS / POP SS: defer its traps */
#define DBG_T_NOSTEP  (1u << 30)	/* it delivered INT n/INT3/INTO/INT1: no single-step trap */
#define DBG_T_KEEPRF  (1u << 29)	/* it loaded RF = 1 (IRET, task switch): keep it */
#define DBG_T_PENDING (1u << 28)	/* dbg_defer holds traps for after this instruction */
#define DBG_T_FAULTRF (1u << 27)	/* a #DB fault (DR7.GD) whose pushed RFLAGS gets RF = 1 */
void cpu_debug_before(struct cpu *cpu);
void cpu_debug_retire(struct cpu *cpu, uint64_t old_rflags);
void cpu_debug_access(struct cpu *cpu, uint64_t lin, unsigned len, bool write);
unsigned cpu_debug_watch_page(const struct cpu *cpu, uint64_t lin);

/* FPU/SSE state helpers (exec_x87.c / exec_sse.c) */
void cpu_fpu_reset(struct cpu *cpu);		/* FNINIT state + MXCSR default */
/* The x87/MMX/SSE state in the FXSAVE memory layout, and back (false: reserved MXCSR bits set). */
void cpu_fxsave_image(const struct cpu *cpu, uint8_t image[512]);
bool cpu_fxrstor_image(struct cpu *cpu, const uint8_t image[512]);

static inline bool cpu_long_mode(const struct cpu *cpu)
{
	return cpu->mode >= MODE_COMPAT;
}
static inline bool cpu_64bit(const struct cpu *cpu)
{
	return cpu->mode == MODE_LONG64;
}

#endif

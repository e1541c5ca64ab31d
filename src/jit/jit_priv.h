/*
 * Private to src/jit: the translated code's conventions, blocks, exits and
 * the per-vCPU translator state.
 *
 * Conventions of translated code (see docs/ARCHITECTURE.md, "The translator"):
 *  - guest registers live in the host registers of the same number, but
 *    RSP (the host's stack) and R10 and R11, the two guest registers
 *    compilers use least, which live in cpu->s.gpr: host R10 and R11 are
 *    the translator's scratch registers (S1, S2);
 *  - everything of the vCPU is addressed absolutely (low 2 GiB);
 *  - at every block boundary the guest's arithmetic flags are in
 *    cpu->lf.eager in the CC_LAHF form (lf.op == CC_LAHF, set by the C
 *    side on entry and after each helper); inside a block they may be in the
 *    host's RFLAGS only;
 *  - the host stack is 16-byte aligned in translated code;
 *  - cpu->icount lives in XMM15 (JIT_ICOUNT) while translated code runs:
 *    stored on every exit and around every call of C, loaded on entry.
 *    A register, not memory: the add at each block's entry and the
 *    subtract at a taken Jcc would otherwise make a chain of
 *    read-modify-writes through one address that every loop waits on.
 */
#ifndef RV_JIT_PRIV_H
#define RV_JIT_PRIV_H

#include <pthread.h>

#include "cpu/block.h"
#include "jit/codebuf.h"
#include "jit/emit.h"
#include "jit/jit.h"

#define S1 H_R10
#define S2 H_R11

/* Does guest GPR g live in the host register of the same number? */
static inline bool greg_mapped(unsigned g)
{
	return g != 4 && g != 10 && g != 11;
}

#define JIT_MAX_INSNS   64		/* guest instructions in one block */
#define JIT_RW_WINDOW   (1u << 20)	/* writable view kept mapped behind the emitter (translate.c) */
#define JIT_ICOUNT      15		/* the XMM register holding cpu->icount (see above) */
#define JIT_MAX_VCPUS   64
#define JC_BITS         12		/* indirect-branch target cache entries per privilege: 1 << JC_BITS */
#define JIT_HASH_BITS   16		/* block hash buckets */
#define JIT_PAGE_BITS   12		/* per-page block list buckets */
#define JIT_QUEUE_MAX   64		/* pending page invalidations posted by others */

/* Arithmetic flags as in RFLAGS. */
#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_OF 0x800u
#define FL_ALL (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* The translation key: what, besides the addresses, the generated code assumed. */
#define KEY_64     (1u << 0)	/* 64-bit mode (else 32-bit flat protected or compatibility mode) */
#define KEY_CPL3   (1u << 1)	/* CPL 3: the user TLB, the user target cache */
#define KEY_AC     (1u << 2)	/* alignment checking on (CR0.AM, RFLAGS.AC, CPL 3) */
#define KEY_FLAT_RD(s) (1u << (8 + (s)))	/* 32-bit: segment s flat for reads (cpu->flat_rd) */
#define KEY_FLAT_WR(s) (1u << (16 + (s)))

struct jit_block;

/* A way out of a block to a guest address known when it was translated. */
enum { JX_DIRECT, JX_ENTRY };
struct jit_exit {
	uint8_t kind;
	uint64_t target;		/* guest RIP */
	uint8_t *field;			/* rel32 of the patchable jump (writable view) */
	uintptr_t stub;			/* what it jumps to when not chained (executable view) */
	/*
	 * A forward exit within the page whose flags are only in RFLAGS: a
	 * jump before the store of the flags (to fast_stub, the store, when
	 * not chained), patched straight to the body of a target that writes
	 * the flags before anything can see them (jit_block.flags_dead).
	 */
	uint8_t *fast_field;
	uintptr_t fast_stub;
	struct jit_block *from, *to;
	struct jit_exit *in_next;	/* the next exit chained into `to` */
};

/* An instruction the interpreter's handler runs: a fallback, or a memory access's slow path. */
struct jit_slow {
	struct insn in;			/* a copy: a block keeps only the instructions the interpreter may run */
	uint64_t rip;
	struct jit_block *blk;
	uint16_t index;			/* the block's instructions before this one */
	uint8_t ends;			/* it may change mode, flags or interrupt state: back to the run loop */
	uint8_t slow_path;		/* an inline check (TLB, canonical target) failed; else not translated */
};

/*
 * A block may run on into the next virtual page (an instruction that
 * crosses the boundary, and those after it): pa2 is that page's physical
 * address, which its entry checks against the instruction TLB each time,
 * or JIT_NO_PA2.
 */
#define JIT_NO_PA2 (~0ull)

struct jit_block {
	uint64_t vaddr, pa;
	uint64_t pa2;
	uint32_t key;
	uint16_t nbytes, ninsn;
	uintptr_t code;			/* entry, executable view */
	uintptr_t body;			/* past the entry's exit-request check */
	uintptr_t checked;		/* for jumps from other pages (0 until one is chained): jit_checked_entry() */
	uint32_t code_size;
	bool valid;
	/*
	 * Nothing in the block reads the flags, faults, or leaves before
	 * writing them all (and it lies in one page): a chained forward jump
	 * may enter its body with the guest's flags in RFLAGS only, unsaved,
	 * and past the exit-request check (which would compare them away).
	 * A cycle of blocks needs a backward jump, which always checks.
	 */
	bool flags_dead;
	struct jit_block *hnext;	/* hash bucket */
	struct jit_block *pnext;	/* blocks of the same guest-physical page */
	struct jit_block *pnext2;	/* blocks whose second page is the same (pa2) */
	struct jit_exit entry_exit;	/* taken when an exit request is pending at entry */
	struct jit_exit *exits;
	unsigned nexits;
	struct jit_exit *incoming;	/* exits chained into this block */
};

/*
 * One entry of the indirect-branch target cache: valid while the
 * generation it points to (cpu->code_gen[0], or [1] for a global page)
 * is the one it was filled under.
 */
struct jc_entry {
	uint64_t vaddr;			/* JC_EMPTY: none (no RIP is non-canonical with bit 63 set alone) */
	uint32_t code;			/* executable address (low 2 GiB) */
	uint32_t gen;
	uint64_t genp;			/* &cpu->code_gen[0] or [1] */
	uint64_t pad;
};
#define JC_EMPTY (1ull << 63)

/* The entry of a target: the page offset mixed with the page (returns land anywhere in a line). */
static inline unsigned jc_index(uint64_t vaddr)
{
	return (unsigned)(vaddr ^ (vaddr >> 12)) & ((1u << JC_BITS) - 1);
}

/* ctx->last_exit after a target-cache miss (an exit pointer is never 1) */
#define JIT_EXIT_JC_MISS 1	/* no entry for the address */
#define JIT_EXIT_JC_STALE 3	/* one from an older mapping generation */

/* What translated code reaches by absolute address, beside struct cpu: in the low 2 GiB. */
struct jit_ctx {
	uint64_t last_exit;		/* struct jit_exit * taken, or 0 / JIT_EXIT_JC_MISS: cpu->s.rip says where */
	uint64_t helper_slow;		/* jit_helper_slow */
	uint64_t tmp;			/* a value kept across a second TLB check */
	/* {n, 0}: the 16-byte operands of PADDQ/PSUBQ on the instruction count (JIT_ICOUNT) */
	uint64_t counts[JIT_MAX_INSNS + 1][2] __attribute__((aligned(16)));
	struct jc_entry jc[2][1u << JC_BITS];
};

/* Addresses of the routines every code buffer starts with (runtime.c). */
struct jit_routines {
	uintptr_t enter;		/* void enter(uintptr_t code) */
	uintptr_t exit_spill;		/* store the guest registers, return to the dispatcher */
	uintptr_t exit_nospill;		/* return to the dispatcher (registers already stored) */
	uintptr_t exit_direct;		/* S1 = struct jit_exit *: record it, exit_spill */
	uintptr_t slow;			/* S1 = struct jit_slow *: run it in the interpreter; S1 = 0 to go on */
	uintptr_t jc_lookup[2];		/* S1 = guest target: jump through the target cache of CPL 0-2 / 3 */
	uintptr_t start;		/* where blocks begin */
};

/* Bump allocator for block metadata, emptied with the code cache. */
struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t used, cap;
};

struct jit_vm {
	pthread_mutex_t lock;		/* vcpu[] and the queues' posting */
	uint64_t *granules;		/* per guest-physical page, the 64-byte runs holding translated code */
	uint64_t npages;		/* pages the array covers (fixed) */
	size_t granule_bytes;		/* its mapping's size */
	size_t cache_bytes;
	struct jit_vcpu *vcpu[JIT_MAX_VCPUS];
};

struct jit_vcpu {
	struct jit_vm *vm;
	struct cpu *cpu;
	struct jit_ctx *ctx;		/* low 2 GiB */
	struct codebuf cb;
	struct jit_routines rt;
	size_t code_used;
	size_t rw_released;		/* the writable view is released up to here (codebuf_release_written) */
	struct arena arena;
	struct jit_block *hash[1u << JIT_HASH_BITS];
	struct jit_block *pages[1u << JIT_PAGE_BITS];
	struct jit_block *pages2[1u << JIT_PAGE_BITS];	/* by pa2, linked by pnext2 */
	uint32_t last_key;		/* of the last run, to drop the target cache when it changes */
	uint64_t mem_gen;		/* cpu->mem->generation the translations were made under */

	/* Set by the helpers while translated code runs */
	struct jit_block *cur;		/* block of the instruction the helper runs */
	bool stop;			/* that block's page was written: leave it */
	bool to_loop;			/* back to the run loop, not just the dispatcher */

	/* Pages other vCPUs (or DMA) wrote, to drop at the next dispatch (lock: queue_lock) */
	pthread_mutex_t queue_lock;
	unsigned nqueued;
	bool queue_overflow;
	uint64_t queue[JIT_QUEUE_MAX];
	unsigned queue_pending;		/* nqueued || overflow, read without the lock */

	struct tr *tr;			/* the translator's scratch state (translate.c) */
	struct jit_stats st;
	bool full;			/* the last translation ran out of code buffer */
	bool has_bmi2;
};

/*
 * translate.c: translate the block at (vaddr, pa) from the guest bytes at
 * host, avail of them to the end of the page; if the next page is
 * executable (in the instruction TLB), pa2 and host2 say where it is, else
 * pa2 is JIT_NO_PA2. NULL if not possible.
 */
struct tr;
void jit_translator_free(struct jit_vcpu *jv);
struct jit_block *jit_translate(struct jit_vcpu *jv, uint64_t vaddr, uint64_t pa, uint32_t key,
				const uint8_t *host, unsigned avail, uint64_t pa2, const uint8_t *host2);

/*
 * translate.c: emit block b's checked entry, for exits from other pages
 * to be chained to (the jump vouches only for its own page's mapping): it
 * compares b's page's instruction TLB entry with the mapping b was
 * translated under, then enters b, or else goes through the target cache
 * (or the dispatcher), which finds the block for the current mapping. 0
 * if the code buffer is full.
 */
uintptr_t jit_checked_entry(struct jit_vcpu *jv, struct jit_block *b);
/* runtime.c: emit the common routines at the start of the code buffer. */
int jit_emit_routines(struct jit_vcpu *jv);
uint64_t jit_helper_slow(struct cpu *cpu, const struct jit_slow *d);

/* runner.c */
int jit_run(struct cpu *cpu, uint64_t end);
void jit_jc_forget(struct jit_vcpu *jv, uint64_t vaddr);	/* drop the target cache's entry for vaddr */
bool jit_trace(void);
void jit_flush(struct jit_vcpu *jv);
void *arena_alloc(struct arena *a, size_t size);

/* codepages.c */
void jit_mark_code(struct jit_vcpu *jv, uint64_t pa, unsigned len);
void jit_code_written(struct cpu *cpu, uint64_t pa, unsigned len);
void jit_invalidate_page(struct jit_vcpu *jv, uint64_t pfn);
void jit_process_queue(struct jit_vcpu *jv);

static inline unsigned jit_hash(uint64_t vaddr, uint64_t pa, uint32_t key)
{
	uint64_t h = (vaddr ^ (pa << 7) ^ key) * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> (64 - JIT_HASH_BITS));
}

/* An emitter over the free part of the code buffer. */
static inline struct emit jit_emitter(struct jit_vcpu *jv)
{
	return (struct emit){ .p = jv->cb.rw + jv->code_used, .end = jv->cb.rw + jv->cb.size,
			      .rx_delta = codebuf_delta(&jv->cb) };
}

/* Absolute operands of the vCPU's state. */
static inline struct xop gpr_slot(const struct cpu *cpu, unsigned g)
{
	return xabs(&cpu->s.gpr[g]);
}

#endif

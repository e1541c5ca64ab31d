/*
 * Private to the translator (translate.c, tr_*.c): the state of one block
 * being translated, the flag bookkeeping and the operand helpers.
 */
#ifndef RV_JIT_TR_H
#define RV_JIT_TR_H

#include "jit/jit_priv.h"

#define TR_MAX_FIELDS 4		/* jumps to one instruction's slow path */

/*
 * How to compute again the flags of a register-only ALU instruction from
 * the operands it leaves (flag replay): at the slow path of the memory
 * access of the next instruction, which writes every flag itself, the
 * flags need not have been stored before the TLB check clobbered them.
 */
enum { REPLAY_NONE, REPLAY_ADD, REPLAY_SUB, REPLAY_CMP, REPLAY_LOGIC, REPLAY_TEST };
struct tr_replay {
	uint8_t kind;
	uint8_t size;
	struct xop dst;			/* first operand (a host register or a cpu->s.gpr slot) */
	struct xop src;			/* second, when !src_imm */
	bool src_imm;
	int32_t imm;
};

/* The out-of-line path that runs instruction i in the interpreter. */
struct tr_slow {
	uint8_t *fields[TR_MAX_FIELDS];	/* rel32 fields jumping to it (writable view) */
	unsigned nfields;
	struct jit_slow *desc;
	uintptr_t resume;		/* executable address after the instruction's fast path */
	bool reload;			/* the fast path leaves the guest's flags in RFLAGS */
	bool leave;			/* the instruction ends the block: leave after it */
	int32_t undo_rsp;		/* the fast path moved RSP by this much before its checks: undone first */
	struct tr_replay replay;	/* the flags to compute and store first (REPLAY_NONE: already stored) */
};

/* The taken path of a Jcc that leaves the block, emitted out of line. */
struct tr_side {
	uint8_t *field;			/* the Jcc's rel32 (writable view) */
	bool save;			/* the flags must be stored first */
	unsigned rest;			/* instructions of the block after the Jcc */
	uint64_t target;
};

struct tr {
	struct jit_vcpu *jv;
	struct cpu *cpu;
	struct emit e;
	struct jit_block *b;
	uint32_t key;
	const struct insn *in;		/* the instruction being translated */
	unsigned i;			/* its index */
	uint64_t rip, next;		/* its address and the next one's */
	uint64_t ripmask;		/* 32-bit code: addresses wrap at 4 GiB */

	/*
	 * Where the guest's arithmetic flags are valid: in the host's RFLAGS,
	 * in cpu->lf.eager, or both. Blocks start with ctx only.
	 */
	bool host_valid, ctx_valid;
	uint16_t live_out[JIT_MAX_INSNS];	/* flags read later in the block (or after it) */
	struct tr_replay replay;	/* of instruction replay_at, if it can be replayed (tr_note_replay) */
	unsigned replay_at;
	uint8_t *insn_start;		/* where this instruction's code begins */
	uint16_t off[JIT_MAX_INSNS];		/* each instruction's offset in the block */

	struct tr_side side[JIT_MAX_INSNS];
	unsigned nside;
	struct tr_slow slow[JIT_MAX_INSNS];	/* (not cleared with the rest: filled per instruction) */
	struct jit_exit exits[JIT_MAX_INSNS + 2];	/* the block's, until emit_exit_stubs() places them */
};

/* Flag bookkeeping (translate.c). */
void tr_flags_to_ctx(struct tr *t);
void tr_flags_to_host(struct tr *t);
/* Host RFLAGS to and from `eager` in the CC_LAHF form; RAX kept, S2 clobbered. */
void tr_flags_store(struct emit *e, struct xop eager);
void tr_flags_load(struct emit *e, struct xop eager);
/*
 * The flags an instruction reads, the ones it writes for certain
 * (liveness) and the ones it may write (bookkeeping), tr_ops.c.
 */
void tr_flag_use(const struct insn *in, unsigned *reads, unsigned *writes, unsigned *may_write);
/* Before a native instruction with these flag effects: bring the flags where it needs them. */
void tr_flags_before(struct tr *t, unsigned reads, unsigned writes, unsigned may_write);
/* After it, with the flags it may have written. */
void tr_flags_after(struct tr *t, unsigned may_write);
/* The instruction just emitted (dst op= src, op: ALU group 1 digit, 8 for TEST) can be replayed. */
void tr_note_replay(struct tr *t, unsigned aluop, unsigned size, struct xop dst, struct xop src, bool src_imm,
		    int32_t imm);

/* Memory operands (tr_mem.c). */
/* Can the memory operand of `in` be addressed inline (32/64-bit addressing, a segment the key knows)? */
bool tr_mem_ok(const struct tr *t, const struct insn *in, bool write);
/*
 * Emit the address computation and the inline TLB check of in's memory
 * operand (plus `extra` bytes), for an access of `size` bytes; a miss
 * jumps to the instruction's slow path. Returns the host operand [S1];
 * S2 is free afterwards. The guest flags are saved first (faults are
 * precise) and RFLAGS is clobbered.
 */
struct xop tr_mem(struct tr *t, const struct insn *in, unsigned size, bool write, int32_t extra);
/* The same for a linear address already in S1 (stack accesses); S1 is the host address afterwards. */
struct xop tr_tlb(struct tr *t, unsigned size, bool write);
/* The guest effective address (no segment base) of in's memory operand in S1. */
void tr_ea(struct tr *t, const struct insn *in, int32_t extra);
/* A jump to the current instruction's slow path (interpreter), e.g. when a check fails. */
void tr_jcc_slow(struct tr *t, unsigned cc);

/* Guest registers as host operands. */
struct xop tr_greg(const struct tr *t, unsigned g);
/* An 8-bit guest register operand of `in` (AH-BH without REX). */
struct xop tr_greg8(const struct tr *t, const struct insn *in, unsigned g);

/* System instructions translated inline (CLI, SWAPGS): they need not end the block (tr_ops.c). */
bool tr_sys_inline(const struct insn *in);
/* Native translations (tr_ops.c, tr_branch.c); false: nothing emitted, use the interpreter. */
bool tr_native(struct tr *t);
bool tr_branch(struct tr *t, bool *ends);
bool tr_stack(struct tr *t);

/* Exits (translate.c). */
void tr_exit_to(struct tr *t, uint64_t target);		/* direct: chainable when on the block's page */
void tr_exit_indirect(struct tr *t);			/* target in S1 */
/* A conditional side exit: taken when cc holds. */
void tr_exit_cond(struct tr *t, unsigned cc, uint64_t target);
/* Instructions of the block not yet retired when leaving after instruction t->i. */
static inline unsigned tr_remaining(const struct tr *t)
{
	return t->b->ninsn - t->i - 1;
}

/* A guest address as the code sees it (wrapped in 32-bit code). */
static inline uint64_t tr_addr(const struct tr *t, uint64_t a)
{
	return a & t->ripmask;
}

#endif

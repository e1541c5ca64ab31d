/*
 * Translating one block: decode a run of guest instructions within one
 * page, work out which flags each leaves live, then emit the entry check,
 * each instruction (natively where tr_ops.c/tr_branch.c know it, else a
 * call of the interpreter's handler), the exits, and out of line the slow
 * paths that run one instruction in the interpreter when an inline check
 * fails.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit/tr.h"

/* ------------------------------------------------------------------ */
/* Flags.                                                              */

/*
 * The flags are kept in cpu->lf.eager in the CC_LAHF form: LAHF's image of
 * SF ZF AF PF CF in bits 8-15, OF in bit 0. LAHF, SETO and SAHF cost a
 * fraction of PUSHF and above all POPF (which also checks IF, IOPL...).
 * Both sequences go through AH, that is the guest's RAX: it waits in S2,
 * which no instruction holds a value in when its flags are saved or
 * loaded (tr_flags_before comes before the register operands that use it).
 */
void tr_flags_to_ctx(struct tr *t)
{
	if (t->ctx_valid)
		return;
	tr_flags_store(&t->e, xabs(&t->cpu->lf.eager));
	t->ctx_valid = true;
}

void tr_flags_store(struct emit *e, struct xop eager)
{
	emit_mov_rr(e, 8, S2, H_RAX);
	emit_lahf(e);
	emit_setcc(e, 0, xreg(H_RAX));	/* seto al */
	emit_store(e, 2, eager, H_RAX);
	emit_mov_rr(e, 8, H_RAX, S2);
}

void tr_flags_load(struct emit *e, struct xop eager)
{
	emit_mov_rr(e, 8, S2, H_RAX);
	emit_load(e, 2, H_RAX, eager);
	emit_alu_imm(e, 1, 0, xreg(H_RAX), 0x7f);	/* add al, 0x7f: OF = (al == 1) */
	emit_sahf(e);				/* the rest from AH; SAHF leaves OF */
	emit_mov_rr(e, 8, H_RAX, S2);
}

void tr_flags_to_host(struct tr *t)
{
	if (t->host_valid)
		return;
	tr_flags_load(&t->e, xabs(&t->cpu->lf.eager));
	t->host_valid = true;
}

void tr_flags_before(struct tr *t, unsigned reads, unsigned writes, unsigned may_write)
{
	/*
	 * What it reads, and, when it writes some flags, what it leaves alone
	 * that is read later (partial writers). One that writes none keeps
	 * them wherever they are.
	 */
	unsigned later = t->live_out[t->i] & ~writes & FL_ALL;	/* read after it, not overwritten by it */
	unsigned need = (reads | (may_write ? later : 0)) & FL_ALL;

	if (!need || t->host_valid)
		return;
	if ((reads | later) == FL_CF && t->ctx_valid) {
		/*
		 * Only CF (INC/DEC, ADC/SBB, CMC): BT puts bit 8 of the saved
		 * flags (LAHF's CF) in CF, without the round trip through AH. The other flags it leaves
		 * undefined are dead until a full writer (liveness counts every
		 * fault point as a reader), so the host's RFLAGS may be taken
		 * as the guest's afterwards.
		 */
		struct xform f = { .op = 0xba0f, .oplen = 2 };

		emit_modrm_insn(&t->e, &f, 4, xabs(&t->cpu->lf.eager), 8, 1);
		t->host_valid = true;
		return;
	}
	tr_flags_to_host(t);
}

void tr_flags_after(struct tr *t, unsigned writes)
{
	if (writes) {
		t->host_valid = true;
		t->ctx_valid = false;
	}
}

void tr_note_replay(struct tr *t, unsigned aluop, unsigned size, struct xop dst, struct xop src, bool src_imm,
		    int32_t imm)
{
	static const uint8_t kinds[9] = { REPLAY_ADD, REPLAY_LOGIC, REPLAY_NONE, REPLAY_NONE, REPLAY_LOGIC,
					  REPLAY_SUB, REPLAY_LOGIC, REPLAY_CMP, REPLAY_TEST };
	unsigned kind = kinds[aluop];	/* (ADC and SBB read CF) */
	bool same = !src_imm && dst.is_mem == src.is_mem && (dst.is_mem ? dst.disp == src.disp : dst.reg == src.reg);

	/* a scratch register is gone by then; AH-BH cannot meet S2's REX */
	if ((!dst.is_mem && (dst.reg == S1 || dst.reg == S2 || (dst.reg & 0x10))) ||
	    (!src_imm && !src.is_mem && (src.reg == S1 || src.reg == S2 || (src.reg & 0x10))))
		kind = REPLAY_NONE;
	/* ADD r, r overwrote its second operand too: only the result is left */
	if (same && (kind == REPLAY_ADD || kind == REPLAY_SUB))
		kind = REPLAY_NONE;
	t->replay = (struct tr_replay){ .kind = (uint8_t)kind, .size = (uint8_t)size, .dst = dst, .src = src,
					.src_imm = src_imm, .imm = imm };
	t->replay_at = t->i;
}

/*
 * Compute the replayed flags into RFLAGS (S2 clobbered): the same
 * operation on the same operands, rebuilt from the result when the
 * instruction overwrote its first operand (a + b - b is a, and so on).
 * For AND, OR and XOR, a TEST of the result gives the same flags but AF,
 * which they leave undefined.
 */
static void emit_replay(struct emit *e, const struct tr_replay *r)
{
	unsigned size = r->size;

	if (r->dst.is_mem)
		emit_load(e, 8, S2, r->dst);
	else
		emit_mov_rr(e, 8, S2, r->dst.reg);
	switch (r->kind) {
	case REPLAY_ADD:
	case REPLAY_SUB:
		/* undo with the inverse operation, then do it again */
		for (unsigned k = 0; k < 2; k++) {
			unsigned op = (r->kind == REPLAY_ADD) == (k == 0) ? 5 : 0;

			if (r->src_imm)
				emit_alu_imm(e, size, op, xreg(S2), r->imm);
			else
				emit_alu_r_rm(e, size, op, S2, r->src);
		}
		break;
	case REPLAY_CMP:
	case REPLAY_TEST: {
		unsigned op = r->kind == REPLAY_CMP ? 7 : 4;

		if (r->src_imm)
			emit_alu_imm(e, size, op, xreg(S2), r->imm);
		else
			emit_alu_r_rm(e, size, op, S2, r->src);
		break;
	}
	default:
		emit_alu_rm_r(e, size, 4, xreg(S2), S2);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Slow paths and exits.                                               */

void tr_jcc_slow(struct tr *t, unsigned cc)
{
	struct tr_slow *s = &t->slow[t->i];
	uint8_t *f = emit_jcc(&t->e, cc, emit_rx(&t->e));

	if (f && s->nfields < TR_MAX_FIELDS)
		s->fields[s->nfields++] = f;
}

/* ends: the instruction may change mode, flags or interrupt state, so the run loop must look. */
static struct jit_slow *slow_desc(struct tr *t, bool ends)
{
	struct jit_slow *d = arena_alloc(&t->jv->arena, sizeof(*d));

	if (d)
		*d = (struct jit_slow){ .in = *t->in, .rip = t->rip, .blk = t->b, .index = (uint16_t)t->i,
					.ends = ends };
	return d;
}

/* Run the current instruction through the interpreter, inline; `ends`: the block ends with it. */
static void tr_fallback(struct tr *t, bool ends)
{
	const struct insn *in = t->in;
	struct jit_slow *d = slow_desc(t, cpu_op_ends_block(in->map, in->opcode) || cpu_insn_is_invalid(in));

	if (!d) {
		t->e.overflow = true;
		return;
	}
	tr_flags_to_ctx(t);
	emit_mov_imm(&t->e, S1, (uint64_t)(uintptr_t)d);
	emit_call(&t->e, t->jv->rt.slow);
	t->host_valid = false;
	if (ends) {
		emit_jmp(&t->e, t->jv->rt.exit_nospill);
		return;
	}
	emit_test_imm(&t->e, 4, xreg(S1), -1);
	emit_jcc(&t->e, 5, t->jv->rt.exit_nospill);
}

static struct jit_exit *new_exit(struct tr *t, unsigned kind, uint64_t target)
{
	struct jit_exit *x = &t->exits[t->b->nexits++];

	*x = (struct jit_exit){ .kind = (uint8_t)kind, .target = target, .from = t->b };
	return x;
}

/*
 * A direct jump to `target`: a patchable jmp, bound to a stub that returns
 * to the dispatcher until the dispatcher chains it to the target's block.
 * Within the block's virtual page it jumps to the block's entry (the
 * page's mapping is the one this block runs under); to another page it
 * jumps to the block's checked entry, which first compares that page's
 * instruction TLB entry with the mapping the block was translated under.
 */
void tr_exit_to(struct tr *t, uint64_t target)
{
	struct jit_exit *x;
	uint8_t *fast = NULL;
	uintptr_t store = 0;

	target = tr_addr(t, target);
	if (!t->ctx_valid && (target ^ t->b->vaddr) >> 12 == 0 && target > t->b->vaddr) {
		/* (see jit_exit.fast_field) */
		fast = emit_jmp(&t->e, emit_rx(&t->e));
		store = emit_rx(&t->e);
		if (fast)
			emit_patch_rel32(fast, t->e.rx_delta, store);
	}
	tr_flags_to_ctx(t);
	x = new_exit(t, JX_DIRECT, target);
	x->fast_field = fast;
	x->fast_stub = store;
	x->field = emit_jmp(&t->e, emit_rx(&t->e));	/* bound to its stub at the end */
}

void tr_exit_indirect(struct tr *t)
{
	tr_flags_to_ctx(t);
	emit_jmp(&t->e, t->jv->rt.jc_lookup[t->cpu->s.cpl == 3]);
}

/*
 * A Jcc that leaves the block: the taken path goes out of line, where it
 * stores the flags (if the block has changed them), takes back the
 * instructions the block entry counted but did not run, and jumps to the
 * target; the path that stays in the block pays only the Jcc.
 */
void tr_exit_cond(struct tr *t, unsigned cc, uint64_t target)
{
	struct tr_side *x = &t->side[t->nside];

	tr_flags_to_host(t);
	if (t->nside == JIT_MAX_INSNS) {
		/* (cannot happen: one per instruction) */
		t->e.overflow = true;
		return;
	}
	x->field = emit_jcc(&t->e, cc, emit_rx(&t->e));
	x->save = !t->ctx_valid;
	x->rest = tr_remaining(t);
	x->target = tr_addr(t, target);
	t->nside++;
}

/* The taken paths of the block's Jccs (tr_exit_cond). */
static void emit_side_exits(struct tr *t)
{
	for (unsigned k = 0; k < t->nside; k++) {
		struct tr_side *x = &t->side[k];

		if (!x->field)
			continue;
		emit_patch_rel32(x->field, t->e.rx_delta, emit_rx(&t->e));
		t->ctx_valid = !x->save;
		t->host_valid = true;
		if (x->rest)
			emit_psubq(&t->e, JIT_ICOUNT, xabs(t->jv->ctx->counts[x->rest]));
		tr_exit_to(t, x->target);
	}
}

/* ------------------------------------------------------------------ */
/* Decoding and liveness.                                              */

/* Does the block end after this instruction? */
static bool ends_block(const struct insn *in)
{
	/* (where one is not translated after all, its fallback leaves the block at run time) */
	if (tr_sys_inline(in))
		return false;
	if (cpu_op_ends_block(in->map, in->opcode) || cpu_insn_is_invalid(in))
		return true;
	if (in->map == MAP_1B) {
		switch (in->opcode) {
		case 0xc2: case 0xc3: case 0xe8: case 0xe9: case 0xeb:
		case 0xe0: case 0xe1: case 0xe2: case 0xe3:	/* loop/jrcxz: a branch the interpreter runs */
			return true;
		case 0xff:
			return (in->reg & 7) >= 2 && (in->reg & 7) <= 5;
		default:
			return false;
		}
	}
	return false;
}

/*
 * Can the instruction fault (or be run by the interpreter, which may)?
 * Then every flag is live before it: the exception frame shows RFLAGS as
 * the instructions before left it (faults are precise).
 */
static bool may_fault(const struct insn *in)
{
	if (in->map == MAP_1B) {
		switch (in->opcode) {
		case 0x50 ... 0x5f: case 0x68: case 0x6a: case 0xc2: case 0xc3: case 0xc9: case 0xe8:
			return true;
		case 0x8d:
			return false;	/* LEA */
		default:
			break;
		}
	} else if (in->map == MAP_0F && (in->opcode == 0x1f || in->opcode == 0x18)) {
		return false;		/* NOP, prefetch */
	}
	return in->has_modrm && in->mod != 3;
}

static bool is_jcc(const struct insn *in)
{
	return (in->map == MAP_1B && ((in->opcode >= 0x70 && in->opcode <= 0x7f) || (in->opcode >= 0xe0 && in->opcode <= 0xe3))) ||
	       (in->map == MAP_0F && in->opcode >= 0x80 && in->opcode <= 0x8f);
}

static void liveness(struct tr *t, const struct insn *insns, unsigned n)
{
	unsigned live = FL_ALL;	/* whatever follows the block may read them */

	for (unsigned i = n; i-- > 0;) {
		unsigned r, w, mw;

		t->live_out[i] = (uint16_t)live;
		tr_flag_use(&insns[i], &r, &w, &mw);
		live = r | (live & ~w);
		/* a fault shows every flag; so does a Jcc's exit to a block that may read any */
		if (may_fault(&insns[i]) || is_jcc(&insns[i]))
			live = FL_ALL;
	}
	t->b->flags_dead = !(live & FL_ALL);
}

/* ------------------------------------------------------------------ */
/* The block.                                                          */

static void emit_slow_paths(struct tr *t)
{
	for (unsigned i = 0; i < t->b->ninsn; i++) {
		struct tr_slow *s = &t->slow[i];
		uintptr_t here;

		if (!s->nfields)
			continue;
		here = emit_rx(&t->e);
		for (unsigned f = 0; f < s->nfields; f++)
			emit_patch_rel32(s->fields[f], t->e.rx_delta, here);
		if (s->undo_rsp) {
			/* the interpreter runs the instruction from its start */
			emit_load(&t->e, 8, S1, gpr_slot(t->cpu, RV_RSP));
			emit_lea(&t->e, 8, S1, xmem(S1, H_NONE, 0, -s->undo_rsp));
			emit_store(&t->e, 8, gpr_slot(t->cpu, RV_RSP), S1);
		}
		if (s->replay.kind != REPLAY_NONE) {
			emit_replay(&t->e, &s->replay);
			tr_flags_store(&t->e, xabs(&t->cpu->lf.eager));
		}
		emit_mov_imm(&t->e, S1, (uint64_t)(uintptr_t)s->desc);
		emit_call(&t->e, t->jv->rt.slow);
		if (s->leave) {
			emit_jmp(&t->e, t->jv->rt.exit_nospill);
			continue;
		}
		emit_test_imm(&t->e, 4, xreg(S1), -1);
		emit_jcc(&t->e, 5, t->jv->rt.exit_nospill);
		if (s->reload)
			tr_flags_load(&t->e, xabs(&t->cpu->lf.eager));
		emit_jmp(&t->e, s->resume);
	}
}

static void emit_exit_stubs(struct tr *t)
{
	struct jit_block *b = t->b;

	/* the exits move to their final place before anything holds their address */
	if (!b->nexits)
		return;
	b->exits = arena_alloc(&t->jv->arena, b->nexits * sizeof(struct jit_exit));
	if (!b->exits) {
		t->e.overflow = true;
		return;
	}
	memcpy(b->exits, t->exits, b->nexits * sizeof(struct jit_exit));
	for (unsigned k = 0; k < b->nexits; k++) {
		struct jit_exit *x = &b->exits[k];

		if (!x->field)
			continue;
		x->stub = emit_rx(&t->e);
		emit_patch_rel32(x->field, t->e.rx_delta, x->stub);
		emit_mov_imm(&t->e, S1, (uint64_t)(uintptr_t)x);
		emit_jmp(&t->e, t->jv->rt.exit_direct);
	}
}

/*
 * Emit the instruction TLB check of one page, as a fetch from it would see
 * it (privilege priv: 0 CPL 0-2, 1 CPL 3): its entry's exec tag must be
 * the page and its physical page `pa`; the two jumps taken when not are
 * returned in `fields`, for the caller to bind.
 */
static void emit_page_check(struct emit *e, const struct cpu *cpu, unsigned priv, uint64_t lin, uint64_t pa,
			    uint8_t **fields)
{
	unsigned idx = (unsigned)(lin >> 12) & TLB_MASK;

	emit_mov_imm(e, S1, lin & ~0xfffull);
	emit_alu_rm_r(e, 8, 7, xabs(&cpu->tlb[priv][idx].tag_exec), S1);
	fields[0] = emit_jcc(e, 5, emit_rx(e));
	emit_mov_imm(e, S1, pa & ~0xfffull);
	emit_alu_rm_r(e, 8, 7, xabs(&cpu->tlbi[priv][idx].pa), S1);
	fields[1] = emit_jcc(e, 5, emit_rx(e));
}

uintptr_t jit_checked_entry(struct jit_vcpu *jv, struct jit_block *b)
{
	struct emit e = jit_emitter(jv);
	unsigned priv = (b->key & KEY_CPL3) != 0;
	uintptr_t entry = emit_rx(&e);
	uint8_t *miss[2];

	emit_page_check(&e, jv->cpu, priv, b->vaddr, b->pa, miss);
	emit_jmp(&e, b->code);
	if (e.overflow)
		return 0;
	for (unsigned k = 0; k < 2; k++)
		emit_patch_rel32(miss[k], e.rx_delta, emit_rx(&e));
	/* not the page it was: the target cache, or the dispatcher, knows the block for this one */
	emit_mov_imm(&e, S1, b->vaddr);
	emit_jmp(&e, jv->rt.jc_lookup[priv]);
	if (e.overflow)
		return 0;
	jv->st.code_emitted += (size_t)(e.p - (jv->cb.rw + jv->code_used));
	jv->code_used = (size_t)(e.p - jv->cb.rw);
	return entry;
}

/* RINGVM_JIT_RANGE=lo:hi (map << 8 | opcode, hex): only those translate natively (bisecting the translator). */
static bool dbg_in_range(const struct insn *in)
{
	static int init;
	static unsigned lo, hi = 0xffff, lo2 = 1, hi2 = 0;
	unsigned k = (unsigned)in->map << 8 | in->opcode;

	if (!init) {
		const char *e = getenv("RINGVM_JIT_RANGE"), *e2 = getenv("RINGVM_JIT_RANGE2");

		if (e)
			sscanf(e, "%x:%x", &lo, &hi);
		if (e2)
			sscanf(e2, "%x:%x", &lo2, &hi2);
		init = 1;
	}
	return (k >= lo && k <= hi) || (k >= lo2 && k <= hi2);
}

/*
 * RINGVM_JIT_PERFMAP=1: name every block in /tmp/perf-PID.map, the file
 * perf(1) reads to attribute samples in generated code (profiling only).
 * RINGVM_JIT_PERFMAP=2 also appends each block's code as first emitted to
 * /tmp/perf-PID.code: a line "ADDRESS SIZE guest_VADDR", then SIZE bytes
 * (objdump -b binary -m i386:x86-64 disassembles them).
 */
static void jit_perf_map(const struct jit_vcpu *jv, const struct jit_block *b)
{
	static FILE *f, *code;
	static int on = -1;

	if (on < 0) {
		const char *e = getenv("RINGVM_JIT_PERFMAP");
		char path[64];

		on = e && (*e == '1' || *e == '2');
		if (on) {
			snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
			f = fopen(path, "w");
			on = f != NULL;
		}
		if (on && *e == '2') {
			snprintf(path, sizeof(path), "/tmp/perf-%d.code", (int)getpid());
			code = fopen(path, "w");
		}
		/* the routines at the buffer's start: their address is the buffer's (perf may report offsets) */
		if (on)
			fprintf(f, "%llx %llx jit_routines\n", (unsigned long long)(uintptr_t)jv->cb.rx,
				(unsigned long long)(jv->rt.start - (uintptr_t)jv->cb.rx));
	}
	if (on) {
		fprintf(f, "%llx %x guest_%llx\n", (unsigned long long)b->code, b->code_size,
			(unsigned long long)b->vaddr);
		fflush(f);
	}
	if (code) {
		fprintf(code, "%llx %x guest_%llx\n", (unsigned long long)b->code, b->code_size,
			(unsigned long long)b->vaddr);
		fwrite((const void *)b->code, 1, b->code_size, code);
		fflush(code);
	}
}

static unsigned dbg_mask(void)
{
	static int m = -1;

	if (m < 0) {
		const char *e = getenv("RINGVM_JIT_NATIVE");

		m = e ? (int)strtoul(e, NULL, 0) : 7;
	}
	return (unsigned)m;
}

/* Emit the whole block; false if the code buffer ran out. */
static bool emit_block(struct tr *t, struct insn *insns)
{
	struct jit_block *b = t->b;
	struct cpu *cpu = t->cpu;
	uint8_t *entry_exit[3];
	unsigned nentry = 0;
	bool ended = false;

	b->code = emit_rx(&t->e);
	/* an exit request (kick, interrupt, another vCPU's invalidation) is served before the block runs */
	emit_alu_imm(&t->e, 4, 7, xabs(&cpu->exit_req), 0);
	entry_exit[nentry++] = emit_jcc(&t->e, 5, emit_rx(&t->e));
	b->body = emit_rx(&t->e);
	if (b->pa2 != JIT_NO_PA2) {
		/*
		 * The block runs on into the next page: whoever jumps here (a
		 * chained exit, the target cache) knows only the first page's
		 * mapping, so the second is looked up here, as fetching it
		 * would: its instruction TLB entry, by tag and physical page.
		 */
		emit_page_check(&t->e, cpu, (t->key & KEY_CPL3) != 0, tr_addr(t, (b->vaddr | 0xfff) + 1), b->pa2,
				&entry_exit[nentry]);
		nentry += 2;
	}
	emit_paddq(&t->e, JIT_ICOUNT, xabs(t->jv->ctx->counts[b->ninsn]));
	t->host_valid = false;
	t->ctx_valid = true;

	for (unsigned i = 0; i < b->ninsn && !ended; i++) {
		struct tr_slow *s = &t->slow[i];

		t->i = i;
		t->in = &insns[i];
		t->rip = tr_addr(t, b->vaddr + t->off[i]);
		t->next = t->rip + insns[i].len;
		t->insn_start = t->e.p;
		memset(s, 0, sizeof(*s));
		if (!cpu_insn_is_invalid(t->in) && dbg_in_range(t->in) && (((dbg_mask() & 1) && tr_branch(t, &ended)) ||
						     ((dbg_mask() & 2) && tr_stack(t)) || ((dbg_mask() & 4) && tr_native(t)))) {
			if (s->nfields) {
				s->desc = slow_desc(t, false);
				if (s->desc)
					s->desc->slow_path = 1;
				s->resume = emit_rx(&t->e);
				s->reload = t->host_valid;
				s->leave = ended;	/* a branch: nothing after it in the block */
				if (!s->desc)
					return false;
			}
		} else {
			ended = ends_block(t->in);
			tr_fallback(t, ended);
		}
		if (t->e.overflow)
			return false;
	}
	if (!ended)
		tr_exit_to(t, t->next);

	emit_side_exits(t);
	emit_slow_paths(t);
	/* the entry exit: RIP is the block's start, nothing retired */
	b->entry_exit = (struct jit_exit){ .kind = JX_ENTRY, .target = b->vaddr, .from = b };
	for (unsigned k = 0; k < nentry; k++)
		emit_patch_rel32(entry_exit[k], t->e.rx_delta, emit_rx(&t->e));
	emit_mov_imm(&t->e, S1, (uint64_t)(uintptr_t)&b->entry_exit);
	emit_jmp(&t->e, t->jv->rt.exit_direct);
	emit_exit_stubs(t);
	return !t->e.overflow;
}

struct jit_block *jit_translate(struct jit_vcpu *jv, uint64_t vaddr, uint64_t pa, uint32_t key,
				const uint8_t *host, unsigned avail, uint64_t pa2, const uint8_t *host2)
{
	uint8_t buf[JIT_MAX_INSNS * 15];
	struct insn insns[JIT_MAX_INSNS];
	struct tr *t = jv->tr;
	struct jit_block *b;
	unsigned n, nbytes, copy, copy2;

	if (!t) {
		t = jv->tr = malloc(sizeof(*t));
		if (!t)
			return NULL;
	}
	memset(t, 0, offsetof(struct tr, slow));
	copy = avail < sizeof(buf) ? avail : (unsigned)sizeof(buf);
	copy2 = pa2 == JIT_NO_PA2 ? 0 : (unsigned)sizeof(buf) - copy;
	for (;;) {
		memcpy(buf, host, copy);
		if (copy2)
			memcpy(buf + copy, host2, copy2);
		n = nbytes = 0;
		while (n < JIT_MAX_INSNS) {
			int len = cpu_decode(jv->cpu, buf + nbytes, copy + copy2 - nbytes, &insns[n]);

			if (len <= 0 || nbytes + (unsigned)len > copy + copy2)
				break;	/* crosses into a page it may not read (or past the copy) */
			t->off[n] = (uint16_t)nbytes;
			nbytes += (unsigned)len;
			if (ends_block(&insns[n++]))
				break;
		}
		if (!n)
			return NULL;
		/* mark before the final look at the bytes: a store after this is seen (codepages.c) */
		jit_mark_code(jv, pa, nbytes < copy ? nbytes : copy);
		if (nbytes > copy)
			jit_mark_code(jv, pa2, nbytes - copy);
		if (!memcmp(host, buf, nbytes < copy ? nbytes : copy) &&
		    (nbytes <= copy || !memcmp(host2, buf + copy, nbytes - copy)))
			break;
	}

	b = arena_alloc(&jv->arena, sizeof(*b));
	if (!b)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->vaddr = vaddr;
	b->pa = pa;
	b->pa2 = nbytes > copy ? pa2 : JIT_NO_PA2;
	b->key = key;
	b->nbytes = (uint16_t)nbytes;
	b->ninsn = (uint16_t)n;
	t->jv = jv;
	t->cpu = jv->cpu;
	t->b = b;
	t->key = key;
	t->ripmask = (key & KEY_64) ? ~0ull : 0xffffffffull;
	t->e = jit_emitter(jv);
	liveness(t, insns, n);
	if (!emit_block(t, insns)) {
		jv->full = true;
		return NULL;
	}
	b->code_size = (uint32_t)(emit_rx(&t->e) - b->code);
	jit_perf_map(jv, b);
	if (jit_trace()) {
		const uint8_t *c = (const uint8_t *)(b->code - (uintptr_t)t->e.rx_delta);

		fprintf(stderr, "jit: block %#llx: %u insns, %u bytes of code at %#llx:",
			(unsigned long long)vaddr, n, b->code_size, (unsigned long long)b->code);
		for (unsigned k = 0; k < b->code_size; k++)
			fprintf(stderr, " %02x", c[k]);
		fprintf(stderr, "\n");
	}
	jv->code_used = (size_t)(t->e.p - jv->cb.rw);
	/* keep the last JIT_RW_WINDOW written in the writable view: the blocks that chaining patches first */
	if (jv->code_used > jv->rw_released + 2 * JIT_RW_WINDOW) {
		codebuf_release_written(&jv->cb, jv->rw_released, jv->code_used - JIT_RW_WINDOW);
		jv->rw_released = jv->code_used - JIT_RW_WINDOW;
	}
	b->valid = true;
	b->hnext = jv->hash[jit_hash(vaddr, pa, key)];
	jv->hash[jit_hash(vaddr, pa, key)] = b;
	b->pnext = jv->pages[(pa >> 12) & ((1u << JIT_PAGE_BITS) - 1)];
	jv->pages[(pa >> 12) & ((1u << JIT_PAGE_BITS) - 1)] = b;
	if (b->pa2 != JIT_NO_PA2) {
		b->pnext2 = jv->pages2[(b->pa2 >> 12) & ((1u << JIT_PAGE_BITS) - 1)];
		jv->pages2[(b->pa2 >> 12) & ((1u << JIT_PAGE_BITS) - 1)] = b;
	}
	jv->st.blocks++;
	jv->st.code_emitted += b->code_size;
	return b;
}

void jit_translator_free(struct jit_vcpu *jv)
{
	free(jv->tr);
	jv->tr = NULL;
}

/*
 * Near branches and the stack: Jcc as side exits, JMP/CALL/RET direct and
 * indirect, PUSH/POP/LEAVE. The guest's RSP lives in cpu->s.gpr; every
 * stack access goes through the inline TLB check, and nothing is committed
 * before the last access that can fault, so a miss can run the whole
 * instruction in the interpreter.
 */
#include "jit/tr.h"

/* Is this near branch's operand size the natural one (not a 16-bit branch)? */
static bool natural_size(const struct tr *t)
{
	return t->in->opsize == ((t->key & KEY_64) ? 8 : 4);
}

static unsigned stack_word(const struct tr *t)
{
	return (t->key & KEY_64) ? 8 : 4;
}

/* 32-bit code with a flat SS (the key says so): else the interpreter keeps the stack. */
static bool stack_ok(const struct tr *t)
{
	return (t->key & KEY_64) || ((t->key & KEY_FLAT_RD(RV_SS)) && (t->key & KEY_FLAT_WR(RV_SS)));
}

static struct xop rsp_slot(const struct tr *t)
{
	return gpr_slot(t->cpu, RV_RSP);
}

/* S1 = RSP + delta, wrapped at the stack size. */
static void stack_addr(struct tr *t, int32_t delta)
{
	emit_load(&t->e, 8, S1, rsp_slot(t));
	if (delta)
		emit_lea(&t->e, stack_word(t), S1, xmem(S1, H_NONE, 0, delta));
}

/*
 * Commit RSP + delta now, before the checks of the access: the slow path
 * puts it back (tr_slow.undo_rsp) before the interpreter runs the whole
 * instruction. S1 = the old RSP (+ `at`), the address of the access.
 */
static void stack_commit(struct tr *t, int32_t delta, int32_t at)
{
	unsigned w = stack_word(t);

	emit_load(&t->e, 8, S1, rsp_slot(t));
	emit_lea(&t->e, w, S2, xmem(S1, H_NONE, 0, delta));
	emit_store(&t->e, 8, rsp_slot(t), S2);
	if (at)
		emit_lea(&t->e, w, S1, xmem(S1, H_NONE, 0, at));
	t->slow[t->i].undo_rsp = delta;
}

/* 64-bit code: a branch target (in reg) must be canonical, else the instruction raises #GP in the interpreter. */
static void check_canonical(struct tr *t, unsigned reg, unsigned tmp)
{
	if (!(t->key & KEY_64))
		return;
	emit_mov_rr(&t->e, 8, tmp, reg);
	emit_shift_imm(&t->e, 8, 4, xreg(tmp), 16);
	emit_shift_imm(&t->e, 8, 7, xreg(tmp), 16);
	emit_alu_r_rm(&t->e, 8, 7, tmp, xreg(reg));
	tr_jcc_slow(t, 5);
	t->host_valid = false;
}

static bool const_target_ok(const struct tr *t, uint64_t target)
{
	return (t->key & KEY_64) ? canonical(target) : true;
}

/* Store the return address (t->next) at the host address in S1. */
static void store_return(struct tr *t)
{
	unsigned w = stack_word(t);

	if (w == 4 || (int64_t)t->next == (int32_t)t->next) {
		emit_store_imm(&t->e, w, xmem(S1, H_NONE, 0, 0), (int32_t)t->next);
	} else {
		emit_mov_imm(&t->e, S2, t->next);
		emit_store(&t->e, 8, xmem(S1, H_NONE, 0, 0), S2);
	}
}

/* The target of an indirect branch (register or memory operand) into S1. */
static void indirect_target(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned w = stack_word(t);

	if (in->mod == 3) {
		struct xop r = tr_greg(t, in->rm);

		if (r.is_mem)
			emit_load(&t->e, w == 8 ? 8 : 4, S1, r);
		else
			emit_mov_rr(&t->e, w, S1, in->rm);
		return;
	}
	emit_load(&t->e, w, S1, tr_mem(t, in, w, false, 0));
}

static bool jcc(struct tr *t, unsigned cc)
{
	uint64_t target = tr_addr(t, t->next + t->in->imm);

	if (!natural_size(t) || !const_target_ok(t, target))
		return false;
	tr_exit_cond(t, cc, target);
	return true;
}

bool tr_branch(struct tr *t, bool *ends)
{
	const struct insn *in = t->in;
	unsigned op = in->opcode, w = stack_word(t);
	uint64_t target = tr_addr(t, t->next + in->imm);

	*ends = false;
	if (in->map == MAP_0F)
		return op >= 0x80 && op <= 0x8f && jcc(t, op & 15);
	if (in->map != MAP_1B)
		return false;
	switch (op) {
	case 0x70 ... 0x7f:
		return jcc(t, op & 15);
	case 0xe9: case 0xeb:
		if (!natural_size(t) || !const_target_ok(t, target))
			return false;
		tr_exit_to(t, target);
		*ends = true;
		return true;
	case 0xe8:
		if (!natural_size(t) || !const_target_ok(t, target) || !stack_ok(t))
			return false;
		tr_flags_to_ctx(t);
		stack_commit(t, -(int32_t)w, -(int32_t)w);
		tr_tlb(t, w, true);
		store_return(t);
		tr_exit_to(t, target);
		*ends = true;
		return true;
	case 0xc2: case 0xc3:
		if (!natural_size(t) || !stack_ok(t))
			return false;
		tr_flags_to_ctx(t);
		stack_commit(t, (int32_t)(w + (op == 0xc2 ? (uint16_t)in->imm : 0)), 0);
		emit_load(&t->e, w, S1, tr_tlb(t, w, false));
		check_canonical(t, S1, S2);
		tr_exit_indirect(t);
		*ends = true;
		return true;
	case 0xff:
		if ((in->reg & 7) == 4) {
			if (!natural_size(t) || (in->mod != 3 && !tr_mem_ok(t, in, false)))
				return false;
			tr_flags_to_ctx(t);
			indirect_target(t);
			check_canonical(t, S1, S2);
			tr_exit_indirect(t);
			*ends = true;
			return true;
		}
		if ((in->reg & 7) == 2) {
			if (!natural_size(t) || !stack_ok(t) || (in->mod != 3 && !tr_mem_ok(t, in, false)) ||
			    (in->mod == 3 && in->rm == RV_RSP))
				return false;
			tr_flags_to_ctx(t);
			if (in->mod == 3) {
				/* the target stays in its register (RSP aside) while RSP moves */
				stack_commit(t, -(int32_t)w, -(int32_t)w);
				tr_tlb(t, w, true);
				store_return(t);
				indirect_target(t);
				check_canonical(t, S1, S2);
			} else {
				/* two accesses: the target is kept aside and RSP moves once both are checked */
				indirect_target(t);
				check_canonical(t, S1, S2);
				emit_store(&t->e, 8, xabs(&t->jv->ctx->tmp), S1);
				stack_addr(t, -(int32_t)w);
				tr_tlb(t, w, true);
				store_return(t);
				stack_addr(t, -(int32_t)w);
				emit_store(&t->e, 8, rsp_slot(t), S1);
				emit_load(&t->e, 8, S1, xabs(&t->jv->ctx->tmp));
			}
			tr_exit_indirect(t);
			*ends = true;
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* PUSH r, PUSH imm, PUSH r/m with a register operand. */
static bool push(struct tr *t, unsigned g, bool is_imm)
{
	unsigned w = stack_word(t);

	if (!natural_size(t) || !stack_ok(t))
		return false;
	tr_flags_to_ctx(t);
	if (!is_imm && !greg_mapped(g)) {
		/* PUSH RSP pushes the old value: take it (or R10/R11) before RSP moves */
		emit_load(&t->e, 8, S1, gpr_slot(t->cpu, g));
		emit_store(&t->e, 8, xabs(&t->jv->ctx->tmp), S1);
	}
	stack_commit(t, -(int32_t)w, -(int32_t)w);
	tr_tlb(t, w, true);
	if (is_imm) {
		emit_store_imm(&t->e, w, xmem(S1, H_NONE, 0, 0), (int32_t)t->in->imm);
	} else if (greg_mapped(g)) {
		emit_store(&t->e, w, xmem(S1, H_NONE, 0, 0), g);
	} else {
		emit_load(&t->e, 8, S2, xabs(&t->jv->ctx->tmp));
		emit_store(&t->e, w, xmem(S1, H_NONE, 0, 0), S2);
	}
	return true;
}

/*
 * PUSH r/m with a memory operand (the kernel's entry code pushes GS-based
 * per-CPU values on every system call): the operand is read (at the
 * address RSP gave before the push), kept aside, and pushed, and RSP
 * moves last; a miss on either access runs the whole instruction in the
 * interpreter, which reads the operand again.
 */
static bool push_mem(struct tr *t)
{
	unsigned w = stack_word(t);

	if (!natural_size(t) || !stack_ok(t) || !tr_mem_ok(t, t->in, false))
		return false;
	emit_load(&t->e, w, S1, tr_mem(t, t->in, w, false, 0));
	emit_store(&t->e, 8, xabs(&t->jv->ctx->tmp), S1);
	/* RSP moves once both are checked (a slow path's undo_rsp is for the whole instruction) */
	stack_addr(t, -(int32_t)w);
	tr_tlb(t, w, true);
	emit_load(&t->e, 8, S2, xabs(&t->jv->ctx->tmp));
	emit_store(&t->e, w, xmem(S1, H_NONE, 0, 0), S2);
	stack_addr(t, -(int32_t)w);
	emit_store(&t->e, 8, rsp_slot(t), S1);
	return true;
}

/* POP r. */
static bool pop(struct tr *t, unsigned g)
{
	unsigned w = stack_word(t);

	if (!natural_size(t) || !stack_ok(t))
		return false;
	tr_flags_to_ctx(t);
	if (g == RV_RSP) {
		/* POP RSP leaves RSP as loaded: no commit first */
		stack_addr(t, 0);
		emit_load(&t->e, w, S2, tr_tlb(t, w, false));
		emit_store(&t->e, 8, rsp_slot(t), S2);
		return true;
	}
	stack_commit(t, (int32_t)w, 0);
	tr_tlb(t, w, false);
	if (greg_mapped(g)) {
		emit_load(&t->e, w, g, xmem(S1, H_NONE, 0, 0));
	} else {
		emit_load(&t->e, w, S2, xmem(S1, H_NONE, 0, 0));
		emit_store(&t->e, 8, gpr_slot(t->cpu, g), S2);
	}
	return true;
}

/* LEAVE: RSP = RBP, then POP RBP. */
static bool leave(struct tr *t)
{
	unsigned w = stack_word(t);

	if (!natural_size(t) || !stack_ok(t))
		return false;
	tr_flags_to_ctx(t);
	emit_mov_rr(&t->e, w, S1, H_RBP);
	emit_load(&t->e, w, S2, tr_tlb(t, w, false));
	emit_lea(&t->e, w, S1, xmem(H_RBP, H_NONE, 0, (int32_t)w));
	emit_store(&t->e, 8, rsp_slot(t), S1);
	emit_mov_rr(&t->e, w, H_RBP, S2);
	return true;
}

bool tr_stack(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned op = in->opcode;

	if (in->map != MAP_1B)
		return false;
	switch (op) {
	case 0x50 ... 0x57:
		return push(t, (op & 7) | ((in->rex & 1) << 3), false);
	case 0x58 ... 0x5f:
		return pop(t, (op & 7) | ((in->rex & 1) << 3));
	case 0x68: case 0x6a:
		return push(t, 0, true);
	case 0xff:
		if ((in->reg & 7) != 6)
			return false;
		return in->mod == 3 ? push(t, in->rm, false) : push_mem(t);
	case 0x8f:
		return (in->reg & 7) == 0 && in->mod == 3 && pop(t, in->rm);
	case 0xc9:
		return leave(t);
	default:
		return false;
	}
}

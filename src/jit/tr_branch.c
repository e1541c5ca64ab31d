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
	emit_lea(&t->e, stack_word(t), S1, xmem(S1, H_NONE, 0, delta));
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

/* Push the return address (t->next) and commit RSP. */
static void push_return(struct tr *t)
{
	unsigned w = stack_word(t);
	struct xop m;

	stack_addr(t, -(int32_t)w);
	m = tr_tlb(t, w, true);
	if (w == 4 || (int64_t)t->next == (int32_t)t->next) {
		emit_store_imm(&t->e, w, m, (int32_t)t->next);
	} else {
		emit_mov_imm(&t->e, S3, t->next);
		emit_store(&t->e, 8, m, S3);
	}
	emit_store(&t->e, 8, rsp_slot(t), S1);
}

/* The target of an indirect branch (register or memory operand) into `dst`. */
static bool indirect_target(struct tr *t, unsigned dst)
{
	const struct insn *in = t->in;
	unsigned w = stack_word(t);

	if (in->mod == 3) {
		struct xop r = tr_greg(t, in->rm);

		if (r.is_mem)
			emit_load(&t->e, w == 8 ? 8 : 4, dst, r);
		else
			emit_mov_rr(&t->e, w, dst, in->rm);
		return true;
	}
	emit_load(&t->e, w, dst, tr_mem(t, in, w, false, 0));
	return true;
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
	unsigned op = in->opcode;
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
		push_return(t);
		tr_exit_to(t, target);
		*ends = true;
		return true;
	case 0xc2: case 0xc3: {
		unsigned w = stack_word(t);

		if (!natural_size(t) || !stack_ok(t))
			return false;
		tr_flags_to_ctx(t);
		emit_load(&t->e, 8, S1, rsp_slot(t));
		emit_load(&t->e, w, S3, tr_tlb(t, w, false));
		check_canonical(t, S3, S2);
		emit_lea(&t->e, w, S1, xmem(S1, H_NONE, 0, (int32_t)(w + (op == 0xc2 ? (uint16_t)in->imm : 0))));
		emit_store(&t->e, 8, rsp_slot(t), S1);
		emit_mov_rr(&t->e, 8, S1, S3);
		tr_exit_indirect(t);
		*ends = true;
		return true;
	}
	case 0xff:
		if ((in->reg & 7) == 4) {
			if (!natural_size(t) || (in->mod != 3 && !tr_mem_ok(t, in, false)))
				return false;
			tr_flags_to_ctx(t);
			indirect_target(t, S1);
			check_canonical(t, S1, S3);
			tr_exit_indirect(t);
			*ends = true;
			return true;
		}
		if ((in->reg & 7) == 2) {
			if (!natural_size(t) || !stack_ok(t) || (in->mod != 3 && !tr_mem_ok(t, in, false)))
				return false;
			tr_flags_to_ctx(t);
			indirect_target(t, S3);
			check_canonical(t, S3, S2);
			emit_store(&t->e, 8, xabs(&t->jv->ctx->tmp), S3);
			push_return(t);
			emit_load(&t->e, 8, S1, xabs(&t->jv->ctx->tmp));
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
	struct xop m;

	if (!natural_size(t) || !stack_ok(t))
		return false;
	tr_flags_to_ctx(t);
	stack_addr(t, -(int32_t)w);
	m = tr_tlb(t, w, true);
	if (is_imm) {
		emit_store_imm(&t->e, w, m, (int32_t)t->in->imm);
	} else if (greg_mapped(g)) {
		emit_store(&t->e, w, m, g);
	} else {
		emit_load(&t->e, 8, S3, gpr_slot(t->cpu, g));	/* PUSH RSP pushes the old value */
		emit_store(&t->e, w, m, S3);
	}
	emit_store(&t->e, 8, rsp_slot(t), S1);
	return true;
}

/* POP r. */
static bool pop(struct tr *t, unsigned g)
{
	unsigned w = stack_word(t);
	struct xop m;

	if (!natural_size(t) || !stack_ok(t))
		return false;
	tr_flags_to_ctx(t);
	emit_load(&t->e, 8, S1, rsp_slot(t));
	m = tr_tlb(t, w, false);
	if (greg_mapped(g)) {
		emit_load(&t->e, w, g, m);
	} else {
		emit_load(&t->e, w, S3, m);
		emit_store(&t->e, 8, gpr_slot(t->cpu, g), S3);
	}
	if (g != RV_RSP) {
		/* POP RSP leaves RSP as loaded */
		emit_lea(&t->e, w, S1, xmem(S1, H_NONE, 0, (int32_t)w));
		emit_store(&t->e, 8, rsp_slot(t), S1);
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
	emit_load(&t->e, w, S3, tr_tlb(t, w, false));
	emit_lea(&t->e, w, S1, xmem(S1, H_NONE, 0, (int32_t)w));
	emit_store(&t->e, 8, rsp_slot(t), S1);
	emit_mov_rr(&t->e, w, H_RBP, S3);
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
		return (in->reg & 7) == 6 && in->mod == 3 && push(t, in->rm, false);
	case 0x8f:
		return (in->reg & 7) == 0 && in->mod == 3 && pop(t, in->rm);
	case 0xc9:
		return leave(t);
	default:
		return false;
	}
}

/*
 * Guest operands in host terms: registers (in host registers or in
 * cpu->s.gpr), effective addresses, and the inline TLB check that turns a
 * guest linear address into a host pointer: a shift, a mask, a compare
 * and an add on a hit, the instruction's slow path on a miss.
 */
#include <stddef.h>

#include "jit/tr.h"

struct xop tr_greg(const struct tr *t, unsigned g)
{
	return greg_mapped(g) ? xreg(g) : gpr_slot(t->cpu, g);
}

struct xop tr_greg8(const struct tr *t, const struct insn *in, unsigned g)
{
	if (!in->rex && g >= 4 && g < 8)
		return xreg(H_HIGH8(g - 4));	/* AH, CH, DH, BH: guest RAX-RBX are host RAX-RBX */
	return tr_greg(t, g);			/* the low byte, in a register or at the slot's first byte */
}

bool tr_mem_ok(const struct tr *t, const struct insn *in, bool write)
{
	unsigned seg = in->seg;

	if (in->addrsize == 2)
		return false;
	if (t->key & KEY_64)
		return true;	/* only FS/GS have bases, added at run time */
	/* 32-bit code: the segment must be flat for this access (base 0, 4 GiB limit, rights) */
	return seg < 6 && (t->key & (write ? KEY_FLAT_WR(seg) : KEY_FLAT_RD(seg)));
}

/* A guest register for address arithmetic: its host register, or loaded into `scratch`. */
static unsigned addr_reg(struct tr *t, unsigned g, unsigned scratch)
{
	if (greg_mapped(g))
		return g;
	emit_load(&t->e, 8, scratch, gpr_slot(t->cpu, g));
	return scratch;
}

void tr_ea(struct tr *t, const struct insn *in, int32_t extra)
{
	unsigned asize = in->addrsize;

	if (in->rip_rel) {
		uint64_t a = t->next + (uint64_t)in->disp + (uint64_t)(int64_t)extra;

		emit_mov_imm(&t->e, S1, asize == 4 ? (uint32_t)a : a);
	} else if (in->base == REG_NONE && in->index == REG_NONE) {
		uint64_t a = (uint64_t)in->disp + (uint64_t)(int64_t)extra;

		emit_mov_imm(&t->e, S1, asize == 4 ? (uint32_t)a : a);
	} else {
		unsigned base = in->base == REG_NONE ? H_NONE : addr_reg(t, in->base, S1);
		unsigned index = in->index == REG_NONE ? H_NONE : addr_reg(t, in->index, S2);

		/* disp is a sign-extended 32-bit value; lea wraps it at the address size */
		if (base == S1 && index == H_NONE && asize == 8 && (int32_t)(in->disp + extra) == 0)
			return;	/* [r10] or [r11]: the load from cpu->s.gpr is the address */
		emit_lea(&t->e, asize, S1, xmem(base, index, in->scale, (int32_t)(in->disp + extra)));
	}
}

/*
 * The inline TLB check, with the guest linear address in S1: S2 = the
 * entry's offset (page number modulo TLB_SIZE, times 32); S1 ^= the tag,
 * which leaves the offset in the page exactly when the tag is the page
 * (no tag, tlb_tag_none(), never does for an address of this index); then one unsigned compare
 * against 4096 - size catches both another page and an access that runs
 * into the next one. On a hit S1 becomes the host address.
 */
struct xop tr_tlb(struct tr *t, unsigned size, bool write)
{
	const struct cpu *cpu = t->cpu;
	const struct tlb_entry *tlb = cpu->tlb[(t->key & KEY_CPL3) != 0];
	int32_t base = (int32_t)(intptr_t)tlb;
	int32_t tag = base + (int32_t)(write ? offsetof(struct tlb_entry, tag_write)
					    : offsetof(struct tlb_entry, tag_read));

	if ((t->key & KEY_AC) && size > 1) {
		/* #AC is the slow path's business */
		emit_test_imm(&t->e, 1, xreg(S1), (int32_t)(size - 1));
		tr_jcc_slow(t, 5);
	}
	if (t->jv->has_bmi2) {
		emit_rorx(&t->e, S2, S1, 12 - 5);	/* the bits the mask keeps are those of a shift */
	} else {
		emit_mov_rr(&t->e, 8, S2, S1);
		emit_shift_imm(&t->e, 8, 5, xreg(S2), 12 - 5);
	}
	emit_alu_imm(&t->e, 4, 4, xreg(S2), (int32_t)((TLB_SIZE - 1) << 5));
	emit_alu_r_rm(&t->e, 8, 6, S1, xmem(H_NONE, S2, 0, tag));
	emit_alu_imm(&t->e, 8, 7, xreg(S1), (int32_t)(4096 - size));
	tr_jcc_slow(t, 7);	/* ja */
	emit_alu_r_rm(&t->e, 8, 0, S1, xmem(H_NONE, S2, 0, base + (int32_t)offsetof(struct tlb_entry, host)));
	t->host_valid = false;
	return xmem(S1, H_NONE, 0, 0);
}

/*
 * Does `in` access memory once (one TLB check), read no flag and write
 * them all: ALU and TEST forms with a memory operand (not ADC, SBB)?
 */
static bool one_access_writes_flags(const struct insn *in)
{
	unsigned op = in->opcode, digit = in->reg & 7, r, w, mw;

	if (in->map != MAP_1B || in->mod == 3)
		return false;
	if (!((op < 0x40 && (op & 7) < 4) || (op >= 0x80 && op <= 0x85) || ((op == 0xf6 || op == 0xf7) && digit == 0)))
		return false;
	tr_flag_use(in, &r, &w, &mw);
	return !r && w == FL_ALL;
}

struct xop tr_mem(struct tr *t, const struct insn *in, unsigned size, bool write, int32_t extra)
{
	/*
	 * A fault must see the flags of the instructions before: save them
	 * first. Unless the instruction before can be replayed and this one
	 * writes every flag once its one access is done: then its slow path
	 * computes and stores them (translate.c, emit_replay).
	 */
	if (t->replay.kind != REPLAY_NONE && t->replay_at + 1 == t->i && t->host_valid && !t->ctx_valid &&
	    t->e.p == t->insn_start && one_access_writes_flags(in))
		t->slow[t->i].replay = t->replay;
	else
		tr_flags_to_ctx(t);
	tr_ea(t, in, extra);
	if ((t->key & KEY_64) && (in->seg == RV_FS || in->seg == RV_GS)) {
		emit_load(&t->e, 8, S2, xabs(&t->cpu->s.seg[in->seg].base));
		emit_lea(&t->e, 8, S1, xmem(S1, S2, 0, 0));
	}
	return tr_tlb(t, size, write);
}

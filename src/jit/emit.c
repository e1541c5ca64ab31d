/* The x86-64 encoder: prefixes, REX, ModRM/SIB, immediates, branches. */
#include <string.h>

#include "jit/emit.h"

void emit_u8(struct emit *e, unsigned b)
{
	if (e->p >= e->end) {
		e->overflow = true;
		return;
	}
	*e->p++ = (uint8_t)b;
}

void emit_u32(struct emit *e, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		emit_u8(e, (v >> (8 * i)) & 0xff);
}

void emit_u64(struct emit *e, uint64_t v)
{
	emit_u32(e, (uint32_t)v);
	emit_u32(e, (uint32_t)(v >> 32));
}

static bool fits8(int64_t v)
{
	return v >= -128 && v <= 127;
}

/* The register number an operand encodes (AH-BH as 4-7) and whether it needs or forbids a REX. */
static unsigned reg_code(unsigned r, bool byte, bool *need_rex, bool *no_rex)
{
	if (r & 0x10) {
		*no_rex = true;
		return (r & 3) + 4;
	}
	if (byte && r >= 4 && r <= 7)
		*need_rex = true;
	return r;
}

/* Everything about the ModRM/SIB/displacement part; false if AH-BH meet a REX. */
struct modrm_enc {
	unsigned rex, modrm, sib, dispsize;
	bool has_sib, need_rex;
	int32_t disp;
};

static bool encode_modrm(const struct xform *f, unsigned reg, struct xop rm, struct modrm_enc *m)
{
	bool need_rex = f->w, no_rex = false;
	unsigned rex = f->w ? 8 : 0, r = reg_code(reg, f->reg_byte, &need_rex, &no_rex);
	unsigned mod, rmf;

	m->has_sib = false;
	m->dispsize = 0;
	m->sib = 0;
	m->disp = rm.disp;
	if (r & 8)
		rex |= 4;
	if (!rm.is_mem) {
		unsigned b = reg_code(rm.reg, f->rm_byte, &need_rex, &no_rex);

		if (b & 8)
			rex |= 1;
		mod = 3;
		rmf = b & 7;
	} else if (rm.base == H_NONE) {
		/* [index*scale + disp32] or absolute [disp32]: SIB with no base */
		unsigned idx = rm.index == H_NONE ? 4 : rm.index;

		if (idx & 8)
			rex |= 2;
		mod = 0;
		rmf = 4;
		m->has_sib = true;
		m->sib = (unsigned)rm.scale << 6 | (idx & 7) << 3 | 5;
		m->dispsize = 4;
	} else {
		unsigned b = rm.base;

		if (b & 8)
			rex |= 1;
		if (rm.disp == 0 && (b & 7) != 5)
			mod = 0;
		else if (fits8(rm.disp))
			mod = 1, m->dispsize = 1;
		else
			mod = 2, m->dispsize = 4;
		if (rm.index != H_NONE || (b & 7) == 4) {
			unsigned idx = rm.index == H_NONE ? 4 : rm.index;

			if (idx & 8)
				rex |= 2;
			m->has_sib = true;
			m->sib = (unsigned)rm.scale << 6 | (idx & 7) << 3 | (b & 7);
			rmf = 4;
		} else {
			rmf = b & 7;
		}
	}
	if (rex)
		need_rex = true;
	m->rex = rex;
	m->need_rex = need_rex;
	m->modrm = mod << 6 | (r & 7) << 3 | rmf;
	return !(need_rex && no_rex);
}

static void emit_prefixes(struct emit *e, const struct xform *f)
{
	if (f->lock)
		emit_u8(e, 0xf0);
	if (f->p66)
		emit_u8(e, 0x66);
	if (f->rep)
		emit_u8(e, f->rep);
}

bool emit_modrm_ok(const struct xform *f, unsigned reg, struct xop rm)
{
	struct modrm_enc m;

	return encode_modrm(f, reg, rm, &m);
}

bool emit_modrm_insn(struct emit *e, const struct xform *f, unsigned reg, struct xop rm,
		     uint64_t imm, unsigned immlen)
{
	struct modrm_enc m;

	if (!encode_modrm(f, reg, rm, &m))
		return false;
	emit_prefixes(e, f);
	if (m.need_rex)
		emit_u8(e, 0x40 | m.rex);
	for (unsigned i = 0; i < f->oplen; i++)
		emit_u8(e, (f->op >> (8 * i)) & 0xff);
	emit_u8(e, m.modrm);
	if (m.has_sib)
		emit_u8(e, m.sib);
	if (m.dispsize == 1)
		emit_u8(e, (uint8_t)m.disp);
	else if (m.dispsize == 4)
		emit_u32(e, (uint32_t)m.disp);
	for (unsigned i = 0; i < immlen; i++)
		emit_u8(e, (imm >> (8 * i)) & 0xff);
	return true;
}

void emit_plain_insn(struct emit *e, const struct xform *f, unsigned rb, uint64_t imm, unsigned immlen)
{
	unsigned rex = (f->w ? 8 : 0) | (rb != H_NONE && (rb & 8) ? 1 : 0);
	bool need = rex || (f->reg_byte && rb != H_NONE && !(rb & 0x10) && rb >= 4 && rb <= 7);

	emit_prefixes(e, f);
	if (need)
		emit_u8(e, 0x40 | rex);
	for (unsigned i = 0; i < f->oplen; i++) {
		unsigned b = (f->op >> (8 * i)) & 0xff;

		/* the register of an opcode-plus-register form goes in the last byte */
		if (i == f->oplen - 1U && rb != H_NONE)
			b += (rb & 0x10) ? (rb & 3) + 4 : (rb & 7);
		emit_u8(e, b);
	}
	for (unsigned i = 0; i < immlen; i++)
		emit_u8(e, (imm >> (8 * i)) & 0xff);
}

/* An opcode whose byte form is op and whose 16/32/64-bit form is op + 1 (most of the one-byte map). */
static struct xform sized(unsigned size, unsigned op)
{
	return (struct xform){ .p66 = size == 2, .w = size == 8, .reg_byte = size == 1, .rm_byte = size == 1,
			       .op = size == 1 ? op : op + 1, .oplen = 1 };
}

static unsigned imm_len(unsigned size)
{
	return size == 1 ? 1 : size == 2 ? 2 : 4;
}

void emit_mov_rr(struct emit *e, unsigned size, unsigned dst, unsigned src)
{
	struct xform f = sized(size, 0x88);

	emit_modrm_insn(e, &f, src, xreg(dst), 0, 0);
}

void emit_load(struct emit *e, unsigned size, unsigned dst, struct xop m)
{
	struct xform f = sized(size, 0x8a);

	emit_modrm_insn(e, &f, dst, m, 0, 0);
}

void emit_store(struct emit *e, unsigned size, struct xop m, unsigned src)
{
	struct xform f = sized(size, 0x88);

	emit_modrm_insn(e, &f, src, m, 0, 0);
}

void emit_store_imm(struct emit *e, unsigned size, struct xop m, int32_t imm)
{
	struct xform f = sized(size, 0xc6);

	emit_modrm_insn(e, &f, 0, m, (uint64_t)(int64_t)imm, imm_len(size));
}

void emit_mov_imm(struct emit *e, unsigned dst, uint64_t imm)
{
	if (imm <= 0xffffffffu) {
		/* mov r32, imm32 zero-extends */
		if (dst & 8)
			emit_u8(e, 0x41);
		emit_u8(e, 0xb8 + (dst & 7));
		emit_u32(e, (uint32_t)imm);
	} else if ((int64_t)imm == (int32_t)imm) {
		struct xform f = { .w = 1, .op = 0xc7, .oplen = 1 };

		emit_modrm_insn(e, &f, 0, xreg(dst), imm, 4);
	} else {
		emit_u8(e, 0x48 | (dst >> 3));
		emit_u8(e, 0xb8 + (dst & 7));
		emit_u64(e, imm);
	}
}

void emit_movzx_load(struct emit *e, unsigned size, unsigned dst, struct xop m)
{
	struct xform f = { .op = size == 1 ? 0xb60f : 0xb70f, .oplen = 2 };

	emit_modrm_insn(e, &f, dst, m, 0, 0);
}

void emit_lea(struct emit *e, unsigned size, unsigned dst, struct xop m)
{
	struct xform f = { .w = size == 8, .op = 0x8d, .oplen = 1 };

	emit_modrm_insn(e, &f, dst, m, 0, 0);
}

void emit_alu_imm(struct emit *e, unsigned size, unsigned aluop, struct xop rm, int32_t imm)
{
	struct xform f = sized(size, 0x80);

	if (size != 1 && fits8(imm)) {
		f.op = 0x83;
		emit_modrm_insn(e, &f, aluop, rm, (uint64_t)(int64_t)imm, 1);
		return;
	}
	emit_modrm_insn(e, &f, aluop, rm, (uint64_t)(int64_t)imm, imm_len(size));
}

void emit_alu_rm_r(struct emit *e, unsigned size, unsigned aluop, struct xop rm, unsigned reg)
{
	struct xform f = sized(size, aluop << 3);

	emit_modrm_insn(e, &f, reg, rm, 0, 0);
}

void emit_alu_r_rm(struct emit *e, unsigned size, unsigned aluop, unsigned reg, struct xop rm)
{
	struct xform f = sized(size, aluop << 3 | 2);

	emit_modrm_insn(e, &f, reg, rm, 0, 0);
}

void emit_shift_imm(struct emit *e, unsigned size, unsigned op, struct xop rm, unsigned count)
{
	struct xform f = sized(size, 0xc0);

	emit_modrm_insn(e, &f, op, rm, count, 1);
}

void emit_test_imm(struct emit *e, unsigned size, struct xop rm, int32_t imm)
{
	struct xform f = sized(size, 0xf6);

	emit_modrm_insn(e, &f, 0, rm, (uint64_t)(int64_t)imm, imm_len(size));
}

void emit_rorx(struct emit *e, unsigned dst, unsigned src, unsigned imm)
{
	/* VEX.LZ.F2.0F3A.W1 F0 /r ib (SDM vol. 2, RORX): R, X, B inverted in the second byte */
	emit_u8(e, 0xc4);
	emit_u8(e, (dst & 8 ? 0 : 0x80) | 0x40 | (src & 8 ? 0 : 0x20) | 0x03);
	emit_u8(e, 0x80 | 0x78 | 0x03);
	emit_u8(e, 0xf0);
	emit_u8(e, 0xc0 | (dst & 7) << 3 | (src & 7));
	emit_u8(e, imm);
}

/* An SSE2 form: 66/F3 prefix, 0F op, ModRM with an XMM register (codes 0-15 as for GPRs). */
static void sse_insn(struct emit *e, unsigned prefix, unsigned op, unsigned xmm, struct xop rm)
{
	struct xform f = { .p66 = prefix == 0x66, .rep = prefix == 0xf3 ? 0xf3 : 0, .op = 0x0f | op << 8, .oplen = 2 };

	emit_modrm_insn(e, &f, xmm, rm, 0, 0);
}

void emit_movq_load_xmm(struct emit *e, unsigned xmm, struct xop m)
{
	sse_insn(e, 0xf3, 0x7e, xmm, m);
}

void emit_movq_store_xmm(struct emit *e, struct xop m, unsigned xmm)
{
	sse_insn(e, 0x66, 0xd6, xmm, m);
}

void emit_paddq(struct emit *e, unsigned xmm, struct xop m)
{
	sse_insn(e, 0x66, 0xd4, xmm, m);
}

void emit_psubq(struct emit *e, unsigned xmm, struct xop m)
{
	sse_insn(e, 0x66, 0xfb, xmm, m);
}

void emit_lahf(struct emit *e)
{
	emit_u8(e, 0x9f);
}

void emit_sahf(struct emit *e)
{
	emit_u8(e, 0x9e);
}

void emit_setcc(struct emit *e, unsigned cc, struct xop rm)
{
	struct xform f = { .rm_byte = 1, .op = 0x900f | (cc & 15) << 8, .oplen = 2 };

	emit_modrm_insn(e, &f, 0, rm, 0, 0);
}

void emit_push_m(struct emit *e, struct xop m)
{
	struct xform f = { .op = 0xff, .oplen = 1 };

	emit_modrm_insn(e, &f, 6, m, 0, 0);
}

void emit_pop_m(struct emit *e, struct xop m)
{
	struct xform f = { .op = 0x8f, .oplen = 1 };

	emit_modrm_insn(e, &f, 0, m, 0, 0);
}

void emit_push_r(struct emit *e, unsigned r)
{
	if (r & 8)
		emit_u8(e, 0x41);
	emit_u8(e, 0x50 + (r & 7));
}

void emit_pop_r(struct emit *e, unsigned r)
{
	if (r & 8)
		emit_u8(e, 0x41);
	emit_u8(e, 0x58 + (r & 7));
}

void emit_ret(struct emit *e)
{
	emit_u8(e, 0xc3);
}

void emit_call_m(struct emit *e, struct xop m)
{
	struct xform f = { .op = 0xff, .oplen = 1 };

	emit_modrm_insn(e, &f, 2, m, 0, 0);
}

void emit_jmp_r(struct emit *e, unsigned r)
{
	struct xform f = { .op = 0xff, .oplen = 1 };

	emit_modrm_insn(e, &f, 4, xreg(r), 0, 0);
}

void emit_jmp_m(struct emit *e, struct xop m)
{
	struct xform f = { .op = 0xff, .oplen = 1 };

	emit_modrm_insn(e, &f, 4, m, 0, 0);
}

static uint8_t *rel32(struct emit *e, uintptr_t target)
{
	uint8_t *field = e->p;

	emit_u32(e, (uint32_t)(target - (emit_rx(e) + 4)));
	return e->overflow ? NULL : field;
}

uint8_t *emit_jmp(struct emit *e, uintptr_t target)
{
	emit_u8(e, 0xe9);
	return rel32(e, target);
}

uint8_t *emit_jcc(struct emit *e, unsigned cc, uintptr_t target)
{
	emit_u8(e, 0x0f);
	emit_u8(e, 0x80 | cc);
	return rel32(e, target);
}

uint8_t *emit_call(struct emit *e, uintptr_t target)
{
	emit_u8(e, 0xe8);
	return rel32(e, target);
}

void emit_patch_rel32(uint8_t *field, intptr_t rx_delta, uintptr_t target)
{
	uint32_t v = (uint32_t)(target - ((uintptr_t)field + (uintptr_t)rx_delta + 4));

	/* one aligned-or-not 4-byte store: only this vCPU's thread runs this code */
	memcpy(field, &v, 4);
}

uint8_t *emit_jcc8(struct emit *e, unsigned cc)
{
	emit_u8(e, cc == 16 ? 0xeb : 0x70 | cc);
	emit_u8(e, 0);
	return e->overflow ? NULL : e->p - 1;
}

void emit_bind8(struct emit *e, uint8_t *field)
{
	if (field)
		*field = (uint8_t)(e->p - (field + 1));
}

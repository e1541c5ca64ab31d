/* Oracle forms for shifts/rotates, SHLD/SHRD, MUL/IMUL/DIV/IDIV, bit ops, string ops, BCD (compat mode). */
#include "forms_enc.h"

static const unsigned sizes[4] = { 1, 2, 4, 8 };

/* ------------------------------------------------------------------ */
/* Shifts and rotates. arg: op | size << 8 | kind << 16 | imm << 24.   */

enum { SH_BY1, SH_CL, SH_IMM };

static unsigned shift_count(const struct oracle_form *f, const struct oracle_case *c)
{
	unsigned kind = (f->arg >> 16) & 0xff;
	unsigned size = (f->arg >> 8) & 0xff;
	unsigned count = kind == SH_BY1 ? 1 : kind == SH_CL ? (unsigned)(c->r.gpr[RCX] & 0xff) : f->arg >> 24;
	return count & (size == 8 ? 63 : 31);
}

/*
 * SDM vol. 2 (SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR): a masked count of 0 changes
 * no flag; OF is defined only for 1-bit counts; AF is undefined after a
 * shift by a non-zero count; CF is undefined for SHL/SHR by >= the width.
 */
static uint32_t shift_undef(const struct oracle_form *f, const struct oracle_case *c)
{
	unsigned op = f->arg & 7, size = (f->arg >> 8) & 0xff;
	unsigned n = shift_count(f, c);
	uint32_t u;

	if (n == 0)
		return 0;
	u = n != 1 ? F_OF : 0;
	if (op >= 4) {
		u |= F_AF;
		if (op != 7 && n >= size * 8)
			u |= F_CF;
	}
	return u;
}

static void gen_shift_cl(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	unsigned size = (f->arg >> 8) & 0xff, bits = size * 8;
	const unsigned pick[] = { 0, 1, 2, bits - 1, bits, bits + 1, 31, 32, 63, 64, 9, 17 };
	uint64_t v = oracle_rand(r) & 0xff;

	if (oracle_rand(r) & 1)
		v = pick[oracle_rand_below(r, sizeof(pick) / sizeof(pick[0]))];
	c->r.gpr[RCX] = (c->r.gpr[RCX] & ~0xffull) | v;
}

static void forms_shift(struct oracle_set *set)
{
	static const char *const names[8] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned op, si, k;

	t.undef_fn = shift_undef;
	for (op = 0; op < 8; op++) {
		for (si = 0; si < 4; si++) {
			unsigned s = sizes[si], bits = s * 8;
			uint8_t by1 = s == 1 ? 0xd0 : 0xd1, bycl = s == 1 ? 0xd2 : 0xd3, byi = s == 1 ? 0xc0 : 0xc1;
			const unsigned imms[] = { 0, 1, 3, bits - 1, bits, bits + 3, 0xff };
			unsigned base = op | s << 8;

			t.gen = NULL;
			t.opt = 0;
			t.arg = base | SH_BY1 << 16;
			enc_modrm_insn(&e, s, &by1, 1, op, RDX, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, 1", names[op], bits);
			t.opt = ORACLE_MEM;
			enc_modrm_insn(&e, s, &by1, 1, op, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, 1", names[op], bits);

			t.gen = gen_shift_cl;
			t.opt = 0;
			t.arg = base | SH_CL << 16;
			enc_modrm_insn(&e, s, &bycl, 1, op, RDX, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, cl", names[op], bits);
			enc_modrm_insn(&e, s, &bycl, 1, op, R9, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, cl (r9)", names[op], bits);
			t.opt = ORACLE_MEM;
			enc_modrm_insn(&e, s, &bycl, 1, op, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, cl", names[op], bits);

			t.gen = NULL;
			for (k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
				t.opt = 0;
				t.arg = base | SH_IMM << 16 | imms[k] << 24;
				enc_modrm_insn(&e, s, &byi, 1, op, RSI, false);
				enc_imm(&e, imms[k], 1);
				oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, imm8 %u", names[op], bits, imms[k]);
			}
			t.opt = ORACLE_MEM;
			t.arg = base | SH_IMM << 16 | 5u << 24;
			enc_modrm_insn(&e, s, &byi, 1, op, ENC_MEM, false);
			enc_imm(&e, 5, 1);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, imm8 5", names[op], bits);
		}
	}
}

/* SHLD/SHRD: arg = size << 8 | kind << 16 | imm << 24 (op bits unused). */
static uint32_t shxd_undef(const struct oracle_form *f, const struct oracle_case *c)
{
	unsigned n = shift_count(f, c);
	if (n == 0)
		return 0;
	return F_AF | (n != 1 ? F_OF : 0);
}

static void gen_shxd_cl(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	unsigned size = (f->arg >> 8) & 0xff;
	gen_shift_cl(f, c, r);
	/* 16-bit: a count above 16 leaves the result undefined (SDM SHLD/SHRD). */
	if (size == 2 && (c->r.gpr[RCX] & 31) > 16)
		c->r.gpr[RCX] &= ~0x10ull;
}

static void forms_shxd(struct oracle_set *set)
{
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned d, si, k;

	t.undef_fn = shxd_undef;
	for (d = 0; d < 2; d++) {
		const char *nm = d ? "shrd" : "shld";
		for (si = 1; si < 4; si++) {
			unsigned s = sizes[si], bits = s * 8;
			uint8_t oi[2] = { 0x0f, (uint8_t)(d ? 0xac : 0xa4) }, oc[2] = { 0x0f, (uint8_t)(d ? 0xad : 0xa5) };
			const unsigned imms[] = { 0, 1, 7, bits == 16 ? 16 : bits - 1, bits == 16 ? 15 : bits + 1 };

			t.gen = gen_shxd_cl;
			t.arg = s << 8 | SH_CL << 16;
			t.opt = 0;
			enc_modrm_insn(&e, s, oc, 2, RDX, RSI, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, r%u, cl", nm, bits, bits);
			enc_modrm_insn(&e, s, oc, 2, RAX, RAX, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, r%u, cl (same reg)", nm, bits, bits);
			t.opt = ORACLE_MEM;
			enc_modrm_insn(&e, s, oc, 2, RDX, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, r%u, cl", nm, bits, bits);
			t.gen = NULL;
			for (k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
				t.arg = s << 8 | SH_IMM << 16 | imms[k] << 24;
				t.opt = 0;
				enc_modrm_insn(&e, s, oi, 2, RDX, RSI, false);
				enc_imm(&e, imms[k], 1);
				oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, r%u, %u", nm, bits, bits, imms[k]);
			}
			t.opt = ORACLE_MEM;
			t.arg = s << 8 | SH_IMM << 16 | 3u << 24;
			enc_modrm_insn(&e, s, oi, 2, RDX, ENC_MEM, false);
			enc_imm(&e, 3, 1);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, r%u, 3", nm, bits, bits);
		}
	}
}

/* ------------------------------------------------------------------ */
/* MUL, IMUL, DIV, IDIV. For DIV/IDIV arg = size | signed << 8.        */

static void gen_div(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	unsigned size = f->arg & 0xff;
	bool sgn = (f->arg >> 8) & 1;
	uint64_t m = size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
	uint64_t div, k = oracle_rand_below(r, 8);
	uint8_t *mem = c->win + (ORACLE_MEMPTR - ORACLE_DATA) + ENC_DISP;

	div = (f->opt & ORACLE_MEM) ? 0 : c->r.gpr[RCX];
	if (f->opt & ORACLE_MEM)
		memcpy(&div, mem, 8);
	if (k == 0)
		div &= ~m;	/* divide by zero: #DE */
	else if ((div & m) == 0)
		div |= 3;
	if (f->opt & ORACLE_MEM)
		memcpy(mem, &div, 8);
	else
		c->r.gpr[RCX] = div;
	if (k >= 1 && k <= 4) {
		/* Make the quotient fit: high half < divisor (unsigned) or a sign extension (signed). */
		uint64_t lo = size == 1 ? c->r.gpr[RAX] & 0xff : c->r.gpr[RAX] & m;
		uint64_t hi;
		if (sgn) {
			unsigned bits = size * 8;
			hi = ((lo >> (bits - 1)) & 1) ? m : 0;
		} else {
			hi = oracle_rand(r) % (div & m);
		}
		if (size == 1)
			c->r.gpr[RAX] = (c->r.gpr[RAX] & ~0xff00ull) | (hi & 0xff) << 8;
		else
			c->r.gpr[RDX] = (c->r.gpr[RDX] & ~m) | (hi & m);
	}
}

static void gen_imul3(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	/* Small factors half the time, so results that fit (CF=OF=0) are common. */
	if (oracle_rand(r) & 1)
		c->r.gpr[RSI] = (uint64_t)(int64_t)(int16_t)oracle_rand(r);
	if (oracle_rand(r) & 1)
		c->r.gpr[RDX] = (uint64_t)(int64_t)(int8_t)oracle_rand(r);
}

static void forms_muldiv(struct oracle_set *set)
{
	static const char *const names[4] = { "mul", "imul", "div", "idiv" };
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned k, si;

	for (k = 0; k < 4; k++) {
		for (si = 0; si < 4; si++) {
			unsigned s = sizes[si];
			uint8_t opc = s == 1 ? 0xf6 : 0xf7;
			t.undef = k < 2 ? F_SZAP : F_ARITH;
			t.gen = k < 2 ? gen_imul3 : gen_div;
			t.arg = s | (k == 3) << 8;
			t.opt = 0;
			enc_modrm_insn(&e, s, &opc, 1, 4 + k, RCX, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u (%s)", names[k], s * 8, enc_reg_name(RCX, s, false));
			if (k < 2) {
				enc_modrm_insn(&e, s, &opc, 1, 4 + k, RAX, false);
				oracle_addf(set, &t, enc_hex(&e), "%s r/m%u (accumulator itself)", names[k], s * 8);
			}
			t.opt = ORACLE_MEM;
			enc_modrm_insn(&e, s, &opc, 1, 4 + k, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u", names[k], s * 8);
		}
	}
	t = (struct oracle_form){ .undef = F_SZAP, .gen = gen_imul3 };
	for (si = 1; si < 4; si++) {
		unsigned s = sizes[si], bits = s * 8, ilen = s == 2 ? 2 : 4;
		uint8_t af[2] = { 0x0f, 0xaf }, i8 = 0x6b, iz = 0x69;
		t.opt = 0;
		enc_modrm_insn(&e, s, af, 2, RDX, RSI, false);
		oracle_addf(set, &t, enc_hex(&e), "imul r%u, r/m%u", bits, bits);
		enc_modrm_insn(&e, s, af, 2, RDX, RDX, false);
		oracle_addf(set, &t, enc_hex(&e), "imul r%u, r/m%u (same)", bits, bits);
		enc_modrm_insn(&e, s, &i8, 1, RDX, RSI, false);
		enc_imm(&e, 0x85, 1);
		oracle_addf(set, &t, enc_hex(&e), "imul r%u, r/m%u, imm8 (-123)", bits, bits);
		enc_modrm_insn(&e, s, &i8, 1, RDX, RSI, false);
		enc_imm(&e, 0x07, 1);
		oracle_addf(set, &t, enc_hex(&e), "imul r%u, r/m%u, imm8 (7)", bits, bits);
		enc_modrm_insn(&e, s, &iz, 1, R12, RSI, false);
		enc_imm(&e, 0x87654321, ilen);
		oracle_addf(set, &t, enc_hex(&e), "imul r%u, r/m%u, imm", bits, bits);
		t.opt = ORACLE_MEM;
		enc_modrm_insn(&e, s, af, 2, RDX, ENC_MEM, false);
		oracle_addf(set, &t, enc_hex(&e), "imul r%u, m%u", bits, bits);
		enc_modrm_insn(&e, s, &iz, 1, RDX, ENC_MEM, false);
		enc_imm(&e, 0x1234, ilen);
		oracle_addf(set, &t, enc_hex(&e), "imul r%u, m%u, imm", bits, bits);
	}
}

/* ------------------------------------------------------------------ */
/* Bit operations.                                                     */

static void gen_bt_mem(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	/* A signed bit offset (of the operand size) reaching 0x90 bytes below and 0x170 above [rbx+0x10]. */
	int64_t bit = (int64_t)oracle_rand_below(r, 0x200 * 8) - 0x90 * 8;
	uint64_t m = f->arg == 8 ? ~0ull : (1ull << (f->arg * 8)) - 1;
	c->r.gpr[RDX] = (c->r.gpr[RDX] & ~m) | ((uint64_t)bit & m);
}

static void gen_nonzero_src(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	uint64_t m = f->arg == 8 ? ~0ull : (1ull << (f->arg * 8)) - 1;
	while (!(c->r.gpr[RSI] & m))
		c->r.gpr[RSI] = oracle_rand_edge(r);
	/* sometimes a single bit */
	if (oracle_rand(r) & 1)
		c->r.gpr[RSI] = (c->r.gpr[RSI] & ~m) | (1ull << oracle_rand_below(r, f->arg * 8));
}

static void forms_bits(struct oracle_set *set)
{
	static const char *const bt[4] = { "bt", "bts", "btr", "btc" };
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned k, si;

	/* BT*: Intel leaves OF SF AF PF undefined, AMD also ZF. */
	for (k = 0; k < 4; k++) {
		uint8_t rr[2] = { 0x0f, (uint8_t)(0xa3 + 8 * k) }, ri[2] = { 0x0f, 0xba };
		t = (struct oracle_form){ .undef = F_OF | F_SF | F_AF | F_PF | F_ZF };
		for (si = 1; si < 4; si++) {
			unsigned s = sizes[si], bits = s * 8;
			t.opt = 0;
			t.gen = NULL;
			enc_modrm_insn(&e, s, rr, 2, RDX, RSI, false);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, r%u", bt[k], bits, bits);
			enc_modrm_insn(&e, s, ri, 2, 4 + k, RSI, false);
			enc_imm(&e, 5, 1);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, imm8 5", bt[k], bits);
			enc_modrm_insn(&e, s, ri, 2, 4 + k, RSI, false);
			enc_imm(&e, 0x4f, 1);
			oracle_addf(set, &t, enc_hex(&e), "%s r/m%u, imm8 0x4f", bt[k], bits);
			t.opt = ORACLE_MEM;
			enc_modrm_insn(&e, s, ri, 2, 4 + k, ENC_MEM, false);
			enc_imm(&e, 0x4d, 1);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, imm8 0x4d", bt[k], bits);
			t.gen = gen_bt_mem;
			t.arg = s;
			enc_modrm_insn(&e, s, rr, 2, RDX, ENC_MEM, false);
			oracle_addf(set, &t, enc_hex(&e), "%s m%u, r%u (bit string)", bt[k], bits, bits);
		}
	}
	for (si = 1; si < 4; si++) {
		unsigned s = sizes[si], bits = s * 8;
		uint8_t bsf[2] = { 0x0f, 0xbc }, bsr[2] = { 0x0f, 0xbd };
		t = (struct oracle_form){ .undef = F_CF | F_OF | F_SF | F_AF | F_PF, .gen = gen_nonzero_src, .arg = s };
		enc_modrm_insn(&e, s, bsf, 2, RDX, RSI, false);
		oracle_addf(set, &t, enc_hex(&e), "bsf r%u, r/m%u", bits, bits);
		enc_modrm_insn(&e, s, bsr, 2, RDX, RSI, false);
		oracle_addf(set, &t, enc_hex(&e), "bsr r%u, r/m%u", bits, bits);
		/* POPCNT, LZCNT, TZCNT: F3 must precede REX (enc puts 66/REX first, so build by hand) */
		for (k = 0; k < 3; k++) {
			static const char *const nm[3] = { "popcnt", "tzcnt", "lzcnt" };
			static const uint8_t opb[3] = { 0xb8, 0xbc, 0xbd };
			static const uint8_t feat[3] = { FEAT_POPCNT, FEAT_BMI1, FEAT_LZCNT };
			t = (struct oracle_form){ .undef = k ? F_OF | F_SF | F_AF | F_PF : 0, .feature = feat[k] };
			e.n = 0;
			if (s == 2)
				enc_byte(&e, 0x66);
			enc_byte(&e, 0xf3);
			if (s == 8)
				enc_byte(&e, 0x48);
			enc_byte(&e, 0x0f);
			enc_byte(&e, opb[k]);
			enc_byte(&e, 0xd6);	/* reg rdx, rm rsi */
			oracle_addf(set, &t, enc_hex(&e), "%s r%u, r/m%u", nm[k], bits, bits);
		}
	}
}

/* ------------------------------------------------------------------ */
/* String instructions. arg = element size.                            */

static void gen_string(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	unsigned size = f->arg & 0xff, i;
	uint64_t si = 0x80 + oracle_rand_below(r, 0x40), di = 0x140 + oracle_rand_below(r, 0x40);

	if (oracle_rand(r) & 1) {	/* aligned elements */
		si &= ~(uint64_t)(size - 1);
		di &= ~(uint64_t)(size - 1);
	}
	c->r.gpr[RSI] = ORACLE_DATA + si;
	c->r.gpr[RDI] = ORACLE_DATA + di;
	c->r.gpr[RCX] = oracle_rand_below(r, 9);
	if (f->arg & 0x100) {	/* 67 prefix: upper halves ignored and cleared */
		c->r.gpr[RSI] |= oracle_rand(r) << 32;
		c->r.gpr[RDI] |= oracle_rand(r) << 32;
		c->r.gpr[RCX] |= oracle_rand(r) << 32;
	}
	/* Make compared elements equal most of the time so REPE/REPNE stop at varied points. */
	for (i = 0; i < 9 * 8; i++) {
		uint64_t off = di - 9 * 8 + i * 2;
		if (oracle_rand_below(r, 4) == 0)
			continue;
		if (f->arg & 0x200)	/* CMPS: copy the source element */
			c->win[off] = c->win[si - 9 * 8 + i * 2];
		else		/* SCAS: the accumulator's bytes */
			c->win[off] = (uint8_t)(c->r.gpr[RAX] >> (8 * ((off - di) & (size - 1))));
		c->win[off + 1] = (f->arg & 0x200) ? c->win[si - 9 * 8 + i * 2 + 1]
						   : (uint8_t)(c->r.gpr[RAX] >> (8 * ((off + 1 - di) & (size - 1))));
	}
}

static void forms_string(struct oracle_set *set)
{
	static const struct {
		const char *name;
		uint8_t op;
		bool cmp;	/* uses REPE/REPNE */
		bool cmps;
	} str[] = {
		{ "movs", 0xa4, false, false }, { "stos", 0xaa, false, false },
		{ "lods", 0xac, false, false }, { "scas", 0xae, true, false },
		{ "cmps", 0xa6, true, true },
	};
	static const char sfx[4] = { 'b', 'w', 'd', 'q' };
	struct oracle_form t = { 0 };
	struct enc e;
	unsigned k, si, rep;

	for (k = 0; k < 5; k++) {
		for (si = 0; si < 4; si++) {
			unsigned s = sizes[si];
			for (rep = 0; rep < 3; rep++) {
				static const char *const rn[3] = { "", "rep ", "repne " };
				if (rep == 2 && !str[k].cmp)
					continue;
				t = (struct oracle_form){ .opt = ORACLE_DF, .gen = gen_string,
					.arg = s | (str[k].cmps ? 0x200u : 0) };
				e.n = 0;
				if (s == 2)
					enc_byte(&e, 0x66);
				if (rep)
					enc_byte(&e, rep == 1 ? 0xf3 : 0xf2);
				if (s == 8)
					enc_byte(&e, 0x48);
				enc_byte(&e, (uint8_t)(str[k].op + (s != 1)));
				oracle_addf(set, &t, enc_hex(&e), "%s%s%c", rn[rep],
					    (rep == 1 && str[k].cmp) ? (k == 3 ? "e scas" : "e cmps") : str[k].name,
					    sfx[si]);
			}
		}
	}
	t = (struct oracle_form){ .opt = ORACLE_DF, .gen = gen_string, .arg = 1 | 0x100 };
	oracle_addf(set, &t, "67 f3 a4", "rep movsb (67: esi, edi, ecx)");
	t.arg = 4 | 0x100;
	oracle_addf(set, &t, "67 f3 ab", "rep stosd (67: edi, ecx)");
	t.arg = 1 | 0x300;
	oracle_addf(set, &t, "67 f3 a6", "repe cmpsb (67)");
}

/* ------------------------------------------------------------------ */
/* 32-bit compatibility mode: BCD, PUSHA/POPA, one-byte INC/DEC.       */

static const struct oracle_form compat_table[] = {
	FORM("daa (compat32)", "27", .undef = F_OF, .opt = ORACLE_COMPAT32),
	FORM("das (compat32)", "2f", .undef = F_OF, .opt = ORACLE_COMPAT32),
	FORM("aaa (compat32)", "37", .undef = F_OF | F_SF | F_ZF | F_PF, .opt = ORACLE_COMPAT32),
	FORM("aas (compat32)", "3f", .undef = F_OF | F_SF | F_ZF | F_PF, .opt = ORACLE_COMPAT32),
	FORM("aam 10 (compat32)", "d4 0a", .undef = F_OF | F_AF | F_CF, .opt = ORACLE_COMPAT32),
	FORM("aam 7 (compat32)", "d4 07", .undef = F_OF | F_AF | F_CF, .opt = ORACLE_COMPAT32),
	FORM("aam 0 (compat32, #DE)", "d4 00", .undef = F_OF | F_AF | F_CF, .opt = ORACLE_COMPAT32),
	FORM("aad 10 (compat32)", "d5 0a", .undef = F_OF | F_AF | F_CF, .opt = ORACLE_COMPAT32),
	FORM("aad 7 (compat32)", "d5 07", .undef = F_OF | F_AF | F_CF, .opt = ORACLE_COMPAT32),
	FORM("pushad (compat32)", "60", .opt = ORACLE_COMPAT32),
	FORM("popad (compat32)", "61", .opt = ORACLE_COMPAT32),
	FORM("pushaw (compat32)", "66 60", .opt = ORACLE_COMPAT32),
	FORM("popaw (compat32)", "66 61", .opt = ORACLE_COMPAT32),
	FORM("inc eax (40, compat32)", "40", .opt = ORACLE_COMPAT32),
	FORM("dec edi (4f, compat32)", "4f", .opt = ORACLE_COMPAT32),
	FORM("inc cx (66 41, compat32)", "66 41", .opt = ORACLE_COMPAT32),
	FORM("add eax, ecx (compat32)", "01 c8", .opt = ORACLE_COMPAT32),
	FORM("add ax, cx (66, compat32)", "66 01 c8", .opt = ORACLE_COMPAT32),
	FORM("imul eax, ecx, imm (compat32)", "69 c1 78 56 34 12", .undef = F_SZAP, .opt = ORACLE_COMPAT32),
	FORM("push ecx (compat32)", "51", .opt = ORACLE_COMPAT32),
	FORM("pop edx (compat32)", "5a", .opt = ORACLE_COMPAT32),
	FORM("push imm32 (compat32)", "68 78 56 34 12", .opt = ORACLE_COMPAT32),
	FORM("lea eax, [ecx+edx*4+8] (compat32)", "8d 44 91 08", .opt = ORACLE_COMPAT32),
	FORM("lea ax, [bx+si+8] (67 66, compat32)", "67 66 8d 40 08", .opt = ORACLE_COMPAT32),
	FORM("cdq (compat32)", "99", .opt = ORACLE_COMPAT32),
	FORM_END
};

static const struct oracle_form invalid64_table[] = {
	FORM("daa in 64-bit mode (#UD)", "27"),
	FORM("aam in 64-bit mode (#UD)", "d4 0a"),
	FORM("pusha in 64-bit mode (#UD)", "60"),
	FORM_END
};

void oracle_forms_arith(struct oracle_set *set)
{
	forms_shift(set);
	forms_shxd(set);
	forms_muldiv(set);
	forms_bits(set);
	forms_string(set);
	oracle_add_table(set, compat_table);
	oracle_add_table(set, invalid64_table);
}

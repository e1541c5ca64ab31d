/* Oracle forms for MMX, SSE and SSE2 (0F map): arithmetic, compares, conversions, moves, packed integers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oracle.h"

#define MEM (-1)
#define NOIMM (-1)
#define MEMOFF 0x90	/* [rbx+0x10] with RBX = ORACLE_MEMPTR: 16-byte aligned, inside the window */

/* gen flags in form.arg */
#define G_MXCSR  (1u << 0)	/* random rounding, DAZ, FTZ (all exceptions masked) */
#define G_UNMASK (1u << 1)	/* random exception masks too (#XM natively) */
#define G_MMX    (1u << 2)	/* random MMX registers (x87 stack as MMX) */
#define G_MEMFP  (1u << 3)	/* memory operand: edge-biased floats/doubles */
#define G_RDI    (1u << 4)	/* RDI -> window (MASKMOV) */
#define G_MXMEM  (1u << 5)	/* memory operand: a valid MXCSR value (LDMXCSR) */
#define G_FXIMG  (1u << 6)	/* memory operand: a valid FXSAVE image (FXRSTOR) */

static void gen_sse(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	uint32_t mx;

	memcpy(&mx, c->fx + 24, 4);
	if (f->arg & G_MXCSR) {
		mx = 0x1f80 | (uint32_t)(oracle_rand(r) & 0x6040);	/* RC, FTZ, DAZ */
		if ((f->arg & G_UNMASK) && oracle_rand_below(r, 2))
			mx &= ~(uint32_t)(oracle_rand(r) & 0x1f80);
		memcpy(c->fx + 24, &mx, 4);
	}
	if (f->arg & G_MMX) {
		for (unsigned i = 0; i < 8; i++) {
			uint64_t v = oracle_rand_below(r, 2) ? oracle_rand_edge(r) : oracle_rand(r);
			memcpy(c->fx + 32 + 16 * i, &v, 8);
			c->fx[32 + 16 * i + 8] = 0xff;
			c->fx[32 + 16 * i + 9] = 0xff;
		}
		c->fx[4] = 0xff;
	}
	if (f->arg & G_MEMFP) {
		for (unsigned k = 0; k < 2; k++) {
			if (oracle_rand_below(r, 2)) {
				double d = oracle_rand_double(r);
				memcpy(c->win + MEMOFF + 8 * k, &d, 8);
			} else {
				float a = oracle_rand_float(r), b = oracle_rand_float(r);
				memcpy(c->win + MEMOFF + 8 * k, &a, 4);
				memcpy(c->win + MEMOFF + 8 * k + 4, &b, 4);
			}
		}
	}
	if (f->arg & G_RDI)
		c->r.gpr[RDI] = ORACLE_DATA + 0x100 + oracle_rand_below(r, 0x40);
	if (f->arg & G_MXMEM) {
		mx = (uint32_t)(oracle_rand(r) & 0xffff);
		if (oracle_rand_below(r, 4) == 0)
			mx |= 1u << (18 + oracle_rand_below(r, 14));	/* reserved: #GP (bit 17 is AMD's MM) */
		memcpy(c->win + MEMOFF, &mx, 4);
	}
	if (f->arg & G_FXIMG) {
		memcpy(c->win + MEMOFF, c->fx, 416);
		mx = 0x1f80 | (uint32_t)(oracle_rand(r) & 0x607f);
		memcpy(c->win + MEMOFF + 24, &mx, 4);
		for (unsigned i = 0; i < 8; i++) {
			uint64_t v = oracle_rand(r);
			memcpy(c->win + MEMOFF + 32 + 16 * i, &v, 8);
		}
		c->win[MEMOFF + 4] = (uint8_t)oracle_rand(r);
	}
}

/* [pfx] [REX] 0F op ModRM [disp8] [imm8]; rm = MEM for [rbx+0x10]. */
static const char *sse_hex(char *buf, size_t n, int pfx, unsigned op, unsigned reg, int rm, bool w, int imm)
{
	uint8_t b[16];
	unsigned k = 0, rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | (rm >= 0 && (rm & 8) ? 1 : 0);
	size_t pos = 0;

	if (pfx >= 0)
		b[k++] = (uint8_t)pfx;
	if (rex != 0x40)
		b[k++] = (uint8_t)rex;
	b[k++] = 0x0f;
	b[k++] = (uint8_t)op;
	if (rm == MEM) {
		b[k++] = (uint8_t)(0x40 | (reg & 7) << 3 | RBX);
		b[k++] = 0x10;
	} else {
		b[k++] = (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7));
	}
	if (imm >= 0)
		b[k++] = (uint8_t)imm;
	for (unsigned i = 0; i < k; i++)
		pos += (size_t)snprintf(buf + pos, n - pos, "%s%02x", i ? " " : "", b[i]);
	return buf;
}

static void add(struct oracle_set *set, const char *mn, int pfx, unsigned op, unsigned reg, int rm,
		bool w, int imm, uint32_t arg, uint8_t feat)
{
	struct oracle_form t = { .opt = ORACLE_FPU, .arg = arg, .gen = gen_sse, .feature = feat };
	char hex[64], ops[32];

	if (rm == MEM) {
		t.opt |= ORACLE_MEM;
		snprintf(ops, sizeof(ops), "%u, [mem]", reg);
	} else {
		snprintf(ops, sizeof(ops), "%u, %d", reg, rm);
	}
	sse_hex(hex, sizeof(hex), pfx, op, reg, rm, w, imm);
	if (imm >= 0)
		oracle_addf(set, &t, hex, "%s %s%s, %d", mn, ops, w ? " (W)" : "", imm);
	else
		oracle_addf(set, &t, hex, "%s %s%s", mn, ops, w ? " (W)" : "");
}

/* Register-register (xmm1, xmm2 and xmm9, xmm14) and memory forms. */
static void add3(struct oracle_set *set, const char *mn, int pfx, unsigned op, int imm, uint32_t arg, uint8_t feat)
{
	add(set, mn, pfx, op, 1, 2, false, imm, arg, feat);
	add(set, mn, pfx, op, 9, 14, false, imm, arg, feat);
	add(set, mn, pfx, op, 3, MEM, false, imm, arg | G_MEMFP, feat);
}

struct fpop {
	const char *mn;
	int pfx;
	unsigned op;
};

void oracle_forms_sse(struct oracle_set *set)
{
	static const struct fpop fp[] = {
		{ "sqrtps", -1, 0x51 }, { "sqrtss", 0xf3, 0x51 }, { "sqrtpd", 0x66, 0x51 }, { "sqrtsd", 0xf2, 0x51 },
		{ "rsqrtps", -1, 0x52 }, { "rsqrtss", 0xf3, 0x52 }, { "rcpps", -1, 0x53 }, { "rcpss", 0xf3, 0x53 },
		{ "addps", -1, 0x58 }, { "addss", 0xf3, 0x58 }, { "addpd", 0x66, 0x58 }, { "addsd", 0xf2, 0x58 },
		{ "mulps", -1, 0x59 }, { "mulss", 0xf3, 0x59 }, { "mulpd", 0x66, 0x59 }, { "mulsd", 0xf2, 0x59 },
		{ "subps", -1, 0x5c }, { "subss", 0xf3, 0x5c }, { "subpd", 0x66, 0x5c }, { "subsd", 0xf2, 0x5c },
		{ "minps", -1, 0x5d }, { "minss", 0xf3, 0x5d }, { "minpd", 0x66, 0x5d }, { "minsd", 0xf2, 0x5d },
		{ "divps", -1, 0x5e }, { "divss", 0xf3, 0x5e }, { "divpd", 0x66, 0x5e }, { "divsd", 0xf2, 0x5e },
		{ "maxps", -1, 0x5f }, { "maxss", 0xf3, 0x5f }, { "maxpd", 0x66, 0x5f }, { "maxsd", 0xf2, 0x5f },
		{ "cvtps2pd", -1, 0x5a }, { "cvtpd2ps", 0x66, 0x5a }, { "cvtss2sd", 0xf3, 0x5a }, { "cvtsd2ss", 0xf2, 0x5a },
		{ "cvtdq2ps", -1, 0x5b }, { "cvtps2dq", 0x66, 0x5b }, { "cvttps2dq", 0xf3, 0x5b },
		{ "cvttpd2dq", 0x66, 0xe6 }, { "cvtdq2pd", 0xf3, 0xe6 }, { "cvtpd2dq", 0xf2, 0xe6 },
		{ "andps", -1, 0x54 }, { "andnps", -1, 0x55 }, { "orps", -1, 0x56 }, { "xorps", -1, 0x57 },
		{ "andpd", 0x66, 0x54 }, { "andnpd", 0x66, 0x55 }, { "orpd", 0x66, 0x56 }, { "xorpd", 0x66, 0x57 },
		{ "unpcklps", -1, 0x14 }, { "unpckhps", -1, 0x15 }, { "unpcklpd", 0x66, 0x14 }, { "unpckhpd", 0x66, 0x15 },
		{ "movups", -1, 0x10 }, { "movupd", 0x66, 0x10 }, { "movss", 0xf3, 0x10 }, { "movsd", 0xf2, 0x10 },
		{ "movaps", -1, 0x28 }, { "movapd", 0x66, 0x28 },
		{ "movdqa", 0x66, 0x6f }, { "movdqu", 0xf3, 0x6f }, { "movq xmm", 0xf3, 0x7e },
	};
	static const struct fpop store[] = {
		{ "movups st", -1, 0x11 }, { "movupd st", 0x66, 0x11 }, { "movss st", 0xf3, 0x11 },
		{ "movsd st", 0xf2, 0x11 }, { "movaps st", -1, 0x29 }, { "movapd st", 0x66, 0x29 },
		{ "movdqa st", 0x66, 0x7f }, { "movdqu st", 0xf3, 0x7f }, { "movq st", 0x66, 0xd6 },
	};
	static const struct fpop memonly[] = {
		{ "movlps", -1, 0x12 }, { "movlps st", -1, 0x13 }, { "movlpd", 0x66, 0x12 }, { "movlpd st", 0x66, 0x13 },
		{ "movhps", -1, 0x16 }, { "movhps st", -1, 0x17 }, { "movhpd", 0x66, 0x16 }, { "movhpd st", 0x66, 0x17 },
		{ "movntps", -1, 0x2b }, { "movntpd", 0x66, 0x2b }, { "movntdq", 0x66, 0xe7 },
	};
	static const uint8_t pint[] = {
		0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76,
		0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
		0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
		0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
	};
	static const uint8_t shimm[] = { 0, 1, 7, 8, 15, 16, 31, 33, 63, 64, 200 };
	char mn[32];

	for (unsigned i = 0; i < sizeof(fp) / sizeof(fp[0]); i++) {
		add3(set, fp[i].mn, fp[i].pfx, fp[i].op, NOIMM, G_MXCSR, FEAT_SSE2);
		/* unmasked exceptions: #XM natively */
		add(set, fp[i].mn, fp[i].pfx, fp[i].op, 4, 5, false, NOIMM, G_MXCSR | G_UNMASK, FEAT_SSE2);
	}
	/* misaligned operand of an aligned form: #GP */
	{
		struct oracle_form t = FORM("movaps xmm0, [rbx+8] (misaligned)", "0f 28 43 08",
					    .opt = ORACLE_FPU | ORACLE_MEM, .feature = FEAT_SSE);
		struct oracle_form t2 = FORM("addpd xmm0, [rbx+4] (misaligned)", "66 0f 58 43 04",
					     .opt = ORACLE_FPU | ORACLE_MEM, .feature = FEAT_SSE2);
		struct oracle_form t3 = FORM("movups xmm0, [rbx+7]", "0f 10 43 07",
					     .opt = ORACLE_FPU | ORACLE_MEM, .feature = FEAT_SSE);
		oracle_add(set, &t);
		oracle_add(set, &t2);
		oracle_add(set, &t3);
	}
	for (unsigned i = 0; i < sizeof(store) / sizeof(store[0]); i++) {
		add(set, store[i].mn, store[i].pfx, store[i].op, 1, 2, false, NOIMM, 0, FEAT_SSE2);
		add(set, store[i].mn, store[i].pfx, store[i].op, 10, MEM, false, NOIMM, 0, FEAT_SSE2);
	}
	for (unsigned i = 0; i < sizeof(memonly) / sizeof(memonly[0]); i++)
		add(set, memonly[i].mn, memonly[i].pfx, memonly[i].op, 5, MEM, false, NOIMM, 0, FEAT_SSE2);
	add(set, "movhlps", -1, 0x12, 1, 2, false, NOIMM, 0, FEAT_SSE);
	add(set, "movlhps", -1, 0x16, 1, 2, false, NOIMM, 0, FEAT_SSE);
	for (int p = 0; p < 8; p++) {
		add3(set, "cmpps", -1, 0xc2, p, G_MXCSR, FEAT_SSE);
		add3(set, "cmpss", 0xf3, 0xc2, p, G_MXCSR, FEAT_SSE);
		add3(set, "cmppd", 0x66, 0xc2, p, G_MXCSR, FEAT_SSE2);
		add3(set, "cmpsd", 0xf2, 0xc2, p, G_MXCSR, FEAT_SSE2);
	}
	add3(set, "ucomiss", -1, 0x2e, NOIMM, G_MXCSR, FEAT_SSE);
	add3(set, "comiss", -1, 0x2f, NOIMM, G_MXCSR, FEAT_SSE);
	add3(set, "ucomisd", 0x66, 0x2e, NOIMM, G_MXCSR, FEAT_SSE2);
	add3(set, "comisd", 0x66, 0x2f, NOIMM, G_MXCSR, FEAT_SSE2);
	add(set, "comisd", 0x66, 0x2f, 1, 2, false, NOIMM, G_MXCSR | G_UNMASK, FEAT_SSE2);
	for (int imm = 0; imm < 256; imm += 0x4b) {
		add3(set, "shufps", -1, 0xc6, imm, 0, FEAT_SSE);
		add3(set, "shufpd", 0x66, 0xc6, imm & 3, 0, FEAT_SSE2);
		add3(set, "pshufd", 0x66, 0x70, imm, 0, FEAT_SSE2);
		add3(set, "pshufhw", 0xf3, 0x70, imm, 0, FEAT_SSE2);
		add3(set, "pshuflw", 0xf2, 0x70, imm, 0, FEAT_SSE2);
		add(set, "pshufw", -1, 0x70, 1, 2, false, imm, G_MMX, FEAT_SSE);
		add(set, "pshufw", -1, 0x70, 1, MEM, false, imm, G_MMX, FEAT_SSE);
	}
	/* conversions with general registers and MMX */
	for (int w = 0; w < 2; w++) {
		add(set, "cvtsi2ss", 0xf3, 0x2a, 1, RCX, w, NOIMM, G_MXCSR, FEAT_SSE);
		add(set, "cvtsi2sd", 0xf2, 0x2a, 9, RDX, w, NOIMM, G_MXCSR, FEAT_SSE2);
		add(set, "cvtsi2ss", 0xf3, 0x2a, 1, MEM, w, NOIMM, G_MXCSR, FEAT_SSE);
		add(set, "cvtss2si", 0xf3, 0x2d, RCX, 2, w, NOIMM, G_MXCSR, FEAT_SSE);
		add(set, "cvttss2si", 0xf3, 0x2c, R9, 2, w, NOIMM, G_MXCSR, FEAT_SSE);
		add(set, "cvtsd2si", 0xf2, 0x2d, RCX, 2, w, NOIMM, G_MXCSR, FEAT_SSE2);
		add(set, "cvttsd2si", 0xf2, 0x2c, RAX, 10, w, NOIMM, G_MXCSR, FEAT_SSE2);
		add(set, "cvtsd2si", 0xf2, 0x2d, RCX, MEM, w, NOIMM, G_MXCSR | G_MEMFP, FEAT_SSE2);
		add(set, "movd xmm, r", 0x66, 0x6e, 3, RSI, w, NOIMM, 0, FEAT_SSE2);
		add(set, "movd xmm, m", 0x66, 0x6e, 3, MEM, w, NOIMM, 0, FEAT_SSE2);
		add(set, "movd r, xmm", 0x66, 0x7e, 3, RSI, w, NOIMM, 0, FEAT_SSE2);
		add(set, "movd m, xmm", 0x66, 0x7e, 3, MEM, w, NOIMM, 0, FEAT_SSE2);
		add(set, "movd mm, r", -1, 0x6e, 3, RSI, w, NOIMM, G_MMX, FEAT_NONE);
		add(set, "movd r, mm", -1, 0x7e, 3, RDI, w, NOIMM, G_MMX, FEAT_NONE);
		add(set, "movd m, mm", -1, 0x7e, 3, MEM, w, NOIMM, G_MMX, FEAT_NONE);
		add(set, "movmskps", -1, 0x50, RDX, 3, w, NOIMM, 0, FEAT_SSE);
		add(set, "movmskpd", 0x66, 0x50, RDX, 3, w, NOIMM, 0, FEAT_SSE2);
		add(set, "pmovmskb", 0x66, 0xd7, RDX, 3, w, NOIMM, 0, FEAT_SSE2);
		add(set, "pextrw", 0x66, 0xc5, RDX, 3, w, 5, 0, FEAT_SSE2);
	}
	add(set, "cvtpi2ps", -1, 0x2a, 1, 2, false, NOIMM, G_MXCSR | G_MMX, FEAT_SSE);
	add(set, "cvtpi2ps", -1, 0x2a, 1, MEM, false, NOIMM, G_MXCSR | G_MMX, FEAT_SSE);
	add(set, "cvtpi2pd", 0x66, 0x2a, 1, 2, false, NOIMM, G_MXCSR | G_MMX, FEAT_SSE2);
	add(set, "cvtps2pi", -1, 0x2d, 1, 2, false, NOIMM, G_MXCSR | G_MMX, FEAT_SSE);
	add(set, "cvttps2pi", -1, 0x2c, 1, 2, false, NOIMM, G_MXCSR | G_MMX, FEAT_SSE);
	add(set, "cvtpd2pi", 0x66, 0x2d, 1, 2, false, NOIMM, G_MXCSR | G_MMX, FEAT_SSE2);
	add(set, "cvttpd2pi", 0x66, 0x2c, 1, MEM, false, NOIMM, G_MXCSR | G_MMX | G_MEMFP, FEAT_SSE2);
	add(set, "movq2dq", 0xf3, 0xd6, 1, 2, false, NOIMM, G_MMX, FEAT_SSE2);
	add(set, "movdq2q", 0xf2, 0xd6, 1, 2, false, NOIMM, G_MMX, FEAT_SSE2);
	add(set, "movq mm, mm", -1, 0x6f, 1, 2, false, NOIMM, G_MMX, FEAT_NONE);
	add(set, "movq mm, m", -1, 0x6f, 1, MEM, false, NOIMM, G_MMX, FEAT_NONE);
	add(set, "movq m, mm", -1, 0x7f, 1, MEM, false, NOIMM, G_MMX, FEAT_NONE);
	add(set, "movntq", -1, 0xe7, 1, MEM, false, NOIMM, G_MMX, FEAT_SSE);
	add(set, "movnti", -1, 0xc3, RCX, MEM, false, NOIMM, 0, FEAT_SSE2);
	add(set, "movnti", -1, 0xc3, RCX, MEM, true, NOIMM, 0, FEAT_SSE2);
	{
		struct oracle_form t = FORM("emms", "0f 77", .opt = ORACLE_FPU, .arg = G_MMX, .gen = gen_sse);
		oracle_add(set, &t);
	}
	/* packed integers: SSE2 and MMX */
	for (unsigned i = 0; i < sizeof(pint); i++) {
		snprintf(mn, sizeof(mn), "pint %02x", pint[i]);
		add3(set, mn, 0x66, pint[i], NOIMM, 0, FEAT_SSE2);
		add(set, mn, -1, pint[i], 2, 5, false, NOIMM, G_MMX, FEAT_SSE2);
		add(set, mn, -1, pint[i], 2, MEM, false, NOIMM, G_MMX, FEAT_SSE2);
	}
	add3(set, "punpcklqdq", 0x66, 0x6c, NOIMM, 0, FEAT_SSE2);
	add3(set, "punpckhqdq", 0x66, 0x6d, NOIMM, 0, FEAT_SSE2);
	for (unsigned i = 0; i < sizeof(shimm); i++) {
		static const uint8_t grp[][2] = { { 0x71, 2 }, { 0x71, 4 }, { 0x71, 6 }, { 0x72, 2 }, { 0x72, 4 },
						  { 0x72, 6 }, { 0x73, 2 }, { 0x73, 3 }, { 0x73, 6 }, { 0x73, 7 } };
		for (unsigned g = 0; g < sizeof(grp) / sizeof(grp[0]); g++) {
			snprintf(mn, sizeof(mn), "pshift %02x/%u", grp[g][0], grp[g][1]);
			add(set, mn, 0x66, grp[g][0], grp[g][1], 11, false, shimm[i], 0, FEAT_SSE2);
			if (grp[g][1] != 3 && grp[g][1] != 7)
				add(set, mn, -1, grp[g][0], grp[g][1], 3, false, shimm[i], G_MMX, FEAT_NONE);
		}
	}
	add(set, "pinsrw", 0x66, 0xc4, 3, RAX, false, 6, 0, FEAT_SSE2);
	add(set, "pinsrw", 0x66, 0xc4, 3, MEM, false, 2, 0, FEAT_SSE2);
	add(set, "pinsrw mm", -1, 0xc4, 3, RAX, false, 6, G_MMX, FEAT_SSE);
	add(set, "pextrw mm", -1, 0xc5, RAX, 3, false, 3, G_MMX, FEAT_SSE);
	add(set, "pmovmskb mm", -1, 0xd7, RAX, 3, false, NOIMM, G_MMX, FEAT_SSE);
	add(set, "maskmovdqu", 0x66, 0xf7, 1, 2, false, NOIMM, G_RDI, FEAT_SSE2);
	add(set, "maskmovq", -1, 0xf7, 1, 2, false, NOIMM, G_RDI | G_MMX, FEAT_SSE);
	/* 0F AE */
	add(set, "ldmxcsr", -1, 0xae, 2, MEM, false, NOIMM, G_MXMEM, FEAT_SSE);
	add(set, "stmxcsr", -1, 0xae, 3, MEM, false, NOIMM, G_MXCSR, FEAT_SSE);
	{
		/* MXCSR_MASK (offset 28) differs by host vendor (AMD sets MM, bit 17): overwrite it */
		struct oracle_form t = FORM("fxsave64 [rbx+0x10]; mov dword [rbx+0x2c], 0",
					    "48 0f ae 43 10 c7 43 2c 00 00 00 00",
					    .opt = ORACLE_FPU | ORACLE_MEM, .arg = G_MMX | G_MXCSR, .gen = gen_sse);
		struct oracle_form t2 = FORM("fxsave [rbx+0x10]; mov dword [rbx+0x2c], 0",
					     "0f ae 43 10 c7 43 2c 00 00 00 00",
					     .opt = ORACLE_FPU | ORACLE_MEM, .arg = G_MMX, .gen = gen_sse);
		oracle_add(set, &t);
		oracle_add(set, &t2);
	}
	add(set, "fxrstor64", -1, 0xae, 1, MEM, true, NOIMM, G_FXIMG, FEAT_NONE);
	add(set, "lfence", -1, 0xae, 5, 0, false, NOIMM, 0, FEAT_SSE2);
	add(set, "mfence", -1, 0xae, 6, 0, false, NOIMM, 0, FEAT_SSE2);
	add(set, "sfence", -1, 0xae, 7, 0, false, NOIMM, 0, FEAT_SSE);
	add(set, "clflush", -1, 0xae, 7, MEM, false, NOIMM, 0, FEAT_SSE2);
}

/* Oracle forms for the x87 FPU (D8-DF, 9B): stack, arithmetic, compares, loads/stores, control. */
#include <stdio.h>
#include <string.h>

#include "oracle.h"

#define MEMOFF 0x90		/* [rbx+0x10] */

/* form.arg: bits 0-3 stack depth (15: random 0-8), then options */
#define X_DEPTH(n) (n)
#define X_RANDDEPTH 15u
#define X_CW      (1u << 4)	/* random precision and rounding control */
#define X_UNMASK  (1u << 5)	/* random exception masks */
#define X_PENDING (1u << 6)	/* sometimes an unmasked exception already pending (ES set) */
#define X_M32     (1u << 7)	/* memory operand kinds at [rbx+0x10] */
#define X_M64     (1u << 8)
#define X_M80     (1u << 9)
#define X_I16     (1u << 10)
#define X_I32     (1u << 11)
#define X_I64     (1u << 12)
#define X_BCD     (1u << 13)
#define X_CWMEM   (1u << 14)	/* a control word in memory (FLDCW) */

#define U_ARITH 0x4500u		/* C0 C2 C3 undefined */
#define U_ALL   0x4700u		/* C0-C3 undefined */
#define U_TRIG  0x4100u		/* C0 C3 undefined */

static void rand80(struct oracle_rng *r, uint8_t out[10])
{
	switch (oracle_rand_below(r, 8)) {
	case 0: {	/* raw bits: unnormals, pseudo-NaNs, denormals */
		uint64_t m = oracle_rand(r);
		uint16_t e = (uint16_t)oracle_rand(r);
		memcpy(out, &m, 8);
		memcpy(out + 8, &e, 2);
		return;
	}
	case 1: {	/* random normal extended value near 1 */
		uint64_t m = oracle_rand(r) | (1ull << 63);
		uint16_t e = (uint16_t)(0x3fff - 40 + oracle_rand_below(r, 80)) | (uint16_t)(oracle_rand(r) & 0x8000);
		memcpy(out, &m, 8);
		memcpy(out + 8, &e, 2);
		return;
	}
	default: {
		long double v = oracle_rand_double(r);
		memcpy(out, &v, 10);
		return;
	}
	}
}

static void gen_x87(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	unsigned n = f->arg & 15, top, i;
	uint16_t fcw = 0x037f, fsw;
	uint8_t *m = c->win + MEMOFF;

	if (n == X_RANDDEPTH)
		n = (unsigned)oracle_rand_below(r, 9);
	top = (8 - n) & 7;
	c->fx[4] = 0;
	for (i = 0; i < 8; i++) {
		memset(c->fx + 32 + 16 * i, 0, 16);
		if (i < n) {
			rand80(r, c->fx + 32 + 16 * i);
			c->fx[4] |= (uint8_t)(1u << ((top + i) & 7));
		}
	}
	if (f->arg & X_CW)
		fcw = (uint16_t)(0x007f | (oracle_rand(r) & 0x0f00));
	if ((f->arg & X_UNMASK) && oracle_rand_below(r, 2))
		fcw &= (uint16_t)~(oracle_rand(r) & 0x3f);
	fsw = (uint16_t)(top << 11);
	if ((f->arg & X_PENDING) && oracle_rand_below(r, 2)) {
		fcw &= (uint16_t)~1u;
		fsw |= 0x8081;	/* IE flagged and unmasked: ES, B */
	}
	memcpy(c->fx, &fcw, 2);
	memcpy(c->fx + 2, &fsw, 2);

	if (f->arg & X_M32) {
		float v = oracle_rand_float(r);
		memcpy(m, &v, 4);
	}
	if (f->arg & X_M64) {
		double v = oracle_rand_double(r);
		memcpy(m, &v, 8);
	}
	if (f->arg & X_M80)
		rand80(r, m);
	if (f->arg & (X_I16 | X_I32 | X_I64)) {
		uint64_t v = oracle_rand_edge(r);
		memcpy(m, &v, 8);
	}
	if (f->arg & X_BCD) {
		for (i = 0; i < 9; i++)
			m[i] = (uint8_t)(oracle_rand_below(r, 10) << 4 | oracle_rand_below(r, 10));
		m[9] = (uint8_t)(oracle_rand(r) & 0x80);
	}
	if (f->arg & X_CWMEM) {
		uint16_t v = (uint16_t)oracle_rand(r);
		memcpy(m, &v, 2);
	}
}

static void add(struct oracle_set *set, const char *name, const char *hex, uint32_t arg, uint16_t undef, bool mem)
{
	struct oracle_form t = { .opt = ORACLE_FPU | (mem ? ORACLE_MEM : 0), .arg = arg,
				 .gen = gen_x87, .fsw_undef = undef };

	oracle_addf(set, &t, hex, "%s", name);
}

/* A register form "op ModRM" with ST(i) for a few i, at several stack depths. */
static void add_reg(struct oracle_set *set, const char *mn, unsigned op, unsigned modrm_base,
		    uint32_t arg, uint16_t undef)
{
	static const unsigned idx[] = { 0, 1, 3, 7 };
	char hex[16], name[64];

	for (unsigned k = 0; k < 4; k++) {
		unsigned i = idx[k];
		snprintf(hex, sizeof(hex), "%02x %02x", op, modrm_base + i);
		snprintf(name, sizeof(name), "%s st%u", mn, i);
		add(set, name, hex, arg | X_DEPTH(8 - (i == 7 ? 0 : 1)), undef, false);	/* deep stack */
		snprintf(name, sizeof(name), "%s st%u (random depth)", mn, i);
		add(set, name, hex, arg | X_RANDDEPTH, undef, false);
	}
}

void oracle_forms_fpu(struct oracle_set *set)
{
	static const char *const arith[8] = { "fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr" };
	static const char *const arith_dc[8] = { "fadd to", "fmul to", "fcom2", "fcomp3", "fsubr to", "fsub to",
						 "fdivr to", "fdiv to" };
	static const struct { unsigned op; const char *mn; uint32_t kind; } memar[] = {
		{ 0xd8, "m32fp", X_M32 }, { 0xdc, "m64fp", X_M64 }, { 0xda, "m32int", X_I32 }, { 0xde, "m16int", X_I16 },
	};
	static const struct { uint8_t b; const char *mn; uint16_t undef; unsigned depth; } d9[] = {
		{ 0xe0, "fchs", U_ARITH, 1 }, { 0xe1, "fabs", U_ARITH, 1 }, { 0xe4, "ftst", 0, 1 },
		{ 0xe5, "fxam", 0, 1 }, { 0xe8, "fld1", U_ARITH, 2 }, { 0xe9, "fldl2t", U_ARITH, 2 },
		{ 0xea, "fldl2e", U_ARITH, 2 }, { 0xeb, "fldpi", U_ARITH, 2 }, { 0xec, "fldlg2", U_ARITH, 2 },
		{ 0xed, "fldln2", U_ARITH, 2 }, { 0xee, "fldz", U_ARITH, 2 }, { 0xf0, "f2xm1", U_ARITH, 1 },
		{ 0xf1, "fyl2x", U_ARITH, 2 }, { 0xf2, "fptan", U_TRIG, 1 }, { 0xf3, "fpatan", U_ARITH, 2 },
		{ 0xf4, "fxtract", U_ARITH, 1 }, { 0xf5, "fprem1", 0, 2 }, { 0xf6, "fdecstp", U_ARITH, 2 },
		{ 0xf7, "fincstp", U_ARITH, 2 }, { 0xf8, "fprem", 0, 2 }, { 0xf9, "fyl2xp1", U_ARITH, 2 },
		{ 0xfa, "fsqrt", U_ARITH, 1 }, { 0xfb, "fsincos", U_TRIG, 1 }, { 0xfc, "frndint", U_ARITH, 1 },
		{ 0xfd, "fscale", U_ARITH, 2 }, { 0xfe, "fsin", U_TRIG, 1 }, { 0xff, "fcos", U_TRIG, 1 },
		{ 0xd0, "fnop", U_ALL, 2 },
	};
	static const struct { const char *mn; const char *hex; uint32_t arg; uint16_t undef; } memf[] = {
		{ "fld m32", "d9 43 10", X_M32, U_ARITH }, { "fst m32", "d9 53 10", 0, U_ARITH },
		{ "fstp m32", "d9 5b 10", 0, U_ARITH }, { "fld m64", "dd 43 10", X_M64, U_ARITH },
		{ "fst m64", "dd 53 10", 0, U_ARITH }, { "fstp m64", "dd 5b 10", 0, U_ARITH },
		{ "fld m80", "db 6b 10", X_M80, U_ARITH }, { "fstp m80", "db 7b 10", 0, U_ARITH },
		{ "fild m16", "df 43 10", X_I16, U_ARITH }, { "fild m32", "db 43 10", X_I32, U_ARITH },
		{ "fild m64", "df 6b 10", X_I64, U_ARITH }, { "fist m16", "df 53 10", 0, U_ARITH },
		{ "fistp m16", "df 5b 10", 0, U_ARITH }, { "fist m32", "db 53 10", 0, U_ARITH },
		{ "fistp m32", "db 5b 10", 0, U_ARITH }, { "fistp m64", "df 7b 10", 0, U_ARITH },
		{ "fbld", "df 63 10", X_BCD, U_ARITH }, { "fbstp", "df 73 10", 0, U_ARITH },
		{ "fldcw", "d9 6b 10", X_CWMEM, U_ALL }, { "fnstcw", "d9 7b 10", 0, U_ALL },
		{ "fnstsw m16", "dd 7b 10", 0, U_ALL }, { "fnstenv", "d9 73 10", 0, U_ALL },
		{ "fnstenv16", "66 d9 73 10", 0, U_ALL }, { "fnsave", "dd 73 10", 0, U_ALL },
		{ "fnsave16", "66 dd 73 10", 0, U_ALL },
	};
	char hex[16], name[64];

	for (unsigned r = 0; r < 8; r++) {
		uint16_t u = (r == 2 || r == 3) ? 0 : U_ARITH;

		snprintf(name, sizeof(name), "%s st0, sti", arith[r]);
		add_reg(set, name, 0xd8, 0xc0 + 8 * r, X_CW | X_UNMASK, u);
		snprintf(name, sizeof(name), "%s sti, st0 (dc)", arith_dc[r]);
		add_reg(set, name, 0xdc, 0xc0 + 8 * r, X_CW | X_UNMASK, u);
		if (r != 2 && r != 3) {
			snprintf(name, sizeof(name), "%sp sti, st0 (de)", arith_dc[r]);
			add_reg(set, name, 0xde, 0xc0 + 8 * r, X_CW | X_UNMASK, u);
		}
		for (unsigned k = 0; k < 4; k++) {
			snprintf(hex, sizeof(hex), "%02x %02x 10", memar[k].op, 0x43 + 8 * r);
			snprintf(name, sizeof(name), "%s %s", arith[r], memar[k].mn);
			add(set, name, hex, X_DEPTH(2) | X_CW | X_UNMASK | memar[k].kind, u, true);
			snprintf(name, sizeof(name), "%s %s (random depth)", arith[r], memar[k].mn);
			add(set, name, hex, X_RANDDEPTH | memar[k].kind, u, true);
		}
	}
	add(set, "fcompp", "de d9", X_RANDDEPTH | X_UNMASK, 0, false);
	add(set, "fucompp", "da e9", X_RANDDEPTH | X_UNMASK, 0, false);
	add_reg(set, "fucom", 0xdd, 0xe0, X_UNMASK, 0);
	add_reg(set, "fucomp", 0xdd, 0xe8, X_UNMASK, 0);
	add_reg(set, "fcomi", 0xdb, 0xf0, X_UNMASK, U_ARITH);
	add_reg(set, "fucomi", 0xdb, 0xe8, X_UNMASK, U_ARITH);
	add_reg(set, "fcomip", 0xdf, 0xf0, X_UNMASK, U_ARITH);
	add_reg(set, "fucomip", 0xdf, 0xe8, X_UNMASK, U_ARITH);
	add_reg(set, "fld", 0xd9, 0xc0, 0, U_ARITH);
	add_reg(set, "fxch", 0xd9, 0xc8, X_UNMASK, U_ARITH);
	add_reg(set, "fst", 0xdd, 0xd0, 0, U_ARITH);
	add_reg(set, "fstp", 0xdd, 0xd8, 0, U_ARITH);
	add_reg(set, "ffree", 0xdd, 0xc0, 0, U_ALL);
	for (unsigned cc = 0; cc < 4; cc++) {
		snprintf(name, sizeof(name), "fcmov%u", cc);
		add_reg(set, name, 0xda, 0xc0 + 8 * cc, 0, U_ARITH);
		snprintf(name, sizeof(name), "fcmovn%u", cc);
		add_reg(set, name, 0xdb, 0xc0 + 8 * cc, 0, U_ARITH);
	}
	for (unsigned k = 0; k < sizeof(d9) / sizeof(d9[0]); k++) {
		snprintf(hex, sizeof(hex), "d9 %02x", d9[k].b);
		add(set, d9[k].mn, hex, X_DEPTH(d9[k].depth) | X_CW | X_UNMASK, d9[k].undef, false);
		snprintf(name, sizeof(name), "%s (random depth)", d9[k].mn);
		add(set, name, hex, X_RANDDEPTH | X_CW, d9[k].undef, false);
		snprintf(name, sizeof(name), "%s (pending)", d9[k].mn);
		add(set, name, hex, X_DEPTH(d9[k].depth) | X_PENDING, d9[k].undef, false);
	}
	for (unsigned k = 0; k < sizeof(memf) / sizeof(memf[0]); k++) {
		add(set, memf[k].mn, memf[k].hex, X_DEPTH(2) | X_CW | X_UNMASK | memf[k].arg, memf[k].undef, true);
		snprintf(name, sizeof(name), "%s (random depth)", memf[k].mn);
		add(set, name, memf[k].hex, X_RANDDEPTH | X_CW | memf[k].arg, memf[k].undef, true);
		snprintf(name, sizeof(name), "%s (pending)", memf[k].mn);
		add(set, name, memf[k].hex, X_DEPTH(2) | X_PENDING | memf[k].arg, memf[k].undef, true);
	}
	add(set, "fnstsw ax", "df e0", X_RANDDEPTH | X_PENDING, 0, false);
	add(set, "fnclex", "db e2", X_RANDDEPTH | X_PENDING, U_ALL, false);
	add(set, "fninit", "db e3", X_RANDDEPTH | X_PENDING | X_CW, 0, false);
	add(set, "fwait", "9b", X_RANDDEPTH | X_PENDING, 0, false);
	add(set, "fldenv after fnstenv", "d9 73 10 d9 63 10", X_RANDDEPTH | X_CW, U_ALL, true);
	add(set, "frstor after fnsave", "dd 73 10 d9 e8 dd 63 10", X_RANDDEPTH | X_CW, U_ALL, true);
}

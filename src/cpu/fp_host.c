/* The host floating-point bridge: x87 and SSE arithmetic run on the host FPU for bit-exact results. */
/*
 * Why: the guest's floating point must round, flag and propagate NaNs
 * exactly as an x86 CPU does. The host is x86-64, so the exact and fast way
 * is to execute the same operation on the host's own x87/SSE unit with the
 * guest's control word (precision, rounding) or MXCSR (rounding, DAZ, FTZ)
 * loaded, and to read back which exceptions it raised. The host never traps:
 *
 *  - x87: the guest control word is loaded as is (so unmasked pre-computation
 *    exceptions leave the operands untouched and unmasked overflow/underflow
 *    produce the exponent-adjusted results, as on the guest's CPU), but the
 *    status word is read with FNSTSW and cleared with FNCLEX before any
 *    waiting instruction could raise #MF on the host. The host stack is
 *    reset with FNINIT around each operation and the host control word restored.
 *  - SSE: the guest MXCSR is loaded with all exceptions masked; callers turn
 *    the returned flags into #XM/#UD themselves.
 *
 * This ties the soft CPU to x86 hosts (accepted for now). Everything that
 * depends on it is in this file, behind fpu_priv.h: a portable softfloat
 * implementation can replace it without touching the instruction handlers.
 */
#include <stddef.h>
#include <string.h>

#include "cpu/fpu_priv.h"

#if !defined(__x86_64__)
#error "fp_host.c needs an x86-64 host (see the comment above)"
#endif

static const uint16_t fph_masked_cw = 0x037f;

#define X87_ASM(b0, b1)							\
	__asm__ volatile(						\
		"fnstcw %[saved]\n\t"					\
		"fninit\n\t"						\
		"fldcw %c[ocw](%[x])\n\t"				\
		"fldt %c[ost1](%[x])\n\t"				\
		"fldt %c[ost0](%[x])\n\t"				\
		".byte " #b0 ", " #b1 "\n\t"				\
		"fnstsw %c[osw](%[x])\n\t"				\
		"fnclex\n\t"						\
		"fldcw %[masked]\n\t"					\
		"fld %%st(1)\n\t"					\
		"fstpt %c[ost1](%[x])\n\t"				\
		"fstpt %c[ost0](%[x])\n\t"				\
		"fninit\n\t"						\
		"fldcw %[saved]\n\t"					\
		: [saved] "+m"(saved)					\
		: [x] "r"(x), "a"(x->mem), [masked] "m"(fph_masked_cw),\
		  [ocw] "i"(offsetof(struct fph_x87, cw)),		\
		  [osw] "i"(offsetof(struct fph_x87, sw)),		\
		  [ost0] "i"(offsetof(struct fph_x87, st0)),		\
		  [ost1] "i"(offsetof(struct fph_x87, st1))		\
		: "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)",	\
		  "st(5)", "st(6)", "st(7)")

#define X87_CASE(b0, b1) case (((b0) << 8) | (b1)): X87_ASM(b0, b1); return true;
/* The eight /digit memory forms of one opcode, operand at (%rax). */
#define X87_MEM8(b0)							\
	X87_CASE(b0, 0x00) X87_CASE(b0, 0x08) X87_CASE(b0, 0x10)	\
	X87_CASE(b0, 0x18) X87_CASE(b0, 0x20) X87_CASE(b0, 0x28)	\
	X87_CASE(b0, 0x30) X87_CASE(b0, 0x38)

bool fph_x87_exec(struct fph_x87 *x, unsigned op)
{
	uint16_t saved = 0;

	switch (op) {
	/* arithmetic and compares with a memory operand */
	X87_MEM8(0xd8)		/* m32fp */
	X87_MEM8(0xda)		/* m32int */
	X87_MEM8(0xdc)		/* m64fp */
	X87_MEM8(0xde)		/* m16int */
	/* loads and stores */
	X87_CASE(0xd9, 0x00)	/* FLD m32fp */
	X87_CASE(0xd9, 0x10)	/* FST m32fp */
	X87_CASE(0xdb, 0x00)	/* FILD m32int */
	X87_CASE(0xdb, 0x10)	/* FIST m32int */
	X87_CASE(0xdd, 0x00)	/* FLD m64fp */
	X87_CASE(0xdd, 0x10)	/* FST m64fp */
	X87_CASE(0xdf, 0x00)	/* FILD m16int */
	X87_CASE(0xdf, 0x10)	/* FIST m16int */
	X87_CASE(0xdf, 0x20)	/* FBLD */
	X87_CASE(0xdf, 0x28)	/* FILD m64int */
	X87_CASE(0xdf, 0x30)	/* FBSTP */
	X87_CASE(0xdf, 0x38)	/* FISTP m64int */
	/* ST(0) op ST(1) -> ST(0) */
	X87_CASE(0xd8, 0xc1) X87_CASE(0xd8, 0xc9) X87_CASE(0xd8, 0xd1)
	X87_CASE(0xd8, 0xe1) X87_CASE(0xd8, 0xe9) X87_CASE(0xd8, 0xf1)
	X87_CASE(0xd8, 0xf9)
	/* ST(1) op ST(0) -> ST(1) */
	X87_CASE(0xdc, 0xc1) X87_CASE(0xdc, 0xc9) X87_CASE(0xdc, 0xe1)
	X87_CASE(0xdc, 0xe9) X87_CASE(0xdc, 0xf1) X87_CASE(0xdc, 0xf9)
	X87_CASE(0xdd, 0xe1)	/* FUCOM ST(1) */
	/* D9 E0-FF: the register-only group */
	X87_CASE(0xd9, 0xe4) X87_CASE(0xd9, 0xe5)
	X87_CASE(0xd9, 0xe8) X87_CASE(0xd9, 0xe9) X87_CASE(0xd9, 0xea)
	X87_CASE(0xd9, 0xeb) X87_CASE(0xd9, 0xec) X87_CASE(0xd9, 0xed)
	X87_CASE(0xd9, 0xee)
	X87_CASE(0xd9, 0xf0) X87_CASE(0xd9, 0xf1) X87_CASE(0xd9, 0xf2)
	X87_CASE(0xd9, 0xf3) X87_CASE(0xd9, 0xf4) X87_CASE(0xd9, 0xf5)
	X87_CASE(0xd9, 0xf8) X87_CASE(0xd9, 0xf9) X87_CASE(0xd9, 0xfa)
	X87_CASE(0xd9, 0xfb) X87_CASE(0xd9, 0xfc) X87_CASE(0xd9, 0xfd)
	X87_CASE(0xd9, 0xfe) X87_CASE(0xd9, 0xff)
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* SSE                                                                  */

#define SSE_ASM(text)							\
	__asm__ volatile(						\
		"stmxcsr %[saved]\n\t"					\
		"ldmxcsr %[g]\n\t"					\
		"movdqu (%[d]), %%xmm0\n\t"				\
		"movdqu (%[s]), %%xmm1\n\t"				\
		text "\n\t"						\
		"movdqu %%xmm0, (%[d])\n\t"				\
		"stmxcsr %[out]\n\t"					\
		"ldmxcsr %[saved]\n\t"					\
		: [saved] "+m"(saved), [out] "=m"(out)			\
		: [g] "m"(g), [d] "r"(dst), [s] "r"(src)		\
		: "memory", "xmm0", "xmm1")

#define SSE_CASE(op, text) case op: SSE_ASM(text " %%xmm1, %%xmm0"); break;
#define SSE_CMP(op, insn, n) case op + n: SSE_ASM(insn " $" #n ", %%xmm1, %%xmm0"); break;
#define SSE_CMP8(op, insn)						\
	SSE_CMP(op, insn, 0) SSE_CMP(op, insn, 1) SSE_CMP(op, insn, 2)	\
	SSE_CMP(op, insn, 3) SSE_CMP(op, insn, 4) SSE_CMP(op, insn, 5)	\
	SSE_CMP(op, insn, 6) SSE_CMP(op, insn, 7)

static unsigned fph_comi(unsigned op, uint8_t dst[16], const uint8_t src[16], uint32_t g)
{
	uint32_t saved = 0, out = 0;
	uint8_t zf, pf, cf;

#define COMI_ASM(text)							\
	__asm__ volatile(						\
		"stmxcsr %[saved]\n\t"					\
		"ldmxcsr %[g]\n\t"					\
		"movdqu (%[d]), %%xmm0\n\t"				\
		"movdqu (%[s]), %%xmm1\n\t"				\
		text " %%xmm1, %%xmm0\n\t"				\
		"setz %[zf]\n\t"					\
		"setp %[pf]\n\t"					\
		"setc %[cf]\n\t"					\
		"stmxcsr %[out]\n\t"					\
		"ldmxcsr %[saved]\n\t"					\
		: [saved] "+m"(saved), [out] "=m"(out),			\
		  [zf] "=q"(zf), [pf] "=q"(pf), [cf] "=q"(cf)		\
		: [g] "m"(g), [d] "r"(dst), [s] "r"(src)		\
		: "memory", "xmm0", "xmm1", "cc")
	switch (op) {
	case FPH_UCOMISS: COMI_ASM("ucomiss"); break;
	case FPH_COMISS: COMI_ASM("comiss"); break;
	case FPH_UCOMISD: COMI_ASM("ucomisd"); break;
	default: COMI_ASM("comisd"); break;
	}
#undef COMI_ASM
	dst[0] = zf;
	dst[1] = pf;
	dst[2] = cf;
	return out & MXCSR_EXC;
}

/*
 * With underflow unmasked, x86 signals UE for every tiny result, exact or
 * not (SDM vol. 1, 11.5.2.4), while the masked run on the host flags only
 * tiny and inexact ones: look for denormal results of the ops that can
 * produce them. Returns UE or 0.
 */
static unsigned fph_tiny(unsigned op, const uint8_t d[16])
{
	unsigned n, size;

	switch (op) {
	case FPH_ADDPS: case FPH_SUBPS: case FPH_MULPS: case FPH_DIVPS: n = 4; size = 4; break;
	case FPH_ADDSS: case FPH_SUBSS: case FPH_MULSS: case FPH_DIVSS: case FPH_CVTSD2SS: n = 1; size = 4; break;
	case FPH_CVTPD2PS: n = 2; size = 4; break;
	case FPH_ADDPD: case FPH_SUBPD: case FPH_MULPD: case FPH_DIVPD: n = 2; size = 8; break;
	case FPH_ADDSD: case FPH_SUBSD: case FPH_MULSD: case FPH_DIVSD: n = 1; size = 8; break;
	default: return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		if (size == 4) {
			uint32_t v;

			memcpy(&v, d + 4 * i, 4);
			if (!(v & 0x7f800000u) && (v & 0x007fffffu))
				return 0x10;
		} else {
			uint64_t v;

			memcpy(&v, d + 8 * i, 8);
			if (!(v & 0x7ff0000000000000ull) && (v & 0x000fffffffffffffull))
				return 0x10;
		}
	}
	return 0;
}

/*
 * PE of one element rounded with an unbounded exponent: what x86 reports
 * with an unmasked overflow or underflow (SDM vol. 1, 4.9.1.5/4.9.1.6),
 * where the masked host run saw the rounding of the denormalized or
 * overflowed result. The x87 unit with precision control 24/53 and its
 * 15-bit exponent computes exactly that. kind: 0 add, 1 sub, 2 mul, 3 div,
 * 4 convert (a only); dbl: operands are doubles; pc: result precision.
 */
static unsigned fph_pe_unbounded(unsigned kind, bool dbl, const void *a, const void *b, unsigned pc, uint32_t mxcsr)
{
	uint16_t cw = (uint16_t)(0x007f | (pc << 8) | (((mxcsr >> 13) & 3) << 10)), saved = 0, sw = 0;
	uint8_t av[8] = { 0 }, bv[8] = { 0 };
	long double one = 1.0L;

	memcpy(av, a, dbl ? 8 : 4);
	memcpy(bv, b, dbl ? 8 : 4);
	if (mxcsr & MXCSR_DAZ) {
		/* denormal inputs count as zeros */
		uint64_t x = 0, y = 0;

		memcpy(&x, av, 8);
		memcpy(&y, bv, 8);
		if (dbl ? !(x & 0x7ff0000000000000ull) : !(x & 0x7f800000u))
			x &= dbl ? 0x8000000000000000ull : 0x80000000u;
		if (dbl ? !(y & 0x7ff0000000000000ull) : !(y & 0x7f800000u))
			y &= dbl ? 0x8000000000000000ull : 0x80000000u;
		memcpy(av, &x, 8);
		memcpy(bv, &y, 8);
	}
#define PE_ASM(ld, op)								__asm__ volatile(								"fnstcw %[saved]\n\t"							"fninit\n\t"								"fldcw %[cw]\n\t"							ld " %[a]\n\t"							op "\n\t"								"fnstsw %[sw]\n\t"							"fninit\n\t"								"fldcw %[saved]\n\t"							: [saved] "+m"(saved), [sw] "=m"(sw)					: [cw] "m"(cw), [a] "m"(av), [b] "m"(bv), [one] "m"(one)\
		: "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)",	\
		  "st(5)", "st(6)", "st(7)")
	if (dbl) {
		switch (kind) {
		case 0: PE_ASM("fldl", "faddl %[b]"); break;
		case 1: PE_ASM("fldl", "fsubl %[b]"); break;
		case 2: PE_ASM("fldl", "fmull %[b]"); break;
		case 3: PE_ASM("fldl", "fdivl %[b]"); break;
		default: PE_ASM("fldl", "fldt %[one]\n\tfmulp"); break;
		}
	} else {
		switch (kind) {
		case 0: PE_ASM("flds", "fadds %[b]"); break;
		case 1: PE_ASM("flds", "fsubs %[b]"); break;
		case 2: PE_ASM("flds", "fmuls %[b]"); break;
		case 3: PE_ASM("flds", "fdivs %[b]"); break;
		default: PE_ASM("flds", "fldt %[one]\n\tfmulp"); break;
		}
	}
#undef PE_ASM
	return sw & 0x20;
}

/* PE over the elements of `op` with an unbounded exponent; -1 if `op` is not one that can overflow/underflow. */
static int fph_pe_op(unsigned op, const uint8_t d[16], const uint8_t s[16], uint32_t mxcsr)
{
	unsigned kind, n, pe = 0;
	bool dbl, cvt = false;

	switch (op) {
	case FPH_ADDPS: case FPH_ADDSS: case FPH_ADDPD: case FPH_ADDSD: kind = 0; break;
	case FPH_SUBPS: case FPH_SUBSS: case FPH_SUBPD: case FPH_SUBSD: kind = 1; break;
	case FPH_MULPS: case FPH_MULSS: case FPH_MULPD: case FPH_MULSD: kind = 2; break;
	case FPH_DIVPS: case FPH_DIVSS: case FPH_DIVPD: case FPH_DIVSD: kind = 3; break;
	case FPH_CVTPD2PS: case FPH_CVTSD2SS: kind = 4; cvt = true; break;
	default: return -1;
	}
	if (cvt) {
		n = op == FPH_CVTPD2PS ? 2 : 1;
		for (unsigned i = 0; i < n; i++)
			pe |= fph_pe_unbounded(4, true, s + 8 * i, s + 8 * i, 0, mxcsr);
		return (int)pe;
	}
	dbl = (op - FPH_ADDPS) % 4 >= 2;
	n = ((op - FPH_ADDPS) % 4 == 0) ? 4 : ((op - FPH_ADDPS) % 4 == 2) ? 2 : 1;
	for (unsigned i = 0; i < n; i++) {
		unsigned k = dbl ? 8 * i : 4 * i;

		pe |= fph_pe_unbounded(kind, dbl, d + k, s + k, dbl ? 2 : 0, mxcsr);
	}
	return (int)pe;
}

unsigned fph_sse_exec(unsigned op, uint8_t dst[16], const uint8_t src[16], uint32_t mxcsr)
{
	uint8_t orig[16];

	uint32_t saved = 0, out = 0;
	/* Guest rounding, DAZ and FTZ; flags cleared so `out` holds this op's; all masked. */
	uint32_t g = (mxcsr & ~MXCSR_EXC) | MXCSR_MASKS;
	bool um_unmasked = !(mxcsr & 0x800);

	if (um_unmasked)
		g &= ~0x8000u;	/* FTZ applies only while underflow is masked */
	memcpy(orig, dst, 16);

	if (op >= FPH_UCOMISS && op <= FPH_COMISD)
		return fph_comi(op, dst, src, g);
	switch (op) {
	SSE_CASE(FPH_ADDPS, "addps") SSE_CASE(FPH_ADDSS, "addss")
	SSE_CASE(FPH_ADDPD, "addpd") SSE_CASE(FPH_ADDSD, "addsd")
	SSE_CASE(FPH_SUBPS, "subps") SSE_CASE(FPH_SUBSS, "subss")
	SSE_CASE(FPH_SUBPD, "subpd") SSE_CASE(FPH_SUBSD, "subsd")
	SSE_CASE(FPH_MULPS, "mulps") SSE_CASE(FPH_MULSS, "mulss")
	SSE_CASE(FPH_MULPD, "mulpd") SSE_CASE(FPH_MULSD, "mulsd")
	SSE_CASE(FPH_DIVPS, "divps") SSE_CASE(FPH_DIVSS, "divss")
	SSE_CASE(FPH_DIVPD, "divpd") SSE_CASE(FPH_DIVSD, "divsd")
	SSE_CASE(FPH_MINPS, "minps") SSE_CASE(FPH_MINSS, "minss")
	SSE_CASE(FPH_MINPD, "minpd") SSE_CASE(FPH_MINSD, "minsd")
	SSE_CASE(FPH_MAXPS, "maxps") SSE_CASE(FPH_MAXSS, "maxss")
	SSE_CASE(FPH_MAXPD, "maxpd") SSE_CASE(FPH_MAXSD, "maxsd")
	SSE_CASE(FPH_SQRTPS, "sqrtps") SSE_CASE(FPH_SQRTSS, "sqrtss")
	SSE_CASE(FPH_SQRTPD, "sqrtpd") SSE_CASE(FPH_SQRTSD, "sqrtsd")
	SSE_CASE(FPH_RCPPS, "rcpps") SSE_CASE(FPH_RCPSS, "rcpss")
	SSE_CASE(FPH_RSQRTPS, "rsqrtps") SSE_CASE(FPH_RSQRTSS, "rsqrtss")
	SSE_CASE(FPH_CVTPS2PD, "cvtps2pd") SSE_CASE(FPH_CVTPD2PS, "cvtpd2ps")
	SSE_CASE(FPH_CVTSS2SD, "cvtss2sd") SSE_CASE(FPH_CVTSD2SS, "cvtsd2ss")
	SSE_CASE(FPH_CVTDQ2PS, "cvtdq2ps") SSE_CASE(FPH_CVTPS2DQ, "cvtps2dq")
	SSE_CASE(FPH_CVTTPS2DQ, "cvttps2dq") SSE_CASE(FPH_CVTDQ2PD, "cvtdq2pd")
	SSE_CASE(FPH_CVTPD2DQ, "cvtpd2dq") SSE_CASE(FPH_CVTTPD2DQ, "cvttpd2dq")
	SSE_CMP8(FPH_CMPPS, "cmpps") SSE_CMP8(FPH_CMPSS, "cmpss")
	SSE_CMP8(FPH_CMPPD, "cmppd") SSE_CMP8(FPH_CMPSD, "cmpsd")
	default:
		return 0;
	}
	if (um_unmasked)
		out |= fph_tiny(op, dst);
	/* an unmasked overflow/underflow without an unmasked pre-computation exception: hardware's PE */
	{
		unsigned unmasked = out & ~(mxcsr >> 7) & MXCSR_EXC;

		if ((unmasked & 0x18) && !(unmasked & 0x7)) {
			int pe = fph_pe_op(op, orig, src, mxcsr);

			if (pe >= 0)
				out = (out & ~0x20u) | (unsigned)pe;
		}
	}
	return out & MXCSR_EXC;
}

/*
 * cons: "+r" for an integer source, "=&r" for an integer result: written
 * before the last uses of (%[d]) and the MXCSR slots, it must not share a
 * register with their addresses (clang's ASan build put them in one).
 */
#define CVT_ASM(text, cons)						\
	__asm__ volatile(						\
		"stmxcsr %[saved]\n\t"					\
		"ldmxcsr %[g]\n\t"					\
		"movdqu (%[d]), %%xmm0\n\t"				\
		text "\n\t"						\
		"movdqu %%xmm0, (%[d])\n\t"				\
		"stmxcsr %[out]\n\t"					\
		"ldmxcsr %[saved]\n\t"					\
		: [saved] "+m"(saved), [out] "=m"(out), [r] cons(r)	\
		: [g] "m"(g), [d] "r"(xmm)				\
		: "memory", "xmm0")

unsigned fph_cvt_exec(unsigned op, uint8_t xmm[16], uint64_t *gpr, uint32_t mxcsr)
{
	uint32_t saved = 0, out = 0;
	uint32_t g = (mxcsr & ~MXCSR_EXC) | MXCSR_MASKS;
	uint64_t r = *gpr;

	switch (op) {
	case FPH_CVTSI2SS32: CVT_ASM("cvtsi2ssl %k[r], %%xmm0", "+r"); break;
	case FPH_CVTSI2SS64: CVT_ASM("cvtsi2ssq %q[r], %%xmm0", "+r"); break;
	case FPH_CVTSI2SD32: CVT_ASM("cvtsi2sdl %k[r], %%xmm0", "+r"); break;
	case FPH_CVTSI2SD64: CVT_ASM("cvtsi2sdq %q[r], %%xmm0", "+r"); break;
	case FPH_CVTSS2SI32: CVT_ASM("cvtss2si %%xmm0, %k[r]", "=&r"); r &= 0xffffffffu; break;
	case FPH_CVTSS2SI64: CVT_ASM("cvtss2si %%xmm0, %q[r]", "=&r"); break;
	case FPH_CVTTSS2SI32: CVT_ASM("cvttss2si %%xmm0, %k[r]", "=&r"); r &= 0xffffffffu; break;
	case FPH_CVTTSS2SI64: CVT_ASM("cvttss2si %%xmm0, %q[r]", "=&r"); break;
	case FPH_CVTSD2SI32: CVT_ASM("cvtsd2si %%xmm0, %k[r]", "=&r"); r &= 0xffffffffu; break;
	case FPH_CVTSD2SI64: CVT_ASM("cvtsd2si %%xmm0, %q[r]", "=&r"); break;
	case FPH_CVTTSD2SI32: CVT_ASM("cvttsd2si %%xmm0, %k[r]", "=&r"); r &= 0xffffffffu; break;
	case FPH_CVTTSD2SI64: CVT_ASM("cvttsd2si %%xmm0, %q[r]", "=&r"); break;
	default:
		return 0;
	}
	*gpr = r;
	return out & MXCSR_EXC;
}

/* Private helpers shared by the x87, MMX and SSE files of the soft CPU. */
#ifndef RV_CPU_FPU_PRIV_H
#define RV_CPU_FPU_PRIV_H

#include <string.h>

#include "cpu/cpu.h"

/* FSW bits (Intel SDM vol. 1, 8.1.3) */
#define FSW_IE  0x0001u
#define FSW_DE  0x0002u
#define FSW_ZE  0x0004u
#define FSW_OE  0x0008u
#define FSW_UE  0x0010u
#define FSW_PE  0x0020u
#define FSW_SF  0x0040u
#define FSW_ES  0x0080u
#define FSW_C0  0x0100u
#define FSW_C1  0x0200u
#define FSW_C2  0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3  0x4000u
#define FSW_B   0x8000u
#define FSW_EXC 0x003fu
#define FSW_CC  (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* MXCSR (SDM vol. 1, 10.2.3) */
#define MXCSR_EXC      0x003fu
#define MXCSR_DAZ      0x0040u
#define MXCSR_MASKS    0x1f80u
#define MXCSR_DEFAULT  0x1f80u
/* Bits a guest may set: all of 0-15 (DAZ included, as on every SSE2 CPU since the P4). */
#define MXCSR_MASK_SUPPORTED 0x0000ffffu

/* ------------------------------------------------------------------ */
/* Host floating-point bridge (fp_host.c): the only code that knows the */
/* soft CPU borrows the host's x87 and SSE units for exact results.     */

/*
 * One x87 operation run on the host FPU: ST(0) = st0 and ST(1) = st1 are
 * loaded, the instruction `op` ((first byte << 8) | ModRM byte, memory
 * forms with ModRM.rm = 0 addressing `mem`) runs under control word `cw`,
 * then st0/st1 hold the host ST(0)/ST(1) afterwards and sw its status word
 * (only this instruction's exception flags, TOP relative to 6).
 */
struct fph_x87 {
	uint8_t st0[16];
	uint8_t st1[16];
	uint8_t mem[16];
	uint16_t cw;
	uint16_t sw;
};
/* Returns false if `op` is not a host operation this bridge knows. */
bool fph_x87_exec(struct fph_x87 *x, unsigned op);

/*
 * One SSE/SSE2 floating-point operation on the host: dst = dst OP src
 * (16-byte XMM images) under `mxcsr` with exceptions masked on the host.
 * Returns the exception flags (MXCSR bits 0-5) the operation raised.
 */
enum fph_sse_op {
	FPH_ADDPS, FPH_ADDSS, FPH_ADDPD, FPH_ADDSD,
	FPH_SUBPS, FPH_SUBSS, FPH_SUBPD, FPH_SUBSD,
	FPH_MULPS, FPH_MULSS, FPH_MULPD, FPH_MULSD,
	FPH_DIVPS, FPH_DIVSS, FPH_DIVPD, FPH_DIVSD,
	FPH_MINPS, FPH_MINSS, FPH_MINPD, FPH_MINSD,
	FPH_MAXPS, FPH_MAXSS, FPH_MAXPD, FPH_MAXSD,
	FPH_SQRTPS, FPH_SQRTSS, FPH_SQRTPD, FPH_SQRTSD,
	FPH_RCPPS, FPH_RCPSS, FPH_RSQRTPS, FPH_RSQRTSS,
	FPH_CVTPS2PD, FPH_CVTPD2PS, FPH_CVTSS2SD, FPH_CVTSD2SS,
	FPH_CVTDQ2PS, FPH_CVTPS2DQ, FPH_CVTTPS2DQ,
	FPH_CVTDQ2PD, FPH_CVTPD2DQ, FPH_CVTTPD2DQ,
	FPH_UCOMISS, FPH_COMISS, FPH_UCOMISD, FPH_COMISD,	/* dst[0..3] <- RFLAGS ZF/PF/CF */
	FPH_CMPPS, FPH_CMPSS = FPH_CMPPS + 8, FPH_CMPPD = FPH_CMPSS + 8,
	FPH_CMPSD = FPH_CMPPD + 8,				/* + predicate 0-7 */
	FPH_SSE_NR = FPH_CMPSD + 8
};
unsigned fph_sse_exec(unsigned op, uint8_t dst[16], const uint8_t src[16], uint32_t mxcsr);

/* Conversions between a scalar and a 32/64-bit integer (CVTSI2SS & co.). */
enum fph_cvt_op {
	FPH_CVTSI2SS32, FPH_CVTSI2SS64, FPH_CVTSI2SD32, FPH_CVTSI2SD64,
	FPH_CVTSS2SI32, FPH_CVTSS2SI64, FPH_CVTTSS2SI32, FPH_CVTTSS2SI64,
	FPH_CVTSD2SI32, FPH_CVTSD2SI64, FPH_CVTTSD2SI32, FPH_CVTTSD2SI64,
};
/* For *2SI: reads the scalar in xmm, returns the integer in *gpr. For SI2*: reads *gpr, writes the low element of xmm. */
unsigned fph_cvt_exec(unsigned op, uint8_t xmm[16], uint64_t *gpr, uint32_t mxcsr);

/* ------------------------------------------------------------------ */
/* x87 register stack.                                                 */

static inline unsigned fpu_top(const struct cpu *cpu)
{
	return (cpu->s.fpu.fsw >> 11) & 7;
}
static inline void fpu_set_top(struct cpu *cpu, unsigned top)
{
	cpu->s.fpu.fsw = (uint16_t)((cpu->s.fpu.fsw & ~FSW_TOP) | ((top & 7) << 11));
}
static inline unsigned fpu_phys(const struct cpu *cpu, unsigned i)
{
	return (fpu_top(cpu) + i) & 7;
}
static inline bool fpu_valid(const struct cpu *cpu, unsigned i)
{
	return (cpu->s.fpu.ftw >> fpu_phys(cpu, i)) & 1;
}
static inline uint8_t *fpu_st(struct cpu *cpu, unsigned i)
{
	return cpu->s.fpu.st[fpu_phys(cpu, i)];
}

/* Full two-bit tag of an 80-bit value (SDM vol. 1, 8.1.7): 0 valid, 1 zero, 2 special. */
unsigned fpu_tag_of(const uint8_t v[10]);
/* Full 16-bit tag word from the abridged one and the register contents. */
uint16_t fpu_full_tag(const struct cpu *cpu);

/* ------------------------------------------------------------------ */
/* Device checks (SDM vol. 3, 2.5 CR0.EM/TS/MP and 13.1 OSFXSR).        */

/* x87 instruction: #NM if EM or TS; #MF if `waiting` and an unmasked exception is pending. */
void fpu_check_x87(struct cpu *cpu, bool waiting);
/* MMX instruction: #UD if EM, #NM if TS, #MF if an x87 exception is pending. */
void fpu_check_mmx(struct cpu *cpu);
/* SSE/SSE2 instruction: #UD if EM or !OSFXSR, #NM if TS. */
void fpu_check_sse(struct cpu *cpu);
/* MMX instructions make the whole x87 stack valid with TOP = 0 (SDM vol. 1, 9.5.1). */
static inline void mmx_enter(struct cpu *cpu)
{
	cpu->s.fpu.fsw &= (uint16_t)~FSW_TOP;
	cpu->s.fpu.ftw = 0xff;
}
/* Writing MMi sets the exponent field of physical register i to all ones. */
static inline void mmx_set(struct cpu *cpu, unsigned i, uint64_t v)
{
	uint8_t *r = cpu->s.fpu.st[i & 7];
	memcpy(r, &v, 8);
	r[8] = 0xff;
	r[9] = 0xff;
}
static inline uint64_t mmx_get(const struct cpu *cpu, unsigned i)
{
	uint64_t v;
	memcpy(&v, cpu->s.fpu.st[i & 7], 8);
	return v;
}

/* Linear address of an operand, for the alignment checks of aligned forms. */
static inline uint64_t fpu_linear_of(const struct cpu *cpu, int seg, uint64_t off)
{
	return cpu->s.seg[seg].base + off;
}
/* #GP(0) unless the memory operand at off is `align`-byte aligned. */
void fpu_check_align(struct cpu *cpu, int seg, uint64_t off, unsigned align);

/* FXSAVE layout (exec_x87.c); `wide`: the REX.W form with 64-bit FIP/FDP; nxmm XMM registers. */
void fpu_fxsave_to(const struct cpu *cpu, uint8_t *img, bool wide, unsigned nxmm);
/* The reverse; false (nothing loaded) if MXCSR has reserved bits set. */
bool fpu_fxrstor_from(struct cpu *cpu, const uint8_t *img, bool wide, unsigned nxmm);

/* Packed-integer operations shared by MMX (8 bytes) and SSE2 (16 bytes): simd_int.c. */
/* Returns false if (opcode, with imm for the shift groups) is not a packed-integer op. */
bool simd_int_op(unsigned opcode, uint8_t *dst, const uint8_t *src, unsigned len, uint8_t imm);

#endif

/* Oracle forms of the int2 group that forms_arith.c/forms_core.c leave out: LOCK forms, zero-source BSF/BSR, CRC32, XLAT, AH operands, misaligned CMPXCHG16B, hints. */
#include <string.h>

#include "oracle.h"

/* BSF/BSR with a zero source: AMD leaves the destination unchanged (even its upper half). */
static void gen_zero_rsi(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	c->r.gpr[RSI] = oracle_rand_below(r, 4) == 0 ? oracle_rand(r) : 0;
}

/* XLAT: AL indexes a table at RBX inside the window. */
static void gen_xlat(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	c->r.gpr[RBX] = ORACLE_DATA + oracle_rand_below(r, 0x100);
}

/* Bit string offsets within +-0x80 bytes of [rbx+0x10] (stays inside the window). */
static void gen_bitoff(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	c->r.gpr[RCX] = (uint64_t)((int64_t)oracle_rand_below(r, 0x800) - 0x400);
}

/* CMPXCHG16B/8B: make the comparison succeed half of the time. */
static void gen_cx16(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r)
{
	unsigned off = (unsigned)(ORACLE_MEMPTR - ORACLE_DATA) + (f->arg & 0xff);

	if (oracle_rand(r) & 1) {
		memcpy(&c->r.gpr[RAX], c->win + off, 8);
		memcpy(&c->r.gpr[RDX], c->win + off + 8, 8);
		if (f->arg & 0x100) {	/* cmpxchg8b: EDX:EAX */
			uint64_t v;
			memcpy(&v, c->win + off, 8);
			c->r.gpr[RAX] = (uint32_t)v;
			c->r.gpr[RDX] = v >> 32;
		}
	}
}

static const struct oracle_form int2_forms[] = {
	/* LOCK read-modify-write forms on memory */
	FORM("lock not m32", "f0 f7 53 10", .opt = ORACLE_MEM),
	FORM("lock neg m64", "f0 48 f7 5b 10", .opt = ORACLE_MEM),
	FORM("lock neg m8", "f0 f6 5b 10", .opt = ORACLE_MEM),
	FORM("lock bts m32, imm8 0x23", "f0 0f ba 6b 10 23", .opt = ORACLE_MEM),
	FORM("lock btr m64, r64 (bit string)", "f0 48 0f b3 4b 10", .opt = ORACLE_MEM, .gen = gen_bitoff),
	FORM("lock btc m16, r16 (bit string)", "f0 66 0f bb 4b 10", .opt = ORACLE_MEM, .gen = gen_bitoff),
	FORM("bt m32, r32 (bit string, signed)", "0f a3 4b 10", .opt = ORACLE_MEM, .gen = gen_bitoff),
	FORM("lock xadd m8, r8", "f0 0f c0 4b 10", .opt = ORACLE_MEM),
	FORM("lock xadd m16, r16", "f0 66 0f c1 4b 10", .opt = ORACLE_MEM),
	FORM("lock cmpxchg m8, r8", "f0 0f b0 4b 10", .opt = ORACLE_MEM),
	FORM("lock cmpxchg m32, r32", "f0 0f b1 4b 10", .opt = ORACLE_MEM),
	FORM("lock cmpxchg8b m64", "f0 0f c7 4b 10", .opt = ORACLE_MEM, .gen = gen_cx16, .arg = 0x110),
	FORM("cmpxchg16b m128 (aligned)", "48 0f c7 4b 10", .opt = ORACLE_MEM, .feature = FEAT_CX16, .gen = gen_cx16, .arg = 0x10),
	FORM("cmpxchg16b m128 (misaligned: #GP)", "48 0f c7 4b 18", .opt = ORACLE_MEM, .feature = FEAT_CX16),
	FORM("lock not r32 (#UD)", "f0 f7 d1"),
	FORM("lock mul m32 (#UD)", "f0 f7 63 10", .opt = ORACLE_MEM),
	FORM("lock bt m32, imm8 (#UD)", "f0 0f ba 63 10 03", .opt = ORACLE_MEM),

	/* AH..BH operands (no REX) */
	FORM("xadd ah, cl", "0f c0 cc"),
	FORM("cmpxchg bh, dh", "0f b0 f7"),
	FORM("xadd ecx, ecx (same register)", "0f c1 c9"),

	/* BSF/BSR/TZCNT/LZCNT with a zero source */
	FORM("bsf r32, r/m32 (zero source)", "0f bc d6", .gen = gen_zero_rsi, .undef = F_CF | F_OF | F_SF | F_AF | F_PF),
	FORM("bsr r64, r/m64 (zero source)", "48 0f bd d6", .gen = gen_zero_rsi, .undef = F_CF | F_OF | F_SF | F_AF | F_PF),
	FORM("bsf r16, r/m16 (zero source)", "66 0f bc d6", .gen = gen_zero_rsi, .undef = F_CF | F_OF | F_SF | F_AF | F_PF),
	FORM("tzcnt r32, r/m32 (zero source)", "f3 0f bc d6", .gen = gen_zero_rsi, .feature = FEAT_BMI1, .undef = F_OF | F_SF | F_AF | F_PF),
	FORM("lzcnt r64, r/m64 (zero source)", "f3 48 0f bd d6", .gen = gen_zero_rsi, .feature = FEAT_LZCNT, .undef = F_OF | F_SF | F_AF | F_PF),
	FORM("popcnt r16, m16", "66 f3 0f b8 53 10", .opt = ORACLE_MEM, .feature = FEAT_POPCNT),

	/* CRC32 (SSE4.2) shares 0F 38 F0/F1 with MOVBE */
	FORM("crc32 r32, r/m8", "f2 0f 38 f0 c1", .feature = FEAT_SSE42),
	FORM("crc32 r32, r/m16", "66 f2 0f 38 f1 c1", .feature = FEAT_SSE42),
	FORM("crc32 r32, r/m32", "f2 0f 38 f1 c1", .feature = FEAT_SSE42),
	FORM("crc32 r64, r/m64", "f2 48 0f 38 f1 c1", .feature = FEAT_SSE42),
	FORM("crc32 r32, m8", "f2 0f 38 f0 53 10", .opt = ORACLE_MEM, .feature = FEAT_SSE42),
	FORM("movbe r32, r32 (#UD)", "0f 38 f0 c1", .feature = FEAT_MOVBE),
	FORM("bswap r16 (undefined: AMD clears)", "66 0f ca"),

	/* XLAT, prefetch hints, SHLD/SHRD edge counts */
	FORM("xlat", "d7", .gen = gen_xlat),
	FORM("xlat (67: ebx)", "67 d7", .gen = gen_xlat),
	FORM("prefetcht0 m8", "0f 18 4b 10", .opt = ORACLE_MEM),
	FORM("prefetchnta m8", "0f 18 43 10", .opt = ORACLE_MEM),
	FORM("prefetchw m8", "0f 0d 4b 10", .opt = ORACLE_MEM),
	FORM("shld r/m16, r16, 16", "66 0f a4 d0 10", .undef = F_OF | F_AF),
	FORM("shrd r/m16, r16, 20 (undefined result)", "66 0f ac d0 14", .undef = F_ARITH),
	FORM("rcl r/m8, 9", "c0 d0 09", .undef = F_OF),
	FORM("rcr r/m16, 17", "66 c1 d8 11", .undef = F_OF),
	FORM("shl r/m32, 0 (upper half cleared)", "c1 e0 00"),
	FORM("shl m32, 0 (written)", "c1 63 10 00", .opt = ORACLE_MEM),
	/* LOOP with a 32-bit counter (67): ECX only, upper half of RCX cleared */
	FORM("loop (67: ecx) over lea", "67 e2 04 48 8d 49 01"),
	FORM("loopne (67: ecx) over lea", "67 e0 04 48 8d 49 01"),
	FORM_END
};

void oracle_forms_int2(struct oracle_set *set)
{
	oracle_add_table(set, int2_forms);
}

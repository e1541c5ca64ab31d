/* Bit instructions: BT/BTS/BTR/BTC, BSF/BSR/TZCNT/LZCNT, POPCNT, BSWAP, MOVBE and CRC32. */
#include "cpu/exec_int2.h"
#include "cpu/int2_atomic.h"

static uint64_t bswap_sz(uint64_t v, unsigned size)
{
	switch (size) {
	case 2: return __builtin_bswap16((uint16_t)v);
	case 4: return __builtin_bswap32((uint32_t)v);
	default: return __builtin_bswap64(v);
	}
}

/*
 * op: 0 BT, 1 BTS, 2 BTR, 3 BTC. With a register bit offset and a memory
 * operand the offset is signed and selects an operand-sized unit anywhere
 * around the effective address (SDM vol. 2A "BT", bit base addressing).
 * Only CF changes (AMD leaves OF/SF/AF/PF alone, as ZF is architecturally).
 */
static void bt_common(struct cpu *cpu, const struct insn *in, unsigned op, uint64_t off, bool reg_off)
{
	unsigned size = in->opsize, bits = size * 8;
	uint64_t v, mask, res;
	bool cf;

	if (in->mod == 3) {
		mask = 1ull << (off & (bits - 1));
		v = cpu_reg_get(cpu, in->rm, size);
		cf = v & mask;
		if (op) {
			res = op == 1 ? v | mask : op == 2 ? v & ~mask : v ^ mask;
			cpu_reg_set(cpu, in->rm, size, res);
		}
	} else {
		uint64_t ea = insn_ea(cpu, in);
		if (reg_off) {
			int64_t soff = (int64_t)int2_sext(off, size);
			ea += (uint64_t)((soff >> (bits == 16 ? 4 : bits == 32 ? 5 : 6)) * (int64_t)size);
			ea &= size_mask(in->addrsize);
		}
		mask = 1ull << (off & (bits - 1));
		if (op && (in->prefix & PFX_LOCK)) {
			void *p = cpu_rmw_ptr(cpu, in->seg, ea, size);
			if (p) {
				v = atomic_load_sz(p, size);
				do {
					res = op == 1 ? v | mask : op == 2 ? v & ~mask : v ^ mask;
				} while (!atomic_cas_sz(p, size, &v, res));
				int2_flags(cpu, F_CF, (v & mask) ? F_CF : 0);
				return;
			}
		}
		v = cpu_read(cpu, in->seg, ea, size);
		cf = v & mask;
		if (op) {
			res = op == 1 ? v | mask : op == 2 ? v & ~mask : v ^ mask;
			cpu_write(cpu, in->seg, ea, res, size);
		}
	}
	int2_flags(cpu, F_CF, cf ? F_CF : 0);
}

/* 0F A3 BT, 0F AB BTS, 0F B3 BTR, 0F BB BTC (Ev, Gv) */
void int2_bt(struct cpu *cpu, const struct insn *in)
{
	unsigned op = (in->opcode >> 3) & 3;	/* A3->0, AB->1, B3->2, BB->3 */

	bt_common(cpu, in, op, cpu_reg_get(cpu, in->reg, in->opsize), true);
}

/* 0F BA /4-/7 Ev, Ib */
void int2_grp8(struct cpu *cpu, const struct insn *in)
{
	unsigned dg = in->reg & 7;

	if (dg < 4)
		cpu_raise_ud(cpu);
	bt_common(cpu, in, dg - 4, in->imm, false);
}

/*
 * 0F BC BSF / 0F BD BSR; with F3, TZCNT / LZCNT. A zero source leaves the
 * destination unchanged (AMD; not even zero-extended). AMD flags: BSF/BSR
 * clear CF, OF, SF, AF and set PF from the result (1 for a zero source);
 * TZCNT/LZCNT clear SF, AF, PF and leave OF.
 */
void int2_bsf_bsr(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize, bits = size * 8;
	uint64_t src = insn_rm_read(cpu, in) & size_mask(size);
	bool rev = in->opcode == 0xbd;
	unsigned r;

	if (in->sse_pfx == SSE_F3) {
		if (src == 0)
			r = bits;
		else if (rev)
			r = (unsigned)__builtin_clzll(src) - (64 - bits);
		else
			r = (unsigned)__builtin_ctzll(src);
		cpu_reg_set(cpu, in->reg, size, r);
		int2_flags(cpu, F_CF | F_ZF | F_SF | F_AF | F_PF,
			   (src == 0 ? F_CF : 0) | (r == 0 ? F_ZF : 0));
		return;
	}
	if (src == 0) {
		int2_flags_all(cpu, F_ZF | F_PF);
		return;
	}
	r = rev ? 63 - (unsigned)__builtin_clzll(src) : (unsigned)__builtin_ctzll(src);
	cpu_reg_set(cpu, in->reg, size, r);
	int2_flags_all(cpu, parity8(r) ? F_PF : 0);
}

/* F3 0F B8 POPCNT (without F3 the opcode is JMPE, #UD here) */
void int2_popcnt(struct cpu *cpu, const struct insn *in)
{
	uint64_t src;
	unsigned r;

	if (in->sse_pfx != SSE_F3)
		cpu_raise_ud(cpu);
	src = insn_rm_read(cpu, in) & size_mask(in->opsize);
	r = (unsigned)__builtin_popcountll(src);
	cpu_reg_set(cpu, in->reg, in->opsize, r);
	int2_flags_all(cpu, src == 0 ? F_ZF : 0);
}

/* 0F C8+r BSWAP; the 16-bit form is undefined and clears the low word on AMD and Intel. */
void int2_bswap(struct cpu *cpu, const struct insn *in)
{
	unsigned reg = (in->opcode & 7) | ((in->rex & 1) << 3);

	if (in->opsize == 2)
		cpu_reg_set(cpu, reg, 2, 0);
	else
		cpu_reg_set(cpu, reg, in->opsize, bswap_sz(cpu->s.gpr[reg], in->opsize));
}

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as SSE4.2 CRC32 computes it. */
static uint32_t crc32c(uint32_t crc, uint64_t data, unsigned bytes)
{
	for (unsigned i = 0; i < bytes * 8; i++) {
		uint32_t bit = (crc ^ (uint32_t)(data >> i)) & 1;
		crc = (crc >> 1) ^ (bit ? 0x82f63b78u : 0);
	}
	return crc;
}

/*
 * 0F 38 F0/F1: MOVBE Gv,Mv / Mv,Gv (memory only), or with F2 CRC32 Gd,Eb /
 * Gd,Ev (the 66/REX.W operand size sets the source width).
 */
void int2_movbe_crc32(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize;

	if (in->sse_pfx == SSE_F2) {
		unsigned srcsize = in->opcode == 0xf0 ? 1 : size;
		uint64_t src;
		uint32_t crc;

		if (in->mod == 3)
			src = srcsize == 1 ? cpu_reg8_get(cpu, in, in->rm) : cpu_reg_get(cpu, in->rm, srcsize);
		else
			src = cpu_read(cpu, in->seg, insn_ea(cpu, in), srcsize);
		crc = crc32c((uint32_t)cpu->s.gpr[in->reg], src, srcsize);
		cpu_reg_set(cpu, in->reg, size == 8 ? 8 : 4, crc);
		return;
	}
	if (in->mod == 3 || in->sse_pfx == SSE_F3)
		cpu_raise_ud(cpu);
	if (in->opcode == 0xf0)
		cpu_reg_set(cpu, in->reg, size, bswap_sz(cpu_read(cpu, in->seg, insn_ea(cpu, in), size), size));
	else
		cpu_write(cpu, in->seg, insn_ea(cpu, in), bswap_sz(cpu_reg_get(cpu, in->reg, size), size), size);
}

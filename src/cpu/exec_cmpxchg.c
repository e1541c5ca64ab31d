/* CMPXCHG, XADD and group 9 (CMPXCHG8B/16B, RDRAND, RDSEED, RDPID): host atomics under LOCK. */
#include <sys/random.h>

#include "cpu/exec_int2.h"
#include "cpu/int2_atomic.h"

/* 0F B0/B1 CMPXCHG Eb/Ev, Gb/Gv. Flags as CMP accumulator, destination. */
void int2_cmpxchg(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize;
	uint64_t m = size_mask(size);
	uint64_t acc = cpu->s.gpr[RV_RAX] & m;
	uint64_t src = int2_reg_rd(cpu, in, in->reg, size);
	uint64_t dst;

	if (in->mod == 3) {
		dst = int2_reg_rd(cpu, in, in->rm, size);
		/* On failure the register destination is not written (AMD: no zero-extension). */
		if (dst == acc)
			int2_reg_wr(cpu, in, in->rm, size, src);
		else
			cpu_reg_set(cpu, RV_RAX, size, dst);
	} else {
		uint64_t ea = insn_ea(cpu, in);
		void *p = (in->prefix & PFX_LOCK) ? cpu_rmw_ptr(cpu, in->seg, ea, size) : NULL;

		if (p) {
			dst = acc;
			atomic_cas_sz(p, size, &dst, src);
		} else {
			dst = cpu_read(cpu, in->seg, ea, size);
			/* the destination gets a write cycle either way */
			cpu_write(cpu, in->seg, ea, dst == acc ? src : dst, size);
		}
		if (dst != acc)
			cpu_reg_set(cpu, RV_RAX, size, dst);
	}
	cpu_set_lazy(cpu, CC_SUB, size, (acc - dst) & m, acc, dst);
}

/* 0F C0/C1 XADD Eb/Ev, Gb/Gv: the source gets the old destination, the destination the sum. */
void int2_xadd(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize;
	uint64_t m = size_mask(size);
	uint64_t src = int2_reg_rd(cpu, in, in->reg, size);
	uint64_t dst, sum;

	if (in->mod == 3) {
		dst = int2_reg_rd(cpu, in, in->rm, size);
		sum = (dst + src) & m;
		int2_reg_wr(cpu, in, in->reg, size, dst);
		int2_reg_wr(cpu, in, in->rm, size, sum);
	} else {
		uint64_t ea = insn_ea(cpu, in);
		void *p = (in->prefix & PFX_LOCK) ? cpu_rmw_ptr(cpu, in->seg, ea, size) : NULL;

		if (p) {
			dst = atomic_fetch_add_sz(p, size, src) & m;
		} else {
			dst = cpu_read(cpu, in->seg, ea, size);
			cpu_write(cpu, in->seg, ea, (dst + src) & m, size);
		}
		sum = (dst + src) & m;
		int2_reg_wr(cpu, in, in->reg, size, dst);
	}
	cpu_set_lazy(cpu, CC_ADD, size, sum, dst, src);
}

/* CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W): compare rDX:rAX, store rCX:rBX; only ZF changes. */
static void cmpxchg8b16b(struct cpu *cpu, const struct insn *in)
{
	uint64_t ea = insn_ea(cpu, in);
	bool ok;

	if (in->opsize == 8) {
		uint64_t base = (in->seg == RV_FS || in->seg == RV_GS) ? cpu->s.seg[in->seg].base : 0;
		uint64_t lo = cpu->s.gpr[RV_RAX], hi = cpu->s.gpr[RV_RDX];
		void *p;

		if ((base + ea) & 15)
			cpu_raise_gp0(cpu);
		p = cpu_rmw_ptr(cpu, in->seg, ea, 16);
		if (p) {
			ok = atomic_cas16(p, &lo, &hi, cpu->s.gpr[RV_RBX], cpu->s.gpr[RV_RCX]);
		} else {
			uint64_t cur[2], nv[2];

			cpu_read_bytes(cpu, in->seg, ea, cur, 16);
			ok = cur[0] == lo && cur[1] == hi;
			nv[0] = ok ? cpu->s.gpr[RV_RBX] : cur[0];
			nv[1] = ok ? cpu->s.gpr[RV_RCX] : cur[1];
			cpu_write_bytes(cpu, in->seg, ea, nv, 16);
			lo = cur[0];
			hi = cur[1];
		}
		if (!ok) {
			cpu->s.gpr[RV_RAX] = lo;
			cpu->s.gpr[RV_RDX] = hi;
		}
	} else {
		uint64_t cmp = (cpu->s.gpr[RV_RDX] << 32) | (uint32_t)cpu->s.gpr[RV_RAX];
		uint64_t nv = (cpu->s.gpr[RV_RCX] << 32) | (uint32_t)cpu->s.gpr[RV_RBX];
		uint64_t cur;
		void *p = cpu_rmw_ptr(cpu, in->seg, ea, 8);

		if (p) {
			cur = cmp;
			ok = atomic_cas_sz(p, 8, &cur, nv);
		} else {
			cur = cpu_read64(cpu, in->seg, ea);
			ok = cur == cmp;
			cpu_write64(cpu, in->seg, ea, ok ? nv : cur);
		}
		if (!ok) {
			cpu_reg_set(cpu, RV_RAX, 4, (uint32_t)cur);
			cpu_reg_set(cpu, RV_RDX, 4, cur >> 32);
		}
	}
	int2_flags(cpu, F_ZF, ok ? F_ZF : 0);
}

/*
 * RDRAND / RDSEED: host randomness from getrandom(); CF = 1 on success and
 * the other arithmetic flags clear. CPUID should advertise RDRAND
 * (leaf 1 ECX bit 30) and RDSEED (leaf 7 EBX bit 18) for these.
 */
static void rdrand(struct cpu *cpu, const struct insn *in)
{
	uint64_t v = 0;
	bool ok = getrandom(&v, in->opsize, GRND_NONBLOCK) == (ssize_t)in->opsize;

	cpu_reg_set(cpu, in->rm, in->opsize, ok ? v : 0);
	int2_flags_all(cpu, ok ? F_CF : 0);
}

/* 0F C7: /1 CMPXCHG8B/16B (memory), /6 RDRAND, /7 RDSEED or (F3) RDPID (registers). */
void int2_grp9(struct cpu *cpu, const struct insn *in)
{
	unsigned dg = in->reg & 7;

	if (dg == 1 && in->mod != 3) {
		cmpxchg8b16b(cpu, in);
		return;
	}
	if (in->mod == 3 && (dg == 6 || dg == 7) && in->sse_pfx != SSE_F3 && in->sse_pfx != SSE_F2) {
		rdrand(cpu, in);
		return;
	}
	if (in->mod == 3 && dg == 7 && in->sse_pfx == SSE_F3) {
		/* RDPID: TSC_AUX into a 64-bit (long mode) or 32-bit register */
		cpu_reg_set(cpu, in->rm, cpu_64bit(cpu) ? 8 : 4, (uint32_t)cpu->s.tsc_aux);
		return;
	}
	cpu_raise_ud(cpu);
}

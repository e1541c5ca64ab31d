/* LOOP/LOOPcc/JrCXZ, ENTER, LEAVE, PUSHA/POPA, LAHF/SAHF, XLAT, prefetch hints, and the group's helpers. */
#include "cpu/exec_int2.h"

uint64_t int2_reg_rd(struct cpu *cpu, const struct insn *in, unsigned reg, unsigned size)
{
	return size == 1 ? cpu_reg8_get(cpu, in, reg) : cpu_reg_get(cpu, reg, size);
}

void int2_reg_wr(struct cpu *cpu, const struct insn *in, unsigned reg, unsigned size, uint64_t v)
{
	if (size == 1)
		cpu_reg8_set(cpu, in, reg, (uint8_t)v);
	else
		cpu_reg_set(cpu, reg, size, v);
}

uint32_t int2_get_flags(struct cpu *cpu)
{
	return (uint32_t)cpu_get_rflags(cpu) & CPU_ARITH_FLAGS;
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP, E3 JrCXZ: the counter is CX/ECX/RCX by address size. */
void int2_loop(struct cpu *cpu, const struct insn *in)
{
	unsigned asz = in->addrsize;
	uint64_t c = cpu->s.gpr[RV_RCX] & size_mask(asz);
	uint64_t target = cpu->next_rip + in->imm;
	bool taken;

	if (in->opcode == 0xe3) {
		if (c == 0)
			cpu_jump_near(cpu, target, in->opsize);
		return;
	}
	c = (c - 1) & size_mask(asz);
	taken = c != 0;
	if (taken && in->opcode != 0xe2) {
		bool zf = cpu_cond(cpu, 4);
		taken = in->opcode == 0xe1 ? zf : !zf;
	}
	if (taken)
		cpu_jump_near(cpu, target, in->opsize);	/* may fault: RCX not yet written */
	cpu_reg_set(cpu, RV_RCX, asz, c);
}

/* C8 ENTER imm16, imm8 (SDM vol. 2A "ENTER": nesting level mod 32). */
void int2_enter(struct cpu *cpu, const struct insn *in)
{
	unsigned os = in->opsize, ss = cpu->stack_size, level = (unsigned)in->imm2 & 31;
	uint64_t sm = size_mask(ss);
	uint64_t sp = cpu->s.gpr[RV_RSP] & sm, bp = cpu->s.gpr[RV_RBP] & sm, frame;

	sp = (sp - os) & sm;
	cpu_write(cpu, RV_SS, sp, cpu->s.gpr[RV_RBP], os);
	frame = sp;
	if (level > 0) {
		for (unsigned i = 1; i < level; i++) {
			uint64_t v;

			bp = (bp - os) & sm;
			v = cpu_read(cpu, RV_SS, bp, os);
			sp = (sp - os) & sm;
			cpu_write(cpu, RV_SS, sp, v, os);
		}
		sp = (sp - os) & sm;
		cpu_write(cpu, RV_SS, sp, frame, os);
	}
	sp = (sp - (in->imm & 0xffff)) & sm;
	/* the final frame must be writable (#SS/#PF before anything is committed) */
	if (in->imm & 0xffff)
		cpu_check_write(cpu, RV_SS, sp, 1);
	cpu_reg_set(cpu, RV_RBP, os, frame);
	cpu_reg_set(cpu, RV_RSP, ss, sp);
}

/* C9 LEAVE: rSP = rBP, then pop rBP. */
void int2_leave(struct cpu *cpu, const struct insn *in)
{
	unsigned os = in->opsize, ss = cpu->stack_size;
	uint64_t sp = cpu->s.gpr[RV_RBP] & size_mask(ss);
	uint64_t v = cpu_read(cpu, RV_SS, sp, os);

	cpu_reg_set(cpu, RV_RSP, ss, sp + os);
	cpu_reg_set(cpu, RV_RBP, os, v);
}

/* 60 PUSHA/PUSHAD: AX, CX, DX, BX, original SP, BP, SI, DI. */
void int2_pusha(struct cpu *cpu, const struct insn *in)
{
	unsigned os = in->opsize, ss = cpu->stack_size;
	uint64_t sm = size_mask(ss), sp = cpu->s.gpr[RV_RSP] & sm;

	/* probe the whole area first so a fault leaves memory and RSP alone */
	cpu_check_write(cpu, RV_SS, (sp - 8 * os) & sm, os);
	cpu_check_write(cpu, RV_SS, (sp - os) & sm, os);
	for (unsigned r = 0; r < 8; r++) {
		sp = (sp - os) & sm;
		cpu_write(cpu, RV_SS, sp, cpu->s.gpr[r], os);
	}
	cpu_reg_set(cpu, RV_RSP, ss, sp);
}

/* 61 POPA/POPAD: DI, SI, BP, (skip SP), BX, DX, CX, AX. */
void int2_popa(struct cpu *cpu, const struct insn *in)
{
	unsigned os = in->opsize, ss = cpu->stack_size;
	uint64_t sm = size_mask(ss), sp = cpu->s.gpr[RV_RSP] & sm;
	uint64_t v[8];

	for (int r = 7; r >= 0; r--) {
		v[r] = cpu_read(cpu, RV_SS, sp, os);
		sp = (sp + os) & sm;
	}
	for (unsigned r = 0; r < 8; r++)
		if (r != RV_RSP)
			cpu_reg_set(cpu, r, os, v[r]);
	cpu_reg_set(cpu, RV_RSP, ss, sp);
}

/* 9F LAHF: AH = SF:ZF:0:AF:0:PF:1:CF */
void int2_lahf(struct cpu *cpu, const struct insn *in)
{
	uint32_t f = int2_get_flags(cpu) & (F_SF | F_ZF | F_AF | F_PF | F_CF);

	cpu->s.gpr[RV_RAX] = (cpu->s.gpr[RV_RAX] & ~0xff00ull) | (uint64_t)(f | 2) << 8;
}

/* 9E SAHF: SF, ZF, AF, PF, CF from AH */
void int2_sahf(struct cpu *cpu, const struct insn *in)
{
	int2_flags(cpu, F_SF | F_ZF | F_AF | F_PF | F_CF, (uint32_t)(cpu->s.gpr[RV_RAX] >> 8));
}

/* D7 XLAT: AL = [seg:rBX + AL] */
void int2_xlat(struct cpu *cpu, const struct insn *in)
{
	uint64_t off = (cpu->s.gpr[RV_RBX] + (cpu->s.gpr[RV_RAX] & 0xff)) & size_mask(in->addrsize);

	cpu_reg_set(cpu, RV_RAX, 1, cpu_read8(cpu, in->seg, off));
}

/* 0F 18 /0-7 PREFETCHh / hint NOPs, 0F 0D PREFETCH/PREFETCHW: no architectural effect. */
void int2_nop_hint(struct cpu *cpu, const struct insn *in)
{
}

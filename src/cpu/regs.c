/* General registers, ModRM operands and the stack. */
#include "cpu/mmu.h"

uint64_t cpu_reg_get(const struct cpu *cpu, unsigned reg, unsigned size)
{
	return cpu->s.gpr[reg] & size_mask(size);
}

void cpu_reg_set(struct cpu *cpu, unsigned reg, unsigned size, uint64_t v)
{
	uint64_t *r = &cpu->s.gpr[reg];

	switch (size) {
	case 1: *r = (*r & ~0xffull) | (v & 0xff); break;
	case 2: *r = (*r & ~0xffffull) | (v & 0xffff); break;
	case 4: *r = (uint32_t)v; break;	/* 32-bit writes zero bits 63:32 */
	default: *r = v; break;
	}
}

/* Without REX, encodings 4-7 name AH, CH, DH, BH. */
uint8_t cpu_reg8_get(const struct cpu *cpu, const struct insn *in, unsigned reg)
{
	if (!in->rex && reg >= 4 && reg < 8)
		return (uint8_t)(cpu->s.gpr[reg - 4] >> 8);
	return (uint8_t)cpu->s.gpr[reg];
}

void cpu_reg8_set(struct cpu *cpu, const struct insn *in, unsigned reg, uint8_t v)
{
	if (!in->rex && reg >= 4 && reg < 8) {
		uint64_t *r = &cpu->s.gpr[reg - 4];

		*r = (*r & ~0xff00ull) | ((uint64_t)v << 8);
		return;
	}
	cpu->s.gpr[reg] = (cpu->s.gpr[reg] & ~0xffull) | v;
}

uint64_t insn_ea(const struct cpu *cpu, const struct insn *in)
{
	uint64_t ea = (uint64_t)in->disp;

	if (in->addrsize == 2) {
		if (in->base != REG_NONE)
			ea += cpu->s.gpr[in->base] & 0xffff;
		if (in->index != REG_NONE)
			ea += cpu->s.gpr[in->index] & 0xffff;
		return ea & 0xffff;
	}
	if (in->rip_rel)
		ea += cpu->s.rip + in->len;
	if (in->base != REG_NONE)
		ea += cpu->s.gpr[in->base];
	if (in->index != REG_NONE)
		ea += cpu->s.gpr[in->index] << in->scale;
	return in->addrsize == 4 ? (uint32_t)ea : ea;
}

uint64_t insn_rm_read(struct cpu *cpu, const struct insn *in)
{
	if (in->mod == 3)
		return in->opsize == 1 ? cpu_reg8_get(cpu, in, in->rm) : cpu_reg_get(cpu, in->rm, in->opsize);
	return cpu_read_fast(cpu, in->seg, insn_ea(cpu, in), in->opsize);
}

void insn_rm_write(struct cpu *cpu, const struct insn *in, uint64_t v)
{
	if (in->mod == 3) {
		if (in->opsize == 1)
			cpu_reg8_set(cpu, in, in->rm, (uint8_t)v);
		else
			cpu_reg_set(cpu, in->rm, in->opsize, v);
		return;
	}
	cpu_write_fast(cpu, in->seg, insn_ea(cpu, in), v, in->opsize);
}

/* The stack pointer width: 8 in 64-bit mode, else SS.B (cached in stack_size). */
void cpu_push(struct cpu *cpu, uint64_t v, unsigned size)
{
	unsigned ss = cpu->stack_size;
	uint64_t sp = (cpu->s.gpr[RV_RSP] - size) & size_mask(ss);

	cpu_write_fast(cpu, RV_SS, sp, v, size);
	cpu_reg_set(cpu, RV_RSP, ss, sp);
}

uint64_t cpu_pop(struct cpu *cpu, unsigned size)
{
	unsigned ss = cpu->stack_size;
	uint64_t sp = cpu->s.gpr[RV_RSP] & size_mask(ss);
	uint64_t v = cpu_read_fast(cpu, RV_SS, sp, size);

	cpu_reg_set(cpu, RV_RSP, ss, sp + size);
	return v;
}

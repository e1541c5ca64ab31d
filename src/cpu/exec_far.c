/* Far control transfers: far JMP/CALL (with call gates), far RET and IRET in every mode. */
#include "cpu/sys.h"

static bool real_like(const struct cpu *cpu)
{
	return cpu->mode == MODE_REAL || cpu->mode == MODE_VM86;
}

/* Whether a code descriptor is 64-bit code (only meaningful in long mode). */
static bool code64(const struct cpu *cpu, uint64_t d)
{
	return cpu_long_mode(cpu) && DESC_L(d);
}

/* The offset a transfer ends at: the limit applies outside 64-bit code, canonical form inside. */
static void check_code_offset(struct cpu *cpu, uint64_t d, uint64_t off)
{
	if (code64(cpu, d)) {
		if (!sys_canonical(off))
			cpu_raise_gp0(cpu);
	} else if (off > desc_limit(d)) {
		cpu_raise_gp0(cpu);
	}
}

static void check_real_offset(struct cpu *cpu, uint64_t off)
{
	if (off > cpu->s.seg[RV_CS].limit)
		cpu_raise_gp0(cpu);
}

/* Checks of a code segment reached directly by far JMP/CALL (SDM vol. 2, JMP "Operation"). */
static uint64_t direct_code(struct cpu *cpu, uint16_t sel, uint64_t d)
{
	unsigned cpl = cpu->s.cpl;
	if (desc_is_conforming(d)) {
		if (DESC_DPL(d) > cpl)
			cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	} else if ((sel & 3u) > cpl || DESC_DPL(d) != cpl) {
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	}
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, sel & 0xfffc);
	if (cpu_long_mode(cpu) && DESC_L(d) && DESC_DB(d))
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	return d;
}

/* A call gate and its target (SDM vol. 3, 5.8.3-5.8.6; APM vol. 2, 4.11.2). */
struct gate {
	uint16_t tsel;		/* target code selector */
	uint64_t td;		/* its descriptor */
	uint64_t off;		/* target offset */
	unsigned size;		/* 2, 4 or 8: the gate's operand size */
	unsigned params;	/* parameter count (legacy 32/16-bit gates) */
};

static void read_call_gate(struct cpu *cpu, uint16_t sel, uint64_t d, struct gate *g)
{
	unsigned cpl = cpu->s.cpl;
	unsigned type = DESC_TYPE(d);
	bool ok = cpu_long_mode(cpu) ? type == SYST_CALLGATE
				    : type == SYST_CALLGATE || type == SYST_CALLGATE16;
	if (!ok) {
		/* long mode has no task switches: TSS descriptors and task gates fault here */
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	}
	if (DESC_DPL(d) < cpl || DESC_DPL(d) < (sel & 3u))
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, sel & 0xfffc);
	g->tsel = (uint16_t)(d >> 16);
	g->off = d & 0xffff;
	g->params = 0;
	if (cpu_long_mode(cpu)) {
		uint64_t hi = sys_read_descriptor_hi(cpu, sel, EXC_GP);
		if ((hi >> 40) & 0x1f)	/* the upper half's type field must be zero */
			cpu_raise(cpu, EXC_GP, sel & 0xfffc);
		g->off |= ((d >> 48) & 0xffff) << 16 | (hi & 0xffffffff) << 32;
		g->size = 8;
	} else if (type == SYST_CALLGATE) {
		g->off |= ((d >> 48) & 0xffff) << 16;
		g->size = 4;
		g->params = (unsigned)(d >> 32) & 0x1f;
	} else {
		g->size = 2;
		g->params = (unsigned)(d >> 32) & 0x1f;
	}
	if ((g->tsel & ~3u) == 0)
		cpu_raise_gp0(cpu);
	g->td = cpu_read_descriptor(cpu, g->tsel, EXC_GP);
	if (!desc_is_code(g->td) || DESC_DPL(g->td) > cpl)
		cpu_raise(cpu, EXC_GP, g->tsel & 0xfffc);
	if (cpu_long_mode(cpu) && (!DESC_L(g->td) || DESC_DB(g->td)))
		cpu_raise(cpu, EXC_GP, g->tsel & 0xfffc);
	if (!DESC_P(g->td))
		cpu_raise(cpu, EXC_NP, g->tsel & 0xfffc);
}

/* A TSS descriptor or task gate: a task switch outside long mode (in long mode they fault as bad gates). */
static bool is_task_target(const struct cpu *cpu, uint64_t d)
{
	unsigned type = DESC_TYPE(d);
	return !cpu_long_mode(cpu) && !DESC_S(d) &&
	       (type == SYST_TASKGATE || type == SYST_TSS_AVL || type == SYST_TSS16_AVL ||
		type == SYST_TSS_BUSY || type == SYST_TSS16_BUSY);
}

void cpu_far_jump(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize)
{
	if (real_like(cpu)) {
		off &= size_mask(opsize);
		check_real_offset(cpu, off);
		cpu_load_seg_real(cpu, RV_CS, sel);
		cpu->next_rip = off;
		return;
	}
	if ((sel & ~3u) == 0)
		cpu_raise_gp0(cpu);
	uint64_t d = cpu_read_descriptor(cpu, sel, EXC_GP);
	if (DESC_S(d)) {
		if (!desc_is_code(d))
			cpu_raise(cpu, EXC_GP, sel & 0xfffc);
		direct_code(cpu, sel, d);
		if (!code64(cpu, d))
			off &= size_mask(opsize < 8 ? opsize : 4);
		check_code_offset(cpu, d, off);
		sys_set_cs(cpu, sel, d, cpu->s.cpl);
		cpu->next_rip = off;
		return;
	}
	if (is_task_target(cpu, d)) {
		sys_task_far(cpu, sel, d, false);
		return;
	}
	struct gate g;
	read_call_gate(cpu, sel, d, &g);
	/* JMP through a gate never changes privilege: the target must be at CPL (or conforming). */
	if (!desc_is_conforming(g.td) && DESC_DPL(g.td) != cpu->s.cpl)
		cpu_raise(cpu, EXC_GP, g.tsel & 0xfffc);
	check_code_offset(cpu, g.td, g.off);
	sys_set_cs(cpu, g.tsel, g.td, cpu->s.cpl);
	cpu->next_rip = g.off;
}

/* CALL through a gate to a more privileged level: TSS stack, parameter copy (SDM vol. 3, 5.8.5). */
static void call_gate_inner(struct cpu *cpu, const struct gate *g)
{
	unsigned dpl = DESC_DPL(g->td);
	struct sys_stack st;
	uint16_t nss;
	uint64_t ssd = 0;
	uint16_t old_ss = cpu->s.seg[RV_SS].selector;
	uint64_t old_rsp = cpu->s.gpr[RV_RSP];

	check_code_offset(cpu, g->td, g->off);
	if (cpu_long_mode(cpu)) {
		st.sp = sys_tss_rsp64(cpu, dpl, 0);
		st.width = 8;
		st.fault_error = 0;
		nss = (uint16_t)dpl;
	} else {
		uint64_t nsp;
		sys_tss_stack(cpu, dpl, &nss, &nsp, 0);
		if ((nss & ~3u) == 0)
			cpu_raise(cpu, EXC_TS, 0);
		ssd = cpu_read_descriptor(cpu, nss, EXC_TS);
		if ((nss & 3u) != dpl || DESC_DPL(ssd) != dpl || !desc_is_writable_data(ssd))
			cpu_raise(cpu, EXC_TS, nss & 0xfffc);
		if (!DESC_P(ssd))
			cpu_raise(cpu, EXC_SS, nss & 0xfffc);
		cpu_desc_to_seg(ssd, nss, &st.ss);
		st.sp = nsp;
		st.width = DESC_DB(ssd) ? 4 : 2;
		st.fault_error = nss & 0xfffc;
	}
	st.access = ACC_WRITE | ACC_IMPLICIT_SV;
	sys_stack_check_push(cpu, &st, (4 + g->params) * g->size);

	/* Parameters are read from the caller's stack at the caller's privilege. */
	uint64_t params[32];
	if (g->params) {
		struct sys_stack old;
		sys_stack_init(cpu, &old);
		old.access = ACC_READ;
		sys_stack_check_pop(cpu, &old, g->params * g->size);
		for (unsigned i = 0; i < g->params; i++)
			params[i] = sys_stack_pop(cpu, &old, g->size);
	}
	sys_stack_push(cpu, &st, old_ss, g->size);
	sys_stack_push(cpu, &st, old_rsp, g->size);
	for (unsigned i = g->params; i-- > 0;)
		sys_stack_push(cpu, &st, params[i], g->size);
	sys_stack_push(cpu, &st, cpu->s.seg[RV_CS].selector, g->size);
	sys_stack_push(cpu, &st, cpu->next_rip, g->size);
	if (!cpu_long_mode(cpu))
		sys_set_accessed(cpu, nss, ssd);

	sys_set_cs(cpu, g->tsel, g->td, dpl);
	if (cpu_long_mode(cpu))
		sys_load_null(cpu, RV_SS, nss);
	else
		cpu_desc_to_seg(ssd | DESC_ACCESSED, nss, &cpu->s.seg[RV_SS]);
	cpu->s.gpr[RV_RSP] = st.width == 2 ? ((old_rsp & ~0xffffull) | st.sp) : st.sp;
	cpu_update_mode(cpu);
	cpu->next_rip = g->off;
}

void cpu_far_call(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize)
{
	struct sys_stack st;
	if (real_like(cpu)) {
		off &= size_mask(opsize);
		check_real_offset(cpu, off);
		sys_stack_init(cpu, &st);
		sys_stack_check_push(cpu, &st, 2 * opsize);
		sys_stack_push(cpu, &st, cpu->s.seg[RV_CS].selector, opsize);
		sys_stack_push(cpu, &st, cpu->next_rip, opsize);
		cpu_load_seg_real(cpu, RV_CS, sel);
		cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
		cpu->next_rip = off;
		return;
	}
	if ((sel & ~3u) == 0)
		cpu_raise_gp0(cpu);
	uint64_t d = cpu_read_descriptor(cpu, sel, EXC_GP);
	uint64_t target_d;
	uint16_t target_sel;
	unsigned size;
	if (DESC_S(d)) {
		if (!desc_is_code(d))
			cpu_raise(cpu, EXC_GP, sel & 0xfffc);
		direct_code(cpu, sel, d);
		if (!code64(cpu, d))
			off &= size_mask(opsize < 8 ? opsize : 4);
		target_d = d;
		target_sel = sel;
		size = opsize;
	} else if (is_task_target(cpu, d)) {
		sys_task_far(cpu, sel, d, true);
		return;
	} else {
		struct gate g;
		read_call_gate(cpu, sel, d, &g);
		if (!desc_is_conforming(g.td) && DESC_DPL(g.td) < cpu->s.cpl) {
			call_gate_inner(cpu, &g);
			return;
		}
		target_d = g.td;
		target_sel = g.tsel;
		off = g.off;
		size = g.size;
	}
	check_code_offset(cpu, target_d, off);
	sys_stack_init(cpu, &st);
	sys_stack_check_push(cpu, &st, 2 * size);
	sys_stack_push(cpu, &st, cpu->s.seg[RV_CS].selector, size);
	sys_stack_push(cpu, &st, cpu->next_rip, size);
	sys_set_cs(cpu, target_sel, target_d, cpu->s.cpl);
	cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
	cpu->next_rip = off;
}

/* Checks of the CS a far RET/IRET returns to (SDM vol. 2, RET "Operation"). */
static uint64_t return_code(struct cpu *cpu, uint16_t csel)
{
	unsigned rpl = csel & 3u;
	if ((csel & ~3u) == 0)
		cpu_raise_gp0(cpu);
	uint64_t d = cpu_read_descriptor(cpu, csel, EXC_GP);
	if (!desc_is_code(d) || rpl < cpu->s.cpl)
		cpu_raise(cpu, EXC_GP, csel & 0xfffc);
	if (desc_is_conforming(d) ? DESC_DPL(d) > rpl : DESC_DPL(d) != rpl)
		cpu_raise(cpu, EXC_GP, csel & 0xfffc);
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, csel & 0xfffc);
	if (cpu_long_mode(cpu) && DESC_L(d) && DESC_DB(d))
		cpu_raise(cpu, EXC_GP, csel & 0xfffc);
	return d;
}

/* The SS popped by a return to an outer level (or by IRET in 64-bit mode); 0 descriptor for null. */
static uint64_t return_ss(struct cpu *cpu, uint16_t ssel, unsigned rpl, uint64_t cs_d)
{
	if ((ssel & ~3u) == 0) {
		if (code64(cpu, cs_d) && rpl != 3 && (ssel & 3u) == rpl)
			return 0;
		cpu_raise_gp0(cpu);
	}
	return sys_check_ss(cpu, ssel, rpl, EXC_GP);
}

/* Load SS and RSP after a return to an outer level (state already validated). */
static void commit_outer_stack(struct cpu *cpu, uint16_t ssel, uint64_t ssd, uint64_t sp)
{
	if (ssd == 0) {
		sys_load_null(cpu, RV_SS, ssel);
	} else {
		sys_set_accessed(cpu, ssel, ssd);
		cpu_desc_to_seg(ssd | DESC_ACCESSED, ssel, &cpu->s.seg[RV_SS]);
	}
	if (ssd && !DESC_DB(ssd) && !cpu_64bit(cpu))
		cpu->s.gpr[RV_RSP] = (cpu->s.gpr[RV_RSP] & ~0xffffull) | (sp & 0xffff);
	else
		cpu->s.gpr[RV_RSP] = cpu_64bit(cpu) ? sp : (uint32_t)sp;
	sys_nullify_data_segs(cpu);
	cpu_update_mode(cpu);
}

void sys_far_ret(struct cpu *cpu, unsigned opsize, unsigned imm)
{
	struct sys_stack st;
	sys_stack_init(cpu, &st);
	st.access = ACC_READ;
	sys_stack_check_pop(cpu, &st, 2 * opsize);
	uint64_t ip = sys_stack_pop(cpu, &st, opsize);
	uint16_t csel = (uint16_t)sys_stack_pop(cpu, &st, opsize);
	st.sp = (st.sp + imm) & size_mask(st.width);

	if (real_like(cpu)) {
		check_real_offset(cpu, ip);
		cpu_load_seg_real(cpu, RV_CS, csel);
		cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
		cpu->next_rip = ip;
		return;
	}
	uint64_t d = return_code(cpu, csel);
	unsigned rpl = csel & 3u;
	check_code_offset(cpu, d, ip);
	if (rpl == cpu->s.cpl) {
		sys_set_cs(cpu, csel, d, rpl);
		cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
		cpu->next_rip = ip;
		return;
	}
	/* Return to an outer level: SS:RSP follow, then imm16 more bytes are released. */
	sys_stack_check_pop(cpu, &st, 2 * opsize);
	uint64_t sp = sys_stack_pop(cpu, &st, opsize);
	uint16_t ssel = (uint16_t)sys_stack_pop(cpu, &st, opsize);
	uint64_t ssd = return_ss(cpu, ssel, rpl, d);
	sys_set_cs(cpu, csel, d, rpl);
	commit_outer_stack(cpu, ssel, ssd, sp + imm);
	cpu->next_rip = ip;
}

/* RFLAGS bits IRET/POPF may change at every privilege level (besides IF, IOPL, VIF, VIP). */
#define IRET_FLAGS (CPU_ARITH_FLAGS | RV_FLAG_TF | RV_FLAG_DF | RV_FLAG_NT | RV_FLAG_RF | \
		    RV_FLAG_AC | RV_FLAG_ID)

static uint64_t iret_merge_flags(struct cpu *cpu, uint64_t old, uint64_t v, unsigned opsize, unsigned cpl)
{
	uint64_t mask = IRET_FLAGS;
	unsigned iopl = (unsigned)(old >> 12) & 3;
	if (cpl <= iopl)
		mask |= RV_FLAG_IF;
	if (cpl == 0)
		mask |= RV_FLAG_IOPL | RV_FLAG_VIF | RV_FLAG_VIP;
	if (opsize == 2)
		mask &= 0xffff;
	return (old & ~mask) | (v & mask) | RV_FLAG_FIXED1;
}

/* IRET from protected mode back to virtual-8086 mode (SDM vol. 2, IRET "RETURN-TO-VIRTUAL-8086-MODE"). */
static void iret_to_vm86(struct cpu *cpu, struct sys_stack *st, uint64_t ip, uint16_t csel, uint64_t flags)
{
	sys_stack_check_pop(cpu, st, 24);
	uint64_t sp = sys_stack_pop(cpu, st, 4);
	uint16_t sel[5];
	for (unsigned i = 0; i < 5; i++)	/* SS, ES, DS, FS, GS */
		sel[i] = (uint16_t)sys_stack_pop(cpu, st, 4);
	cpu_set_rflags(cpu, (flags & (uint64_t)~RFLAGS_FIXED_ZERO) | RV_FLAG_FIXED1);
	cpu->s.cpl = 3;
	cpu_update_mode(cpu);	/* now MODE_VM86: the loads below are real-style */
	cpu_load_seg_real(cpu, RV_CS, csel);
	cpu_load_seg_real(cpu, RV_SS, sel[0]);
	cpu_load_seg_real(cpu, RV_ES, sel[1]);
	cpu_load_seg_real(cpu, RV_DS, sel[2]);
	cpu_load_seg_real(cpu, RV_FS, sel[3]);
	cpu_load_seg_real(cpu, RV_GS, sel[4]);
	cpu->s.gpr[RV_RSP] = (uint32_t)sp;
	cpu->next_rip = ip & 0xffff;
}

void sys_iret(struct cpu *cpu, unsigned opsize)
{
	struct sys_stack st;
	sys_stack_init(cpu, &st);
	st.access = ACC_READ;
	uint64_t old = cpu_get_rflags(cpu);
	unsigned cpl = cpu->s.cpl;

	if (cpu->mode == MODE_VM86 && ((old >> 12) & 3) != 3)
		cpu_raise_gp0(cpu);	/* no VME: IRET in VM86 needs IOPL 3 */
	if (!real_like(cpu) && (old & RV_FLAG_NT)) {
		/* nested task return; long mode has no tasks: #GP(0) (APM vol. 3, IRET) */
		if (cpu_long_mode(cpu))
			cpu_raise_gp0(cpu);
		sys_task_return(cpu);
		return;
	}

	sys_stack_check_pop(cpu, &st, 3 * opsize);
	uint64_t ip = sys_stack_pop(cpu, &st, opsize);
	uint16_t csel = (uint16_t)sys_stack_pop(cpu, &st, opsize);
	uint64_t flags = sys_stack_pop(cpu, &st, opsize);

	if (real_like(cpu)) {
		check_real_offset(cpu, ip);
		uint64_t nf;
		if (cpu->mode == MODE_VM86) {
			/* VM, IOPL, VIP, VIF stay */
			uint64_t mask = IRET_FLAGS | RV_FLAG_IF;
			if (opsize == 2)
				mask &= 0xffff;
			nf = (old & ~mask) | (flags & mask);
		} else {
			uint64_t mask = opsize == 2 ? 0xffffu : (0x257fd5u & ~(uint64_t)RV_FLAG_VM);
			nf = (old & ~mask) | (flags & mask) | RV_FLAG_FIXED1;
		}
		cpu_set_rflags(cpu, nf);
		cpu_load_seg_real(cpu, RV_CS, csel);
		cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
		cpu->next_rip = ip;
		cpu->nmi_blocked = false;
		return;
	}
	if (opsize == 4 && (flags & RV_FLAG_VM) && cpl == 0 && !cpu_long_mode(cpu)) {
		iret_to_vm86(cpu, &st, ip, csel, flags);
		cpu->nmi_blocked = false;
		return;
	}

	uint64_t d = return_code(cpu, csel);
	unsigned rpl = csel & 3u;
	check_code_offset(cpu, d, ip);
	uint64_t nf = iret_merge_flags(cpu, old, flags, opsize, cpl);
	if (rpl == cpl && !cpu_64bit(cpu)) {
		cpu_set_rflags(cpu, nf);
		sys_set_cs(cpu, csel, d, rpl);
		cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
	} else {
		/* Outer level, or any IRET in 64-bit mode: SS:RSP were pushed too. */
		sys_stack_check_pop(cpu, &st, 2 * opsize);
		uint64_t sp = sys_stack_pop(cpu, &st, opsize);
		uint16_t ssel = (uint16_t)sys_stack_pop(cpu, &st, opsize);
		uint64_t ssd = return_ss(cpu, ssel, rpl, d);
		bool was64 = cpu_64bit(cpu);
		cpu_set_rflags(cpu, nf);
		sys_set_cs(cpu, csel, d, rpl);
		if (was64 && rpl == cpl && ssd) {
			sys_set_accessed(cpu, ssel, ssd);
			cpu_desc_to_seg(ssd | DESC_ACCESSED, ssel, &cpu->s.seg[RV_SS]);
			cpu->s.gpr[RV_RSP] = sp;
			cpu_update_mode(cpu);
		} else if (was64 && rpl == cpl) {
			sys_load_null(cpu, RV_SS, ssel);
			cpu->s.gpr[RV_RSP] = sp;
		} else {
			commit_outer_stack(cpu, ssel, ssd, sp);
		}
		if (was64 && !cpu_64bit(cpu))
			cpu->s.gpr[RV_RSP] &= 0xffffffff;
	}
	cpu->next_rip = ip;
	cpu->nmi_blocked = false;
}

/* System instructions: control/debug registers, MSRs, CPUID, I/O, flags, interrupts, segment loads, fast system calls. */
#include "cpu/svm.h"
#include "cpu/sys.h"

void sys_set_zf(struct cpu *cpu, bool zf)
{
	cpu_set_flags_eager(cpu, RV_FLAG_ZF, zf ? RV_FLAG_ZF : 0);
}

static unsigned iopl(const struct cpu *cpu)
{
	return (unsigned)(cpu->s.rflags >> 12) & 3;
}

static void require_cpl0(struct cpu *cpu)
{
	if (cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
}

/* ------------------------------------------------------------------ */
/* Control and debug registers.                                        */

static uint64_t read_cr(struct cpu *cpu, unsigned cr)
{
	switch (cr) {
	case 0: return cpu->s.cr0;
	case 2: return cpu->s.cr2;
	case 3: return cpu->s.cr3;
	case 4: return cpu->s.cr4;
	case 8: return svm_cr8(cpu);
	default: cpu_raise_ud(cpu);
	}
}

/* The control register MOV CR names: ModRM.reg with REX.R; LOCK selects CR8 (AMD AltMovCr8). */
static unsigned mov_cr_index(const struct insn *in)
{
	if ((in->prefix & PFX_LOCK) && in->reg == 0)
		return 8;
	return in->reg;
}

/* 0F 20: MOV r, CRn (the ModRM.mod bits are ignored: always a register). */
static void op_mov_from_cr(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	unsigned size = cpu_64bit(cpu) ? 8 : 4;
	unsigned cr = mov_cr_index(in);
	/* CR0-CR15 reads and writes are intercepted before the #UD of a missing CR (APM vol. 2, 15.9) */
	if (cr < 16)
		svm_icpt_cr(cpu, cr, false, SVM_DA_MOV_CR | in->rm);
	cpu_reg_set(cpu, in->rm, size, read_cr(cpu, cr));
}

/* 0F 22: MOV CRn, r */
static void op_mov_to_cr(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	unsigned size = cpu_64bit(cpu) ? 8 : 4;
	unsigned cr = mov_cr_index(in);
	if (cr < 16)
		svm_icpt_cr(cpu, cr, true, SVM_DA_MOV_CR | in->rm);
	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		cpu_raise_ud(cpu);
	if (cr == 0)
		svm_icpt_cr0_sel(cpu, cpu_reg_get(cpu, in->rm, size), SVM_DA_MOV_CR | in->rm);
	cpu_write_cr(cpu, cr, cpu_reg_get(cpu, in->rm, size));
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE (SDM vol. 3, 17.2.2). */
static unsigned dr_index(struct cpu *cpu, const struct insn *in)
{
	unsigned dr = in->reg;
	if (dr > 7)
		cpu_raise_ud(cpu);
	if (dr == 4 || dr == 5) {
		if (cpu->s.cr4 & RV_CR4_DE)
			cpu_raise_ud(cpu);
		dr += 2;
	}
	return dr;
}

/*
 * DR7.GD: any MOV DR is a #DB fault with DR6.BD, ahead of the access (SDM
 * vol. 3, 17.2.4). Like the #UD of DR4/DR5 it comes before the DR
 * intercept (APM vol. 2, 15.9: simple exceptions first); a VMM debugging
 * its guest counts on it (KVM's debug_regs selftest, DR7.GD case).
 */
static void check_general_detect(struct cpu *cpu)
{
	if (cpu->s.dr7 & (1u << 13)) {
		cpu->s.dr6 |= 1u << 13;
		cpu->dbg_trap |= DBG_T_FAULTRF;
		cpu_raise(cpu, EXC_DB, 0);
	}
}

/* 0F 21: MOV r, DRn */
static void op_mov_from_dr(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	unsigned dr = dr_index(cpu, in);
	check_general_detect(cpu);
	svm_icpt_dr(cpu, in->reg, false, in->rm);
	uint64_t v = dr < 4 ? cpu->s.dr[dr] : dr == 6 ? cpu->s.dr6 : cpu->s.dr7;
	cpu_reg_set(cpu, in->rm, cpu_64bit(cpu) ? 8 : 4, v);
}

/* 0F 23: MOV DRn, r */
static void op_mov_to_dr(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	unsigned dr = dr_index(cpu, in);
	check_general_detect(cpu);
	svm_icpt_dr(cpu, in->reg, true, in->rm);
	uint64_t v = cpu_reg_get(cpu, in->rm, cpu_64bit(cpu) ? 8 : 4);
	if (dr < 4) {
		cpu->s.dr[dr] = v;
		return;
	}
	if (v >> 32)
		cpu_raise_gp0(cpu);
	if (dr == 6)
		cpu->s.dr6 = (v & 0xf00fu) | 0xffff0ff0u;	/* B0-3, BD, BS, BT; the rest reads as 1 */
	else
		cpu->s.dr7 = (v & ~0xd800ull) | 0x400u;	/* bits 15, 14, 12, 11 read 0; bit 10 reads 1 */
}

/* 0F 06: CLTS */
static void op_clts(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	svm_icpt_cr(cpu, 0, true, 0);	/* CLTS is a CR0 write (15.9), never a selective one */
	cpu->s.cr0 &= ~RV_CR0_TS;
}

/* 0F 08/09: INVD, WBINVD: no caches to write back. */
static void op_wbinvd(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	if (in->opcode == 0x08)
		svm_icpt(cpu, SVM_I_INVD, SVM_EXIT_INVD);
	else
		svm_icpt2(cpu, 9);	/* WBINVD */
}

/* ------------------------------------------------------------------ */
/* Time, MSRs, CPUID.                                                  */

static void set_edx_eax(struct cpu *cpu, uint64_t v)
{
	cpu_reg_set(cpu, RV_RAX, 4, (uint32_t)v);
	cpu_reg_set(cpu, RV_RDX, 4, v >> 32);
}

/* 0F 31: RDTSC (CR4.TSD restricts it to CPL 0) */
static void op_rdtsc(struct cpu *cpu, const struct insn *in)
{
	if ((cpu->s.cr4 & RV_CR4_TSD) && cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	svm_icpt(cpu, SVM_I_RDTSC, SVM_EXIT_RDTSC);
	set_edx_eax(cpu, cpu_rdtsc(cpu));
}

/* 0F 01 F9: RDTSCP */
static void op_rdtscp(struct cpu *cpu)
{
	if ((cpu->s.cr4 & RV_CR4_TSD) && cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	svm_icpt2(cpu, 7);	/* RDTSCP */
	set_edx_eax(cpu, cpu_rdtsc(cpu));
	cpu_reg_set(cpu, RV_RCX, 4, (uint32_t)cpu->s.tsc_aux);
}

/* 0F 32: RDMSR */
static void op_rdmsr(struct cpu *cpu, const struct insn *in)
{
	uint64_t v;
	uint32_t index = (uint32_t)cpu->s.gpr[RV_RCX];
	require_cpl0(cpu);
	svm_icpt_msr(cpu, index, false);
	if (cpu_msr_vmm(index, false))
		v = cpu_msr_exit(cpu, index, false, 0);	/* the local APIC, in the VMM */
	else if (!cpu_rdmsr(cpu, index, &v))
		cpu_raise_gp0(cpu);
	set_edx_eax(cpu, v);
}

/* 0F 30: WRMSR */
static void op_wrmsr(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	uint64_t v = (uint32_t)cpu->s.gpr[RV_RAX] | (cpu->s.gpr[RV_RDX] << 32);
	uint32_t index = (uint32_t)cpu->s.gpr[RV_RCX];
	svm_icpt_msr(cpu, index, true);
	if (cpu_msr_vmm(index, true)) {
		cpu_msr_exit(cpu, index, true, v);	/* the VMM accepted it */
		if (index != RV_MSR_APIC_BASE)
			return;
	}
	if (!cpu_wrmsr(cpu, index, v))
		cpu_raise_gp0(cpu);
}

/*
 * 0F 33: RDPMC. There are no performance counters: every counter index is
 * invalid. The intercept comes after the CPL check (CR4.PCE) and before
 * the check of the index in ECX, an operand value (APM vol. 2, 15.7.1).
 */
static void op_rdpmc(struct cpu *cpu, const struct insn *in)
{
	if (cpu->s.cpl != 0 && !(cpu->s.cr4 & RV_CR4_PCE))
		cpu_raise_gp0(cpu);
	svm_icpt(cpu, SVM_I_RDPMC, SVM_EXIT_RDPMC);
	cpu_raise_gp0(cpu);
}

/* 0F A2: CPUID */
static void op_cpuid(struct cpu *cpu, const struct insn *in)
{
	uint32_t r[4];
	svm_icpt(cpu, SVM_I_CPUID, SVM_EXIT_CPUID);
	cpu_cpuid(cpu, (uint32_t)cpu->s.gpr[RV_RAX], (uint32_t)cpu->s.gpr[RV_RCX], r);
	cpu_reg_set(cpu, RV_RAX, 4, r[0]);
	cpu_reg_set(cpu, RV_RBX, 4, r[1]);
	cpu_reg_set(cpu, RV_RCX, 4, r[2]);
	cpu_reg_set(cpu, RV_RDX, 4, r[3]);
}

/* ------------------------------------------------------------------ */
/* HLT, interrupt flag, RFLAGS on the stack.                           */

/* F4: HLT */
static void op_hlt(struct cpu *cpu, const struct insn *in)
{
	require_cpl0(cpu);
	svm_icpt(cpu, SVM_I_HLT, SVM_EXIT_HLT);
	cpu->halted = true;
	cpu_exit_after(cpu, CPU_EXIT_HLT);
}

/* FA/FB: CLI/STI (SDM vol. 2, CLI "Operation"; no VME/PVI). */
static void op_cli_sti(struct cpu *cpu, const struct insn *in)
{
	if (cpu->mode != MODE_REAL && cpu->s.cpl > iopl(cpu))
		cpu_raise_gp0(cpu);
	if (in->opcode == 0xfa) {
		cpu->s.rflags &= ~(uint64_t)RV_FLAG_IF;
	} else {
		/* Interrupts stay blocked for one more instruction when STI sets IF. */
		if (!(cpu->s.rflags & RV_FLAG_IF))
			cpu->shadow = 1;
		cpu->s.rflags |= RV_FLAG_IF;
	}
}

/* 9C: PUSHF/PUSHFD/PUSHFQ. VM and RF are never stored. */
static void op_pushf(struct cpu *cpu, const struct insn *in)
{
	if (cpu->mode == MODE_VM86 && iopl(cpu) != 3)
		cpu_raise_gp0(cpu);
	svm_icpt(cpu, SVM_I_PUSHF, SVM_EXIT_PUSHF);
	uint64_t f = cpu_get_rflags(cpu) & ~(uint64_t)(RV_FLAG_VM | RV_FLAG_RF);
	cpu_push(cpu, f, in->opsize);
}

/* 9D: POPF. What may change depends on CPL and IOPL (SDM vol. 2, POPF "Operation"). */
static void op_popf(struct cpu *cpu, const struct insn *in)
{
	if (cpu->mode == MODE_VM86 && iopl(cpu) != 3)
		cpu_raise_gp0(cpu);
	svm_icpt(cpu, SVM_I_POPF, SVM_EXIT_POPF);
	uint64_t old = cpu_get_rflags(cpu);
	uint64_t v = cpu_pop(cpu, in->opsize);
	uint64_t mask = CPU_ARITH_FLAGS | RV_FLAG_TF | RV_FLAG_DF | RV_FLAG_NT | RV_FLAG_AC | RV_FLAG_ID;
	if (cpu->mode == MODE_REAL || cpu->s.cpl == 0)
		mask |= RV_FLAG_IOPL;
	if (cpu->mode == MODE_REAL || cpu->s.cpl <= iopl(cpu))
		mask |= RV_FLAG_IF;
	if (in->opsize == 2)
		mask &= 0xffff;
	cpu_set_rflags(cpu, ((old & ~mask) | (v & mask) | RV_FLAG_FIXED1) & ~(uint64_t)RV_FLAG_RF);
}

/* ------------------------------------------------------------------ */
/* Port I/O.                                                           */

/*
 * CPL > IOPL (or virtual-8086 mode) consults the I/O permission bitmap of
 * the 32/64-bit TSS: every bit for the accessed ports must be clear
 * (SDM vol. 1, 19.5.2; APM vol. 2, 13.3.2).
 */
void cpu_check_io(struct cpu *cpu, uint16_t port, unsigned size)
{
	if (cpu->mode == MODE_REAL || (cpu->mode != MODE_VM86 && cpu->s.cpl <= iopl(cpu)))
		return;
	const struct rv_segment *tr = &cpu->s.seg[RV_TR];
	unsigned type = RV_SEG_TYPE(tr->attrib);
	if (!(tr->attrib & RV_SEG_P) || (type != SYST_TSS_AVL && type != SYST_TSS_BUSY) || tr->limit < 0x67)
		cpu_raise_gp0(cpu);
	uint64_t base = cpu_lin_read(cpu, tr->base + 0x66, 2, ACC_READ | ACC_IMPLICIT_SV);
	uint64_t at = base + port / 8;
	if (at + 1 > tr->limit)
		cpu_raise_gp0(cpu);
	uint64_t bits = cpu_lin_read(cpu, tr->base + at, 2, ACC_READ | ACC_IMPLICIT_SV);
	if (bits & (((1u << size) - 1) << (port & 7)))
		cpu_raise_gp0(cpu);
}

static unsigned io_size(const struct insn *in)
{
	return in->opsize == 1 ? 1 : in->opsize == 2 ? 2 : 4;
}

/* E4/E5/EC/ED: IN */
static void op_in(struct cpu *cpu, const struct insn *in)
{
	unsigned size = io_size(in);
	uint16_t port = in->opcode & 8 ? (uint16_t)cpu->s.gpr[RV_RDX] : (uint16_t)in->imm;
	cpu_check_io(cpu, port, size);
	svm_icpt_io(cpu, in, port, size, true, false);
	cpu_reg_set(cpu, RV_RAX, size, cpu_io_in(cpu, port, size));
}

/* E6/E7/EE/EF: OUT */
static void op_out(struct cpu *cpu, const struct insn *in)
{
	unsigned size = io_size(in);
	uint16_t port = in->opcode & 8 ? (uint16_t)cpu->s.gpr[RV_RDX] : (uint16_t)in->imm;
	cpu_check_io(cpu, port, size);
	svm_icpt_io(cpu, in, port, size, false, false);
	cpu_io_out(cpu, port, size, (uint32_t)cpu_reg_get(cpu, RV_RAX, size));
}

/* ------------------------------------------------------------------ */
/* Software interrupts and interrupt return.                           */

/* CD: INT n (in virtual-8086 mode without VME it needs IOPL 3) */
static void op_int(struct cpu *cpu, const struct insn *in)
{
	if (cpu->mode == MODE_VM86 && iopl(cpu) != 3)
		cpu_raise_gp0(cpu);
	cpu_deliver_event(cpu, (uint8_t)in->imm, EV_SOFTWARE, false, 0);
}

/* CC: INT3 */
static void op_int3(struct cpu *cpu, const struct insn *in)
{
	cpu_deliver_event(cpu, EXC_BP, EV_SOFT_EXCEPTION, false, 0);
}

/* CE: INTO */
static void op_into(struct cpu *cpu, const struct insn *in)
{
	if (cpu_get_rflags(cpu) & RV_FLAG_OF)
		cpu_deliver_event(cpu, EXC_OF, EV_SOFT_EXCEPTION, false, 0);
}

/* F1: INT1 / ICEBP: a #DB without the gate DPL check */
static void op_icebp(struct cpu *cpu, const struct insn *in)
{
	svm_icpt2(cpu, 8);	/* ICEBP */
	cpu_deliver_event(cpu, EXC_DB, EV_PRIV_SOFT, false, 0);
}

/* CF: IRET/IRETD/IRETQ */
static void op_iret(struct cpu *cpu, const struct insn *in)
{
	svm_icpt(cpu, SVM_I_IRET, SVM_EXIT_IRET);
	sys_iret(cpu, in->opsize);
	/* an RF = 1 IRET loaded survives this instruction's retirement (SDM 17.3.1.1) */
	if (cpu->s.rflags & RV_FLAG_RF)
		cpu->dbg_trap |= DBG_T_KEEPRF;
}

/* ------------------------------------------------------------------ */
/* Far transfers by opcode.                                            */

/* EA: JMP ptr16:16/32 */
static void op_jmp_far(struct cpu *cpu, const struct insn *in)
{
	cpu_far_jump(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
}

/* 9A: CALL ptr16:16/32 */
static void op_call_far(struct cpu *cpu, const struct insn *in)
{
	cpu_far_call(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
}

/* CA/CB: RETF [imm16] */
static void op_retf(struct cpu *cpu, const struct insn *in)
{
	sys_far_ret(cpu, in->opsize, in->opcode == 0xca ? (unsigned)(in->imm & 0xffff) : 0);
}

/* ------------------------------------------------------------------ */
/* Segment registers.                                                  */

/* 8C: MOV r/m16, Sreg (a register destination gets the zero-extended selector) */
static void op_mov_from_sreg(struct cpu *cpu, const struct insn *in)
{
	unsigned sr = in->reg & 7;
	if (sr > RV_GS)
		cpu_raise_ud(cpu);
	uint16_t sel = cpu->s.seg[sr].selector;
	if (in->mod == 3)
		cpu_reg_set(cpu, in->rm, in->opsize == 1 ? 2 : in->opsize, sel);
	else
		cpu_write16(cpu, in->seg, insn_ea(cpu, in), sel);
}

/* 8E: MOV Sreg, r/m16 (MOV CS is invalid; MOV SS blocks interrupts for one instruction) */
static void op_mov_to_sreg(struct cpu *cpu, const struct insn *in)
{
	unsigned sr = in->reg & 7;
	if (sr > RV_GS || sr == RV_CS)
		cpu_raise_ud(cpu);
	uint16_t sel = in->mod == 3 ? (uint16_t)cpu_reg_get(cpu, in->rm, 2)
				    : cpu_read16(cpu, in->seg, insn_ea(cpu, in));
	cpu_load_seg(cpu, (int)sr, sel);
	if (sr == RV_SS) {
		cpu->shadow = 1;
		cpu->dbg_trap |= DBG_T_MOVSS;	/* its #DB traps wait for the next instruction */
	}
}

static int push_pop_seg(const struct insn *in)
{
	if (in->map == MAP_0F)
		return in->opcode < 0xa8 ? RV_FS : RV_GS;
	return (in->opcode >> 3) & 3;	/* 06 ES, 0E CS, 16 SS, 1E DS */
}

/* 06/0E/16/1E, 0F A0/A8: PUSH Sreg */
static void op_push_seg(struct cpu *cpu, const struct insn *in)
{
	cpu_push(cpu, cpu->s.seg[push_pop_seg(in)].selector, in->opsize);
}

/* 07/17/1F, 0F A1/A9: POP Sreg. RSP moves only once the load succeeded. */
static void op_pop_seg(struct cpu *cpu, const struct insn *in)
{
	int sr = push_pop_seg(in);
	uint64_t mask = size_mask(cpu->stack_size);
	uint64_t rsp = cpu->s.gpr[RV_RSP];
	uint16_t sel = (uint16_t)cpu_read(cpu, RV_SS, rsp & mask, in->opsize);
	cpu_load_seg(cpu, sr, sel);
	cpu->s.gpr[RV_RSP] = (rsp & ~mask) | ((rsp + in->opsize) & mask);
	if (sr == RV_SS) {
		cpu->shadow = 1;
		cpu->dbg_trap |= DBG_T_MOVSS;
	}
}

/* C4/C5 (not VEX), 0F B2/B4/B5: LES, LDS, LSS, LFS, LGS */
static void op_load_far_ptr(struct cpu *cpu, const struct insn *in)
{
	int sr;
	if (in->mod == 3)
		cpu_raise_ud(cpu);
	if (in->map == MAP_1B)
		sr = in->opcode == 0xc4 ? RV_ES : RV_DS;
	else
		sr = in->opcode == 0xb2 ? RV_SS : in->opcode == 0xb4 ? RV_FS : RV_GS;
	uint64_t ea = insn_ea(cpu, in);
	uint64_t off = cpu_read(cpu, in->seg, ea, in->opsize);
	uint16_t sel = cpu_read16(cpu, in->seg, (ea + in->opsize) & size_mask(in->addrsize));
	cpu_load_seg(cpu, sr, sel);
	cpu_reg_set(cpu, in->reg, in->opsize, off);
}

/* 62: BOUND r, m16&16 / m32&32 */
static void op_bound(struct cpu *cpu, const struct insn *in)
{
	if (in->mod == 3)
		cpu_raise_ud(cpu);
	unsigned sz = in->opsize;
	uint64_t ea = insn_ea(cpu, in);
	int64_t lo = (int64_t)cpu_read(cpu, in->seg, ea, sz);
	int64_t hi = (int64_t)cpu_read(cpu, in->seg, (ea + sz) & size_mask(in->addrsize), sz);
	int64_t idx = (int64_t)cpu_reg_get(cpu, in->reg, sz);
	if (sz == 2) {
		lo = (int16_t)lo;
		hi = (int16_t)hi;
		idx = (int16_t)idx;
	} else {
		lo = (int32_t)lo;
		hi = (int32_t)hi;
		idx = (int32_t)idx;
	}
	if (idx < lo || idx > hi)
		cpu_raise(cpu, EXC_BR, 0);
}

/* ------------------------------------------------------------------ */
/* SYSCALL/SYSRET, SYSENTER/SYSEXIT: flat segments from MSRs.          */

#define ATTR_CODE (RV_SEG_P | RV_SEG_S | 0xbu | RV_SEG_G)	/* execute/read, accessed */
#define ATTR_DATA (RV_SEG_P | RV_SEG_S | 0x3u | RV_SEG_G | RV_SEG_DB)	/* read/write, accessed */

static void flat_seg(struct cpu *cpu, int seg, uint16_t sel, uint16_t attrib, unsigned dpl)
{
	struct rv_segment *s = &cpu->s.seg[seg];
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->attrib = (uint16_t)(attrib | (dpl << 5));
}

/* 0F 05: SYSCALL (AMD APM vol. 3, SYSCALL "Operation") */
static void op_syscall(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->s.efer & RV_EFER_SCE) || cpu->mode == MODE_REAL)
		cpu_raise_ud(cpu);
	uint16_t sel = (uint16_t)(cpu->s.star >> 32) & 0xfffc;
	uint64_t flags = cpu_get_rflags(cpu);
	uint64_t target;
	if (cpu_long_mode(cpu)) {
		cpu->s.gpr[RV_RCX] = cpu->next_rip;
		cpu->s.gpr[RV_R11] = flags & ~(uint64_t)RV_FLAG_RF;
		target = cpu_64bit(cpu) ? cpu->s.lstar : cpu->s.cstar;
		cpu_set_rflags(cpu, (flags & ~cpu->s.sfmask & ~(uint64_t)RV_FLAG_RF) | RV_FLAG_FIXED1);
		flat_seg(cpu, RV_CS, sel, ATTR_CODE | RV_SEG_L, 0);
	} else {
		cpu->s.gpr[RV_RCX] = (uint32_t)cpu->next_rip;
		target = (uint32_t)cpu->s.star;
		cpu_set_rflags(cpu, flags & ~(uint64_t)(RV_FLAG_VM | RV_FLAG_IF | RV_FLAG_RF));
		flat_seg(cpu, RV_CS, sel, ATTR_CODE | RV_SEG_DB, 0);
	}
	flat_seg(cpu, RV_SS, (uint16_t)(sel + 8), ATTR_DATA, 0);
	cpu->s.cpl = 0;
	cpu_update_mode(cpu);
	cpu->next_rip = target;
	/*
	 * SYSCALL's single-step trap follows the RFLAGS it leaves: when the mask
	 * clears TF there is no #DB at the entry point (operating systems put TF
	 * in SFMASK for this; Linux warns on a kernel-mode DR6.BS, and its
	 * single_step_syscall selftest steps over SYSCALL).
	 */
	if (!(cpu->s.rflags & RV_FLAG_TF))
		cpu->dbg_trap |= DBG_T_NOSTEP;
}

/*
 * 0F 07: SYSRET, as AMD documents it (APM vol. 3, SYSRET; vol. 2, 6.1.1):
 * - RCX is not checked: a non-canonical return address faults (#GP(0)) on
 *   the first fetch, already at CPL 3 on the user stack, unlike Intel's
 *   #GP at CPL 0 before anything changes.
 * - Only the SS selector changes; base, limit and attributes of SS stay as
 *   they were (Linux's X86_BUG_SYSRET_SS_ATTRS: an SS left null by an
 *   interrupt stays unusable). The cached DPL follows the new CPL, as AMD's
 *   VMCB save area reports it, so state read back through the API keeps CPL 3.
 */
static void op_sysret(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->s.efer & RV_EFER_SCE))
		cpu_raise_ud(cpu);
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_VM86 || cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	uint16_t base = (uint16_t)(cpu->s.star >> 48);
	uint64_t target;
	if (cpu_long_mode(cpu)) {
		if (in->opsize == 8) {
			target = cpu->s.gpr[RV_RCX];
			flat_seg(cpu, RV_CS, (uint16_t)((base + 16) | 3), ATTR_CODE | RV_SEG_L, 3);
		} else {
			target = (uint32_t)cpu->s.gpr[RV_RCX];
			flat_seg(cpu, RV_CS, (uint16_t)(base | 3), ATTR_CODE | RV_SEG_DB, 3);
		}
		uint64_t f = cpu->s.gpr[RV_R11] & ~RFLAGS_FIXED_ZERO & ~(uint64_t)(RV_FLAG_RF | RV_FLAG_VM);
		cpu_set_rflags(cpu, f | RV_FLAG_FIXED1);
	} else {
		target = (uint32_t)cpu->s.gpr[RV_RCX];
		flat_seg(cpu, RV_CS, (uint16_t)(base | 3), ATTR_CODE | RV_SEG_DB, 3);
		cpu->s.rflags |= RV_FLAG_IF;
	}
	struct rv_segment *ss = &cpu->s.seg[RV_SS];
	ss->selector = (uint16_t)((base + 8) | 3);
	ss->attrib = (uint16_t)((ss->attrib & ~(3u << 5)) | (3u << 5));
	cpu->s.cpl = 3;
	cpu_update_mode(cpu);
	cpu->next_rip = target;
}

/* 0F 34: SYSENTER (legacy mode only on AMD) */
static void op_sysenter(struct cpu *cpu, const struct insn *in)
{
	if (cpu_long_mode(cpu))
		cpu_raise_ud(cpu);
	uint16_t sel = (uint16_t)cpu->s.sysenter_cs & 0xfffc;
	if (cpu->mode == MODE_REAL || sel == 0)
		cpu_raise_gp0(cpu);
	cpu->s.rflags &= ~(uint64_t)(RV_FLAG_VM | RV_FLAG_IF | RV_FLAG_RF);
	flat_seg(cpu, RV_CS, sel, ATTR_CODE | RV_SEG_DB, 0);
	flat_seg(cpu, RV_SS, (uint16_t)(sel + 8), ATTR_DATA, 0);
	cpu->s.cpl = 0;
	cpu->s.gpr[RV_RSP] = (uint32_t)cpu->s.sysenter_esp;
	cpu_update_mode(cpu);
	cpu->next_rip = (uint32_t)cpu->s.sysenter_eip;
}

/* 0F 35: SYSEXIT (legacy mode only on AMD) */
static void op_sysexit(struct cpu *cpu, const struct insn *in)
{
	if (cpu_long_mode(cpu))
		cpu_raise_ud(cpu);
	uint16_t sel = (uint16_t)cpu->s.sysenter_cs & 0xfffc;
	if (cpu->mode == MODE_REAL || cpu->s.cpl != 0 || sel == 0)
		cpu_raise_gp0(cpu);
	flat_seg(cpu, RV_CS, (uint16_t)((sel + 16) | 3), ATTR_CODE | RV_SEG_DB, 3);
	flat_seg(cpu, RV_SS, (uint16_t)((sel + 24) | 3), ATTR_DATA, 3);
	cpu->s.cpl = 3;
	cpu->s.gpr[RV_RSP] = (uint32_t)cpu->s.gpr[RV_RCX];
	cpu_update_mode(cpu);
	cpu->next_rip = (uint32_t)cpu->s.gpr[RV_RDX];
}

/* 0F 01 with mod = 3, /7 rm 0: SWAPGS; rm 1: RDTSCP (called from exec_desc.c) */
void sys_op_swapgs_rdtscp(struct cpu *cpu, const struct insn *in)
{
	if ((in->rm & 7) == 1) {
		op_rdtscp(cpu);
		return;
	}
	if ((in->rm & 7) != 0 || !cpu_64bit(cpu))
		cpu_raise_ud(cpu);
	require_cpl0(cpu);
	uint64_t t = cpu->s.seg[RV_GS].base;
	cpu->s.seg[RV_GS].base = cpu->s.kernel_gs_base;
	cpu->s.kernel_gs_base = t;
}

/* ------------------------------------------------------------------ */

#define I(m, op, fl, fn, name) { MAP_##m, op, fl, fn, name }

const struct opdesc cpu_ops_sys[] = {
	I(1B, 0x06, OPF_INV64, op_push_seg, "push es"),
	I(1B, 0x07, OPF_INV64, op_pop_seg, "pop es"),
	I(1B, 0x0e, OPF_INV64, op_push_seg, "push cs"),
	I(1B, 0x16, OPF_INV64, op_push_seg, "push ss"),
	I(1B, 0x17, OPF_INV64, op_pop_seg, "pop ss"),
	I(1B, 0x1e, OPF_INV64, op_push_seg, "push ds"),
	I(1B, 0x1f, OPF_INV64, op_pop_seg, "pop ds"),
	I(1B, 0x62, OPF_MODRM | OPF_INV64, op_bound, "bound"),
	I(1B, 0x8c, OPF_MODRM, op_mov_from_sreg, "mov r/m, sreg"),
	I(1B, 0x8e, OPF_MODRM, op_mov_to_sreg, "mov sreg, r/m"),
	I(1B, 0x9a, OPF_FARPTR | OPF_INV64, op_call_far, "call far"),
	I(1B, 0x9c, OPF_DEF64, op_pushf, "pushf"),
	I(1B, 0x9d, OPF_DEF64, op_popf, "popf"),
	I(1B, 0xc4, OPF_MODRM | OPF_INV64, op_load_far_ptr, "les"),
	I(1B, 0xc5, OPF_MODRM | OPF_INV64, op_load_far_ptr, "lds"),
	I(1B, 0xca, OPF_IMM16, op_retf, "retf imm16"),
	I(1B, 0xcb, 0, op_retf, "retf"),
	I(1B, 0xcc, 0, op_int3, "int3"),
	I(1B, 0xcd, OPF_IMM8U, op_int, "int"),
	I(1B, 0xce, OPF_INV64, op_into, "into"),
	I(1B, 0xcf, 0, op_iret, "iret"),
	I(1B, 0xe4, OPF_BYTE | OPF_IMM8U, op_in, "in al, imm8"),
	I(1B, 0xe5, OPF_IMM8U, op_in, "in eax, imm8"),
	I(1B, 0xe6, OPF_BYTE | OPF_IMM8U, op_out, "out imm8, al"),
	I(1B, 0xe7, OPF_IMM8U, op_out, "out imm8, eax"),
	I(1B, 0xea, OPF_FARPTR | OPF_INV64, op_jmp_far, "jmp far"),
	I(1B, 0xec, OPF_BYTE, op_in, "in al, dx"),
	I(1B, 0xed, 0, op_in, "in eax, dx"),
	I(1B, 0xee, OPF_BYTE, op_out, "out dx, al"),
	I(1B, 0xef, 0, op_out, "out dx, eax"),
	I(1B, 0xf1, 0, op_icebp, "int1"),
	I(1B, 0xf4, 0, op_hlt, "hlt"),
	I(1B, 0xfa, 0, op_cli_sti, "cli"),
	I(1B, 0xfb, 0, op_cli_sti, "sti"),
	I(0F, 0x00, OPF_MODRM, sys_op_grp6, "grp6"),
	I(0F, 0x01, OPF_MODRM, sys_op_grp7, "grp7"),
	I(0F, 0x02, OPF_MODRM, sys_op_lar, "lar"),
	I(0F, 0x03, OPF_MODRM, sys_op_lsl, "lsl"),
	I(0F, 0x05, 0, op_syscall, "syscall"),
	I(0F, 0x06, 0, op_clts, "clts"),
	I(0F, 0x07, 0, op_sysret, "sysret"),
	I(0F, 0x08, 0, op_wbinvd, "invd"),
	I(0F, 0x09, 0, op_wbinvd, "wbinvd"),
	I(0F, 0x20, OPF_MODRM, op_mov_from_cr, "mov r, cr"),
	I(0F, 0x21, OPF_MODRM, op_mov_from_dr, "mov r, dr"),
	I(0F, 0x22, OPF_MODRM, op_mov_to_cr, "mov cr, r"),
	I(0F, 0x23, OPF_MODRM, op_mov_to_dr, "mov dr, r"),
	I(0F, 0x30, 0, op_wrmsr, "wrmsr"),
	I(0F, 0x31, 0, op_rdtsc, "rdtsc"),
	I(0F, 0x32, 0, op_rdmsr, "rdmsr"),
	I(0F, 0x33, 0, op_rdpmc, "rdpmc"),
	I(0F, 0x34, 0, op_sysenter, "sysenter"),
	I(0F, 0x35, 0, op_sysexit, "sysexit"),
	I(0F, 0xa0, OPF_DEF64, op_push_seg, "push fs"),
	I(0F, 0xa1, OPF_DEF64, op_pop_seg, "pop fs"),
	I(0F, 0xa2, 0, op_cpuid, "cpuid"),
	I(0F, 0xa8, OPF_DEF64, op_push_seg, "push gs"),
	I(0F, 0xa9, OPF_DEF64, op_pop_seg, "pop gs"),
	I(0F, 0xb2, OPF_MODRM, op_load_far_ptr, "lss"),
	I(0F, 0xb4, OPF_MODRM, op_load_far_ptr, "lfs"),
	I(0F, 0xb5, OPF_MODRM, op_load_far_ptr, "lgs"),
	{ 0 }
};

/* Event delivery: real-mode IVT, protected-mode and long-mode IDT gates, #DF and triple fault. */
#include "cpu/svm.h"
#include "cpu/sys.h"

#define SV_READ (ACC_READ | ACC_IMPLICIT_SV)

/* Exception classes for #DF (Intel SDM vol. 3, 6.15, Table 6-4 and 6-5). */
enum exc_class { CLASS_BENIGN, CLASS_CONTRIB, CLASS_PF };

static enum exc_class exc_class_of(int vector)
{
	switch (vector) {
	case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP:
		return CLASS_CONTRIB;
	case EXC_PF:
		return CLASS_PF;
	default:
		return CLASS_BENIGN;
	}
}

/* INT n, INT3 and INTO are the program's own: their gate DPL is checked and EXT is clear. */
static bool kind_is_soft(enum event_kind kind)
{
	return kind == EV_SOFTWARE || kind == EV_SOFT_EXCEPTION;
}

/* The RIP an event saves: past the instruction for software interrupts, else the current one. */
static uint64_t event_return_rip(const struct cpu *cpu, enum event_kind kind)
{
	if (kind == EV_SOFTWARE || kind == EV_SOFT_EXCEPTION || kind == EV_PRIV_SOFT)
		return cpu->next_rip;
	return cpu->s.rip;
}

/*
 * The RFLAGS image an event pushes. Faults push RF = 1 so that the
 * restarted instruction does not hit its own instruction breakpoint again;
 * a #DB for an instruction breakpoint pushes RF as it is (0), and so does
 * everything else (SDM vol. 3, 17.3.1.1).
 */
static uint64_t event_flags(struct cpu *cpu, int vector, enum event_kind kind)
{
	uint64_t f = cpu_get_rflags(cpu);
	bool fault;

	if (kind != EV_EXCEPTION)
		return f;
	switch (vector) {
	case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP:
	case EXC_SS: case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM:
		fault = true;
		break;
	case EXC_DB:
		fault = (cpu->dbg_trap & DBG_T_FAULTRF) != 0;	/* DR7.GD */
		break;
	default:
		fault = false;
	}
	return fault ? f | RV_FLAG_RF : f;
}

static void set_rip(struct cpu *cpu, uint64_t rip)
{
	cpu->s.rip = rip;
	cpu->next_rip = rip;
}

/* Real mode: 4-byte IVT entries at IDTR.base (SDM vol. 3, 21.1.4). */
static void deliver_real(struct cpu *cpu, int vector, uint64_t ret_rip)
{
	uint32_t off = (uint32_t)vector * 4;
	if (off + 3 > cpu->s.idtr.limit)
		cpu_raise(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
	uint32_t ent = (uint32_t)cpu_lin_read(cpu, (cpu->s.idtr.base + off) & 0xffffffff, 4, SV_READ);

	struct sys_stack st;
	sys_stack_init(cpu, &st);
	sys_stack_check_push(cpu, &st, 6);
	uint64_t flags = cpu_get_rflags(cpu);
	sys_stack_push(cpu, &st, flags, 2);
	sys_stack_push(cpu, &st, cpu->s.seg[RV_CS].selector, 2);
	sys_stack_push(cpu, &st, ret_rip, 2);

	cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
	cpu_set_rflags(cpu, flags & ~(uint64_t)(RV_FLAG_IF | RV_FLAG_TF | RV_FLAG_AC | RV_FLAG_RF));
	cpu_load_seg_real(cpu, RV_CS, (uint16_t)(ent >> 16));
	set_rip(cpu, ent & 0xffff);
}

/* Common checks of the code segment a gate points to; returns its descriptor. */
static uint64_t gate_target(struct cpu *cpu, uint16_t sel, uint32_t ext)
{
	if ((sel & ~3u) == 0)
		cpu_raise(cpu, EXC_GP, ext);
	uint64_t d = sys_read_descriptor_ext(cpu, sel, EXC_GP, ext);
	if (!desc_is_code(d) || DESC_DPL(d) > cpu->s.cpl)
		cpu_raise(cpu, EXC_GP, (sel & 0xfffc) | ext);
	if (cpu_long_mode(cpu) && (!DESC_L(d) || DESC_DB(d)))
		cpu_raise(cpu, EXC_GP, (sel & 0xfffc) | ext);
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, (sel & 0xfffc) | ext);
	return d;
}

/* Protected mode through 8-byte interrupt/trap gates (SDM vol. 3, 6.12; INT n "Operation"). */
static void deliver_prot(struct cpu *cpu, int vector, enum event_kind kind, bool has_error,
			 uint32_t error, uint64_t ret_rip)
{
	uint32_t ext = kind_is_soft(kind) ? 0 : 1;
	uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
	unsigned cpl = cpu->s.cpl;

	if ((uint32_t)vector * 8 + 7 > cpu->s.idtr.limit)
		cpu_raise(cpu, EXC_GP, idt_err);
	uint64_t gate = cpu_lin_read(cpu, (cpu->s.idtr.base + (uint32_t)vector * 8) & 0xffffffff, 8, SV_READ);
	unsigned type = DESC_TYPE(gate);
	if (DESC_S(gate) || (type != SYST_TASKGATE && type != SYST_INTGATE16 && type != SYST_TRAPGATE16 &&
			     type != SYST_INTGATE && type != SYST_TRAPGATE))
		cpu_raise(cpu, EXC_GP, idt_err);
	if (kind_is_soft(kind) && DESC_DPL(gate) < cpl)
		cpu_raise(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
	if (!DESC_P(gate))
		cpu_raise(cpu, EXC_NP, idt_err);
	/* A task gate: switch tasks; an error code goes on the new task's stack (SDM 6.12.2). */
	if (type == SYST_TASKGATE) {
		uint16_t tsel = (uint16_t)(gate >> 16);
		uint64_t td = sys_task_target(cpu, tsel, EXC_TS, ext);
		sys_task_switch(cpu, tsel, td, TASK_INT, ret_rip, has_error, error, ext);
		return;
	}

	bool gate32 = type >= SYST_INTGATE;
	unsigned sz = gate32 ? 4 : 2;
	uint16_t sel = (uint16_t)(gate >> 16);
	uint64_t off = gate & 0xffff;
	if (gate32)
		off |= ((gate >> 48) & 0xffff) << 16;

	uint64_t d = gate_target(cpu, sel, ext);
	unsigned dpl = DESC_DPL(d);
	bool vm86 = cpu->mode == MODE_VM86;
	bool inter = !desc_is_conforming(d) && dpl < cpl;
	uint64_t flags = event_flags(cpu, vector, kind);
	struct sys_stack st;
	uint16_t nss = 0;
	uint64_t ssd = 0;
	unsigned new_cpl;

	if (inter) {
		if (vm86 && dpl != 0)
			cpu_raise(cpu, EXC_GP, (sel & 0xfffc) | ext);
		uint64_t nsp;
		sys_tss_stack(cpu, dpl, &nss, &nsp, ext);
		if ((nss & ~3u) == 0)
			cpu_raise(cpu, EXC_TS, ext);
		ssd = sys_read_descriptor_ext(cpu, nss, EXC_TS, ext);
		if ((nss & 3u) != dpl || DESC_DPL(ssd) != dpl || !desc_is_writable_data(ssd))
			cpu_raise(cpu, EXC_TS, (nss & 0xfffc) | ext);
		if (!DESC_P(ssd))
			cpu_raise(cpu, EXC_SS, (nss & 0xfffc) | ext);
		cpu_desc_to_seg(ssd, nss, &st.ss);
		st.sp = nsp;
		st.width = DESC_DB(ssd) ? 4 : 2;
		st.access = ACC_WRITE | (dpl < 3 ? ACC_IMPLICIT_SV : 0);
		st.fault_error = (nss & 0xfffc) | ext;
		new_cpl = dpl;
		sys_stack_check_push(cpu, &st, ((vm86 ? 9u : 5u) + has_error) * sz);
	} else {
		if (vm86)
			cpu_raise(cpu, EXC_GP, (sel & 0xfffc) | ext);
		sys_stack_init(cpu, &st);
		st.fault_error = ext;
		new_cpl = cpl;
		sys_stack_check_push(cpu, &st, (3u + has_error) * sz);
	}
	if (off > desc_limit(d))
		cpu_raise(cpu, EXC_GP, ext);

	if (inter) {
		if (vm86) {
			sys_stack_push(cpu, &st, cpu->s.seg[RV_GS].selector, sz);
			sys_stack_push(cpu, &st, cpu->s.seg[RV_FS].selector, sz);
			sys_stack_push(cpu, &st, cpu->s.seg[RV_DS].selector, sz);
			sys_stack_push(cpu, &st, cpu->s.seg[RV_ES].selector, sz);
		}
		sys_stack_push(cpu, &st, cpu->s.seg[RV_SS].selector, sz);
		sys_stack_push(cpu, &st, cpu->s.gpr[RV_RSP], sz);
	}
	sys_stack_push(cpu, &st, flags, sz);
	sys_stack_push(cpu, &st, cpu->s.seg[RV_CS].selector, sz);
	sys_stack_push(cpu, &st, ret_rip, sz);
	if (has_error)
		sys_stack_push(cpu, &st, error, sz);

	/* Accessed bits before anything is committed: they are the last accesses that can fault. */
	sys_set_accessed(cpu, sel, d);
	if (inter)
		sys_set_accessed(cpu, nss, ssd);

	/* Commit. */
	flags &= ~(uint64_t)(RV_FLAG_TF | RV_FLAG_NT | RV_FLAG_VM | RV_FLAG_RF);
	if (!(type & 1))
		flags &= ~(uint64_t)RV_FLAG_IF;
	cpu_set_rflags(cpu, flags);
	sys_set_cs(cpu, sel, d | DESC_ACCESSED, new_cpl);
	if (inter) {
		cpu_desc_to_seg(ssd | DESC_ACCESSED, nss, &cpu->s.seg[RV_SS]);
		cpu->s.gpr[RV_RSP] = st.width == 4 ? (uint32_t)st.sp : sys_stack_rsp(cpu, &st);
		if (vm86) {
			sys_load_null(cpu, RV_ES, 0);
			sys_load_null(cpu, RV_DS, 0);
			sys_load_null(cpu, RV_FS, 0);
			sys_load_null(cpu, RV_GS, 0);
		}
		cpu_update_mode(cpu);
	} else {
		cpu->s.gpr[RV_RSP] = sys_stack_rsp(cpu, &st);
	}
	set_rip(cpu, off);
}

/* Long mode through 16-byte gates (AMD APM vol. 2, 8.9; SDM vol. 3, 6.14). */
static void deliver_long(struct cpu *cpu, int vector, enum event_kind kind, bool has_error,
			 uint32_t error, uint64_t ret_rip)
{
	uint32_t ext = kind_is_soft(kind) ? 0 : 1;
	uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
	unsigned cpl = cpu->s.cpl;

	if ((uint32_t)vector * 16 + 15 > cpu->s.idtr.limit)
		cpu_raise(cpu, EXC_GP, idt_err);
	uint64_t addr = cpu->s.idtr.base + (uint32_t)vector * 16;
	uint64_t lo = cpu_lin_read(cpu, addr, 8, SV_READ);
	uint64_t hi = cpu_lin_read(cpu, addr + 8, 8, SV_READ);
	unsigned type = DESC_TYPE(lo);
	if (DESC_S(lo) || (type != SYST_INTGATE && type != SYST_TRAPGATE))
		cpu_raise(cpu, EXC_GP, idt_err);
	if (kind_is_soft(kind) && DESC_DPL(lo) < cpl)
		cpu_raise(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
	if (!DESC_P(lo))
		cpu_raise(cpu, EXC_NP, idt_err);

	uint16_t sel = (uint16_t)(lo >> 16);
	uint64_t off = (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | ((hi & 0xffffffff) << 32);
	unsigned ist = (unsigned)(lo >> 32) & 7;
	uint64_t d = gate_target(cpu, sel, ext);
	unsigned dpl = DESC_DPL(d);
	bool inter = !desc_is_conforming(d) && dpl < cpl;
	unsigned new_cpl = inter ? dpl : cpl;

	struct sys_stack st;
	sys_stack_init(cpu, &st);
	if (ist)
		st.sp = sys_tss_rsp64(cpu, 3 + ist, ext);
	else if (inter)
		st.sp = sys_tss_rsp64(cpu, dpl, ext);
	st.width = 8;
	st.sp &= ~0xfull;	/* the frame is 16-byte aligned in long mode */
	st.access = ACC_WRITE | (new_cpl < 3 ? ACC_IMPLICIT_SV : 0);
	if (!sys_canonical(off))
		cpu_raise(cpu, EXC_GP, ext);
	sys_stack_check_push(cpu, &st, (5u + has_error) * 8);

	uint64_t flags = event_flags(cpu, vector, kind);
	sys_stack_push(cpu, &st, cpu->s.seg[RV_SS].selector, 8);
	sys_stack_push(cpu, &st, cpu->s.gpr[RV_RSP], 8);
	sys_stack_push(cpu, &st, flags, 8);
	sys_stack_push(cpu, &st, cpu->s.seg[RV_CS].selector, 8);
	sys_stack_push(cpu, &st, ret_rip, 8);
	if (has_error)
		sys_stack_push(cpu, &st, error, 8);
	sys_set_accessed(cpu, sel, d);

	flags &= ~(uint64_t)(RV_FLAG_TF | RV_FLAG_NT | RV_FLAG_VM | RV_FLAG_RF);
	if (!(type & 1))
		flags &= ~(uint64_t)RV_FLAG_IF;
	cpu_set_rflags(cpu, flags);
	sys_set_cs(cpu, sel, d | DESC_ACCESSED, new_cpl);
	if (inter)
		sys_load_null(cpu, RV_SS, (uint16_t)new_cpl);	/* SS = NULL with RPL = new CPL */
	cpu->s.gpr[RV_RSP] = st.sp;
	set_rip(cpu, off);
}

static void deliver_once(struct cpu *cpu, int vector, enum event_kind kind, bool has_error, uint32_t error)
{
	uint64_t ret_rip = event_return_rip(cpu, kind);

	/* INT n, INT3, INTO, INT1 clear TF on the way in: no single-step trap follows them (SDM 17.3.1.4) */
	if (kind != EV_EXCEPTION && kind != EV_EXTERNAL && kind != EV_NMI && (cpu->s.rflags & RV_FLAG_TF))
		cpu->dbg_trap |= DBG_T_NOSTEP;
	if (cpu->mode == MODE_REAL)
		deliver_real(cpu, vector, ret_rip);
	else if (cpu_long_mode(cpu))
		deliver_long(cpu, vector, kind, has_error, error, ret_rip);
	else
		deliver_prot(cpu, vector, kind, has_error, error, ret_rip);
	if (kind == EV_NMI)
		cpu->nmi_blocked = true;
	if (vector == EXC_DB) {
		/* the handler may use the debug registers: GD is cleared on entry (SDM 17.2.4) */
		cpu->s.dr7 &= ~(uint64_t)(1u << 13);
		/*
		 * A delivered #DB consumes the traps a MOV SS / POP SS deferred: after
		 * MOV SS; INT1 hardware enters the handler once, without a second #DB
		 * on its first instruction (which would reuse the IST frame and loop;
		 * Linux's mov_ss_trap selftest). After MOV SS; INT3 / INT n / SYSCALL
		 * the deferred #DB still follows the handler's first instruction.
		 */
		cpu->dbg_trap &= ~(DBG_T_FAULTRF | DBG_T_PENDING);
		cpu->dbg_defer = 0;
	}
	cpu->halted = false;
}

/* Leave delivery for good: a triple fault or an exit while reading the tables. */
static void delivery_abort(struct cpu *cpu, jmp_buf *outer)
{
	cpu->unwind = outer;
	cpu->exc_nesting = -1;
	cpu->exc_vector = -1;
	if (outer)
		cpu_exit_restart(cpu);	/* unwinds as an exit: cpu_run returns cpu->exit.reason */
}

/* A #VMEXIT replaced the state during delivery: leave it for the run loop at the host's RIP. */
static _Noreturn void delivery_switch(struct cpu *cpu, jmp_buf *outer)
{
	cpu->unwind = outer;
	cpu->exc_nesting = -1;
	cpu->exc_vector = -1;
	cpu_unwind_switch(cpu);
}

/*
 * Faults raised while an event is delivered come back here (cpu_raise
 * unwinds to our jmp_buf). They combine with the event as SDM vol. 3,
 * Table 6-5 says: contributory after contributory, or a contributory fault
 * or #PF after #PF, become #DF; any fault while delivering #DF is a triple
 * fault (shutdown); everything else is delivered serially instead.
 */
void cpu_deliver_event(struct cpu *cpu, int vector, enum event_kind kind, bool has_error, uint32_t error)
{
	jmp_buf jb;
	jmp_buf *outer = cpu->unwind;
	volatile int vec = vector;
	volatile int k = kind;
	volatile bool he = has_error;
	volatile uint32_t err = error;
	volatile uint64_t intinfo = 0;	/* EXITINTINFO: the event whose delivery raised this one */

	volatile int r;

	cpu->exc_vector = -1;
	cpu->unwind = &jb;
	r = setjmp(jb);
	if (r != 0) {
		int nv = cpu->exc_vector;
		/* a #NPF met on the way (svm_npf) has switched to the host already */
		if (r == UNWIND_SWITCH)
			delivery_switch(cpu, outer);
		if (nv < 0) {
			delivery_abort(cpu, outer);
			return;
		}
		enum exc_class first = k == EV_EXCEPTION ? exc_class_of(vec) : CLASS_BENIGN;
		enum exc_class second = exc_class_of(nv);
		intinfo = svm_intinfo(vec, k, he && cpu->mode != MODE_REAL, err);
		/*
		 * A guest's host sees the fault itself if it intercepts it, with
		 * the event being delivered in EXITINTINFO (APM 15.7.2), before
		 * the two make a #DF or a triple fault (as KVM's nested SVM and
		 * QEMU do; KVM's nested_exceptions_test checks it).
		 */
		if (__builtin_expect(cpu->svm.guest, 0) &&
		    svm_event_intercepted(cpu, nv, EV_EXCEPTION, cpu->exc_has_error && cpu->mode != MODE_REAL,
					  cpu->exc_error, intinfo))
			delivery_switch(cpu, outer);
		if (k == EV_EXCEPTION && vec == EXC_DF) {
			/* a guest's triple fault is the host's business when it intercepts shutdown (APM 15.12) */
			if (cpu->svm.guest && (cpu->svm.icpt_misc1 >> SVM_I_SHUTDOWN & 1)) {
				svm_vmexit(cpu, SVM_EXIT_SHUTDOWN, 0, 0, 0);
				delivery_switch(cpu, outer);
			}
			cpu->exit.reason = CPU_EXIT_SHUTDOWN;
			delivery_abort(cpu, outer);
			return;
		}
		if ((first == CLASS_CONTRIB && second == CLASS_CONTRIB) ||
		    (first == CLASS_PF && second != CLASS_BENIGN)) {
			vec = EXC_DF;
			he = true;
			err = 0;
		} else {
			vec = nv;
			he = cpu->exc_has_error;
			err = cpu->exc_error;
		}
		k = EV_EXCEPTION;
		cpu->exc_vector = -1;
	}
	if (__builtin_expect(cpu->svm.guest, 0) &&
	    svm_event_intercepted(cpu, vec, k, he && cpu->mode != MODE_REAL, err, intinfo))
		delivery_switch(cpu, outer);
	cpu->exc_nesting = vec;
	if (__builtin_expect(cpu->svm.guest, 0))
		cpu->svm.event = svm_intinfo(vec, k, he && cpu->mode != MODE_REAL, err);
	deliver_once(cpu, vec, (enum event_kind)k, he && cpu->mode != MODE_REAL, err);
	cpu->unwind = outer;
	cpu->exc_nesting = -1;
}

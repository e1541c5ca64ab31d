/* Interrupts for the guest of AMD-V: GIF, V_INTR_MASKING, V_TPR and virtual interrupts (AMD APM vol. 2, 15.17, 15.21). */
#include "cpu/svm.h"

/* VMCB offset 0x60, V_INTR (APM vol. 2, table B-1); V_INTR_VECTOR is the byte at 0x64 */
#define V_TPR               0xfull
#define V_IRQ               (1ull << 8)
#define V_INTR_PRIO_SHIFT   16
#define V_IGN_TPR           (1ull << 20)
#define V_INTR_MASKING      (1ull << 24)
#define V_INTR_VECTOR_SHIFT 32
/* INT_STATE (offset 0x68) */
#define INT_SHADOW          (1ull << 0)
#define GUEST_INT_MASK      (1ull << 1)

/*
 * VGIF (bits 9, 25), V_NMI (11, 12, 26) and AVIC (31) belong to features
 * CPUID 8000_000A EDX does not offer: those bits are ignored.
 */
void svm_vintr_enter(struct cpu *cpu, uint64_t vintr, bool host_if)
{
	struct cpu_svm *v = &cpu->svm;

	v->v_tpr = (uint8_t)(vintr & V_TPR);
	v->v_irq = (vintr & V_IRQ) != 0;
	v->v_intr_prio = (uint8_t)(vintr >> V_INTR_PRIO_SHIFT & 0xf);
	v->v_ign_tpr = (vintr & V_IGN_TPR) != 0;
	v->v_intr_masking = (vintr & V_INTR_MASKING) != 0;
	v->v_intr_vector = (uint8_t)(vintr >> V_INTR_VECTOR_SHIFT);
	v->host_if = host_if;
}

uint64_t svm_vintr_exit(struct cpu *cpu, uint64_t vintr, uint64_t *int_state)
{
	struct cpu_svm *v = &cpu->svm;

	/* 15.6: V_IRQ, V_TPR and the shadow are written back; GUEST_INTERRUPT_MASK too (table B-1) */
	vintr = (vintr & ~(V_TPR | V_IRQ)) | v->v_tpr | (v->v_irq ? V_IRQ : 0);
	*int_state = (cpu->shadow ? INT_SHADOW : 0) | (cpu->s.rflags & RV_FLAG_IF ? GUEST_INT_MASK : 0);
	/* the internal V_IRQ and V_INTR_MASKING clear: interrupt control is the host's again (15.21.4) */
	v->v_irq = false;
	v->v_intr_masking = false;
	return vintr;
}

/*
 * GIF = 0 holds NMIs and interrupts (15.17). In guest mode an NMI with
 * the NMI intercept exits, held pending for the host (15.21.9); a physical
 * interrupt, or the VMM waiting for an interrupt window (its interrupt
 * controller's INTR line is up, not yet acknowledged), exits with the
 * INTR intercept once the physical window is open: the host's IF saved at
 * VMRUN under V_INTR_MASKING, else the guest's (15.21.1), and not the
 * interrupt shadow, which holds back only what the guest takes itself.
 * Physical interrupts come before virtual ones (15.21.4); the virtual one
 * is taken with V_IRQ set, the guest's IF set, no shadow, and a priority
 * above V_TPR unless V_IGN_TPR; with the VINTR intercept the exit comes
 * instead, at the point it would be taken, V_IRQ staying set (15.13.5).
 */
bool cpu_loop_needed(const struct cpu *cpu)
{
	return __atomic_load_n(&cpu->kick, __ATOMIC_ACQUIRE) || cpu->halted ||
	       cpu->mem_generation != __atomic_load_n(&cpu->mem, __ATOMIC_ACQUIRE)->generation ||
	       cpu_event_step(cpu) != EVS_NONE;
}

enum cpu_event_step cpu_event_step(const struct cpu *cpu)
{
	const struct cpu_svm *v = &cpu->svm;
	bool nmi = cpu->pending_nmi && !cpu->nmi_blocked;
	bool irq = cpu->pending_irq >= 0 || cpu->irq_window_exit;
	bool guest_if = (cpu->s.rflags & RV_FLAG_IF) != 0;
	bool phys_if = v->v_intr_masking ? v->host_if : guest_if;

	if (v->gif_clear)
		return EVS_NONE;
	if (v->guest) {
		if (nmi && (v->icpt_misc1 >> SVM_I_NMI & 1))
			return EVS_EXIT_NMI;
		if (irq && phys_if && (v->icpt_misc1 >> SVM_I_INTR & 1))
			return EVS_EXIT_INTR;
	}
	if (cpu->shadow)
		return EVS_NONE;
	if (nmi)
		return EVS_NMI;
	if (irq && phys_if)
		return EVS_INTR;
	if (v->v_irq && guest_if && (v->v_ign_tpr || v->v_intr_prio > v->v_tpr))
		return v->icpt_misc1 >> SVM_I_VINTR & 1 ? EVS_EXIT_VINTR : EVS_VINTR;
	return EVS_NONE;
}

void svm_take_virq(struct cpu *cpu)
{
	/* after the VINTR intercept's check, before the IDT: a #VMEXIT on the way leaves V_IRQ clear */
	cpu->svm.v_irq = false;
	cpu->halted = false;
	cpu_deliver_event(cpu, cpu->svm.v_intr_vector, EV_EXTERNAL, false, 0);
}

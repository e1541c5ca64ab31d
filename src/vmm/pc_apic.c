/* The APIC half of the PC: a local APIC per vCPU, the IOAPIC, ISA IRQ fan-out, interrupt acknowledge, x2APIC MSRs, INIT and SIPI. */
#include <stdio.h>
#include <string.h>

#include "vmm/machine_priv.h"

static struct vm_vcpu *apic_vcpu(struct machine *m, unsigned cpu)
{
	return cpu < m->nr_vcpus ? &m->vcpu[cpu] : NULL;
}

/* Something for vCPU `cpu`: wake it from HLT (or a SIPI wait) and out of rv_vcpu_run(). */
static void apic_wake(struct machine *m, unsigned cpu)
{
	struct vm_vcpu *v = apic_vcpu(m, cpu);

	if (!v)
		return;
	pthread_mutex_lock(&m->lock);
	v->wake = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	rv_vcpu_kick(v->cpu);
}

static void apic_notify(void *opaque, unsigned cpu)
{
	apic_wake(opaque, cpu);
}

static void apic_nmi(void *opaque, unsigned cpu)
{
	struct machine *m = opaque;
	struct vm_vcpu *v = apic_vcpu(m, cpu);

	if (!v)
		return;
	rv_vcpu_nmi(v->cpu);
	apic_wake(m, cpu);
}

/* INIT (SDM vol. 3A 8.4): the target resets and waits for a SIPI; its own thread applies it. */
static void apic_init_ipi(void *opaque, unsigned cpu)
{
	struct machine *m = opaque;
	struct vm_vcpu *v = apic_vcpu(m, cpu);

	if (!v)
		return;
	pthread_mutex_lock(&m->lock);
	v->init_pending = true;
	v->sipi_pending = false;
	atomic_store(&v->mp_event, true);
	v->wake = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	rv_vcpu_kick(v->cpu);
}

/* A SIPI starts only a processor that waits for one; others ignore it (the second SIPI of the MP protocol). */
static void apic_sipi(void *opaque, unsigned cpu, uint8_t vector)
{
	struct machine *m = opaque;
	struct vm_vcpu *v = apic_vcpu(m, cpu);

	if (!v)
		return;
	pthread_mutex_lock(&m->lock);
	if ((v->wait_sipi || v->init_pending) && !v->sipi_pending) {
		v->sipi_pending = true;
		v->sipi_vector = vector;
		atomic_store(&v->mp_event, true);
		v->wake = true;
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
}

static void apic_eoi(void *opaque, uint8_t vector)
{
	struct machine *m = opaque;

	ioapic_eoi(&m->pc.ioapic, vector);
}

void pc_isa_irq_set(void *opaque, int irq, bool level)
{
	struct machine *m = opaque;

	i8259_set_irq(&m->pc.pic, irq, level);
	/* the PC wiring ACPI's MADT describes: ISA IRQ 0 is GSI 2, the others identity-mapped */
	ioapic_set_irq(&m->pc.ioapic, irq == 0 ? 2 : irq, level);
}

/*
 * MSI message format (SDM vol. 3A 11.11.1, 11.11.2). Address: 0xFEE in
 * bits 31:20, destination ID in 19:12, redirection hint in bit 3,
 * destination mode (1 = logical) in bit 2. Data: vector in 7:0, delivery
 * mode in 10:8, level in 14, trigger mode (1 = level) in 15.
 */
#define MSI_ADDR_BASE     0xfee00000ull
#define MSI_ADDR_RH       (1u << 3)
#define MSI_ADDR_LOGICAL  (1u << 2)
#define MSI_DATA_TRIGGER  (1u << 15)

void pc_msi_deliver(struct machine *m, uint64_t addr, uint32_t data)
{
	struct pc_platform *pc = &m->pc;
	enum apic_dm dm = (data >> 8) & 7;
	uint8_t vector = (uint8_t)data;
	uint32_t dest = (uint32_t)(addr >> 12) & 0xff;

	if ((addr & ~0xfffffull) != MSI_ADDR_BASE) {
		/* Not the interrupt range: on a PC such a write goes to memory; here nowhere. */
		if (!pc->msi_bad_logged)
			machine_log(m, "MSI write of 0x%x to 0x%llx dropped: not in 0xFEE00000-0xFEEFFFFF"
				    " (logged once)", data, (unsigned long long)addr);
		pc->msi_bad_logged = true;
		return;
	}
	switch (dm) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (vector < 16) {
			machine_log(m, "MSI with illegal vector %u dropped", vector);
			return;
		}
		break;
	case APIC_DM_NMI:
	case APIC_DM_INIT:
	case APIC_DM_EXTINT:
		break;
	default:			/* SMI (no SMM), SIPI and the reserved modes */
		machine_log(m, "MSI with delivery mode %u dropped", dm);
		return;
	}
	/*
	 * With the redirection hint set the message goes to the lowest-priority
	 * processor among the destinations (11.11.1); ringvm's "lowest" is the
	 * first match. Linux sets RH = 0 and uses DM for physical/logical, as
	 * KVM and QEMU read it whatever RH says.
	 */
	if ((addr & MSI_ADDR_RH) && dm == APIC_DM_FIXED)
		dm = APIC_DM_LOWEST;
	/* An 8-bit 0xFF is the broadcast also for LAPICs in x2APIC mode (whose broadcast is 0xFFFFFFFF). */
	if (dest == 0xff)
		dest = 0xffffffffu;
	apic_bus_deliver(&pc->apics, dest, addr & MSI_ADDR_LOGICAL, dm, vector,
			 (data & MSI_DATA_TRIGGER) != 0);
}

static void pc_lapic_mmio(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
			  bool is_write, uint64_t *data)
{
	struct machine *m = opaque;

	pthread_mutex_lock(&m->pc.lock);
	if (cpu < m->nr_vcpus)
		lapic_mmio(&m->pc.lapic[cpu], offset, size, is_write, data);
	else if (!is_write)
		*data = 0;
	pthread_mutex_unlock(&m->pc.lock);
}

static void pc_ioapic_mmio(void *opaque, uint64_t offset, unsigned size, bool is_write,
			   uint64_t *data)
{
	struct machine *m = opaque;

	pthread_mutex_lock(&m->pc.lock);
	ioapic_mmio(&m->pc.ioapic, offset, size, is_write, data);
	pthread_mutex_unlock(&m->pc.lock);
}

/* A machine reset: every APIC to power-on, the APs back to waiting for INIT-SIPI. Platform lock held. */
static void pc_apic_reset(void *opaque)
{
	struct machine *m = opaque;
	uint32_t id = m->pc.ioapic.id;

	for (unsigned i = 0; i < m->cfg.cpus; i++)
		lapic_reset(&m->pc.lapic[i], true);
	ioapic_reset(&m->pc.ioapic);
	m->pc.ioapic.id = id;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct vm_vcpu *v = &m->vcpu[i];

		v->wake = v->init_pending = v->sipi_pending = false;
		v->wait_sipi = i != 0;
		atomic_store(&v->mp_event, i != 0);
		v->cr8 = 0;
	}
	pthread_mutex_unlock(&m->lock);
}

/*
 * TSC-deadline mode: the guest TSC runs at RV_DEFAULT_TSC_HZ from the VM's
 * clock (plus the vCPU's own offset, if it wrote IA32_TSC), so a deadline
 * maps to clock time by the distance from the vCPU's TSC now. The LAPIC asks
 * on the vCPU's own thread (the MSR write's exit), so reading its TSC is safe.
 */
static uint64_t apic_tsc_to_ns(void *opaque, unsigned cpu, uint64_t tsc)
{
	struct machine *m = opaque;
	uint64_t now_ns = clock_now(&m->pc.clock), now_tsc;

	if (rv_vcpu_get_msr(m->vcpu[cpu].cpu, RV_MSR_TSC, &now_tsc) || tsc <= now_tsc)
		return now_ns;
	return now_ns + (uint64_t)((unsigned __int128)(tsc - now_tsc) * 1000000000u / RV_DEFAULT_TSC_HZ);
}

int pc_apic_create(struct machine *m, char *err, size_t errlen)
{
	struct pc_platform *pc = &m->pc;
	const struct apic_ops ops = {
		.notify = apic_notify,
		.nmi = apic_nmi,
		.init = apic_init_ipi,
		.sipi = apic_sipi,
		.eoi = apic_eoi,
		.tsc_to_ns = apic_tsc_to_ns,
		.opaque = m,
	};
	int ret;

	apic_bus_init(&pc->apics, &pc->clock, &ops);
	for (unsigned i = 0; i < m->cfg.cpus && i < LAPIC_MAX; i++) {
		struct vm_vcpu *v = &m->vcpu[i];

		lapic_init(&pc->lapic[i], &pc->apics, i);
		/* APs wait for INIT-SIPI-SIPI from the BSP (SDM vol. 3A 8.4.1) */
		v->wait_sipi = i != 0;
		atomic_init(&v->mp_event, i != 0);
	}
	ioapic_init(&pc->ioapic, &pc->apics);
	pc->ioapic.id = m->cfg.cpus;	/* after the LAPIC IDs, as the MADT says */

	ret = bus_register_cpu(&m->mmio, LAPIC_BASE, LAPIC_SIZE, pc_lapic_mmio, m, "lapic");
	if (!ret)
		ret = bus_register(&m->mmio, IOAPIC_BASE, IOAPIC_SIZE, pc_ioapic_mmio, m, "ioapic");
	if (!ret)
		ret = machine_add_reset_hook(m, pc_apic_reset, m);
	if (ret)
		snprintf(err, errlen, "cannot attach the APICs: %s", strerror(-ret));
	return ret;
}

/* ------------------------------------------------------------------ */
/* The vCPU thread's side.                                             */

static bool apic_pic_ready(struct vm_vcpu *v)
{
	struct pc_platform *pc = &v->m->pc;

	return v->index == 0 && lapic_accepts_pic(&pc->lapic[0]) && i8259_pending(&pc->pic);
}

bool apic_vcpu_want_irq(struct vm_vcpu *v)
{
	struct pc_platform *pc = &v->m->pc;
	struct lapic *l = &pc->lapic[v->index];

	if (atomic_load(&l->intr))
		return true;
	/* the 8259's INTR goes to the BSP's LINT0 (virtual wire) */
	return v->index == 0 && atomic_load(&pc->intr) && lapic_accepts_pic(l);
}

bool apic_vcpu_ack(struct vm_vcpu *v, uint8_t *vector)
{
	struct pc_platform *pc = &v->m->pc;
	bool ok = true;
	int vec;

	pthread_mutex_lock(&pc->lock);
	/* ExtINT is outside the APIC's priority scheme: the PIC goes first */
	if (apic_pic_ready(v)) {
		*vector = i8259_acknowledge(&pc->pic);
	} else {
		vec = lapic_ack(&pc->lapic[v->index]);
		ok = vec >= 0;
		if (ok)
			*vector = (uint8_t)vec;
	}
	pthread_mutex_unlock(&pc->lock);
	return ok;
}

bool apic_vcpu_irq_ready(struct vm_vcpu *v)
{
	return apic_pic_ready(v) || lapic_pending(&v->m->pc.lapic[v->index]);
}

bool apic_vcpu_can_wake(struct vm_vcpu *v)
{
	struct pc_platform *pc = &v->m->pc;
	struct lapic *l = &pc->lapic[v->index];

	if (v->index == 0 && lapic_accepts_pic(l) && !i8259_all_masked(&pc->pic))
		return true;
	/* PCI devices interrupt by MSI too, which no IOAPIC mask shows: any of them may wake a vCPU. */
	return lapic_timer_armed(l) || ioapic_any_unmasked(&pc->ioapic) || pc->pci_irq_sources;
}

/* TPR written through MMIO or MSR: CR8 must show it (SDM vol. 3A 11.8.6). */
static void apic_push_cr8(struct vm_vcpu *v, uint8_t cr8)
{
	struct rv_sregs s;

	if (cr8 == v->cr8 || rv_vcpu_get_sregs(v->cpu, &s))
		return;
	s.cr8 = cr8;
	if (!rv_vcpu_set_sregs(v->cpu, &s))
		v->cr8 = cr8;
}

void apic_vcpu_mmio_done(struct vm_vcpu *v)
{
	struct pc_platform *pc = &v->m->pc;
	uint8_t cr8;

	pthread_mutex_lock(&pc->lock);
	cr8 = lapic_cr8(&pc->lapic[v->index]);
	pthread_mutex_unlock(&pc->lock);
	apic_push_cr8(v, cr8);
}

void apic_vcpu_msr(struct vm_vcpu *v, struct rv_exit *ex)
{
	struct pc_platform *pc = &v->m->pc;
	struct lapic *l = &pc->lapic[v->index];
	uint64_t val = 0;
	uint8_t cr8;
	bool ok;

	pthread_mutex_lock(&pc->lock);
	if (ex->msr.is_write && ex->msr.index == 0x1b)
		ok = lapic_set_base(l, ex->msr.data);
	else if (ex->msr.is_write)
		ok = lapic_msr_write(l, ex->msr.index, ex->msr.data);
	else
		ok = lapic_msr_read(l, ex->msr.index, &val);
	cr8 = lapic_cr8(l);
	pthread_mutex_unlock(&pc->lock);
	ex->msr.error = !ok;
	if (!ex->msr.is_write)
		ex->msr.data = val;
	if (!ok)
		machine_log(v->m, "vCPU %u: %s of MSR 0x%x refused (#GP)", v->index,
			    ex->msr.is_write ? "write" : "read", ex->msr.index);
	if (ok && ex->msr.is_write)
		apic_push_cr8(v, cr8);
}

void apic_vcpu_sync_cr8(struct vm_vcpu *v, uint64_t cr8)
{
	struct pc_platform *pc = &v->m->pc;

	if (cr8 == v->cr8)
		return;
	pthread_mutex_lock(&pc->lock);
	lapic_set_cr8(&pc->lapic[v->index], (uint8_t)cr8);
	pthread_mutex_unlock(&pc->lock);
	v->cr8 = cr8;
}

/* INIT: the power-on state but IA32_APIC_BASE (and the LAPIC's ID) kept (SDM vol. 3A 9.1.1). */
static int apic_apply_init(struct vm_vcpu *v)
{
	struct pc_platform *pc = &v->m->pc;
	struct rv_sregs s;
	uint64_t base;
	int ret;

	pthread_mutex_lock(&pc->lock);
	base = pc->lapic[v->index].apic_base;
	pthread_mutex_unlock(&pc->lock);
	ret = rv_vcpu_reset(v->cpu);
	if (!ret)
		ret = rv_vcpu_get_sregs(v->cpu, &s);
	if (!ret) {
		s.apic_base = base;
		ret = rv_vcpu_set_sregs(v->cpu, &s);
	}
	v->irq_window = false;
	v->cr8 = 0;
	return ret;
}

/* SIPI vector V: real mode at V000:0000 (CS selector V<<8, base V<<12). */
static int apic_apply_sipi(struct vm_vcpu *v, uint8_t vector)
{
	struct rv_sregs s;
	struct rv_regs r;
	int ret = rv_vcpu_get_sregs(v->cpu, &s);

	if (!ret) {
		s.seg[RV_CS].selector = (uint16_t)(vector << 8);
		s.seg[RV_CS].base = (uint64_t)vector << 12;
		s.seg[RV_CS].limit = 0xffff;
		ret = rv_vcpu_set_sregs(v->cpu, &s);
	}
	if (!ret)
		ret = rv_vcpu_get_regs(v->cpu, &r);
	if (!ret) {
		r.rip = 0;
		ret = rv_vcpu_set_regs(v->cpu, &r);
	}
	return ret;
}

bool apic_vcpu_mp_event(struct vm_vcpu *v)
{
	struct machine *m = v->m;
	int ret;

	for (;;) {
		bool init, start = false;
		uint8_t vector = 0;

		pthread_mutex_lock(&m->lock);
		init = v->init_pending;
		if (init) {
			v->init_pending = false;
			v->wait_sipi = true;
		} else if (v->sipi_pending) {
			start = true;
			vector = v->sipi_vector;
			v->sipi_pending = false;
			v->wait_sipi = false;
		}
		if (!init && !v->wait_sipi)
			atomic_store(&v->mp_event, false);
		else if (!init && !start)
			v->wake = false;
		pthread_mutex_unlock(&m->lock);

		if (init) {
			ret = apic_apply_init(v);
			if (ret) {
				machine_finish(m, MACHINE_END_ERROR, v, ret, "vCPU %u: INIT failed: %s",
					       v->index, strerror(-ret));
				return false;
			}
			continue;
		}
		if (start) {
			ret = apic_apply_sipi(v, vector);
			if (ret) {
				machine_finish(m, MACHINE_END_ERROR, v, ret, "vCPU %u: SIPI failed: %s",
					       v->index, strerror(-ret));
				return false;
			}
			machine_log(m, "vCPU %u: started by SIPI at %02x00:0000", v->index, vector);
			return true;
		}
		if (!v->wait_sipi)
			return true;
		if (!vcpu_wait_wake(v, true, "every vCPU is halted or waits for a SIPI: nothing can wake one"))
			return false;
	}
}

/* Machine reset: a guest-requested reset stops the vCPUs, puts vCPUs and devices back to power-on state, reloads the guest, and runs it again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/machine_priv.h"

/* MC146818 registers and bits this file touches (the data sheet's names). */
#define RTC_REG_B_INDEX	0x0b
#define RTC_REG_C_INDEX	0x0c
#define RTC_B_PIE	0x40
#define RTC_B_AIE	0x20
#define RTC_B_UIE	0x10
#define RTC_B_SQWE	0x08

void machine_request_reset(struct machine *m)
{
	unsigned i;

	if (m->cfg.no_reboot) {
		machine_finish(m, MACHINE_END_REBOOT, NULL, 0, "the guest reset the machine (reboot)");
		return;
	}
	pthread_mutex_lock(&m->lock);
	if (!m->ended && !m->reset_pending) {
		m->reset_pending = true;
		atomic_store(&m->stopping, true);
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
	for (i = 0; i < m->nr_vcpus; i++)
		rv_vcpu_kick(m->vcpu[i].cpu);
}

int machine_add_reset_hook(struct machine *m, void (*fn)(void *opaque), void *opaque)
{
	if (m->nr_reset_hooks >= MACHINE_MAX_RESET_HOOKS)
		return -ENOSPC;
	m->reset_hook[m->nr_reset_hooks].fn = fn;
	m->reset_hook[m->nr_reset_hooks].opaque = opaque;
	m->nr_reset_hooks++;
	return 0;
}

/*
 * Every vCPU gets the power-on state (SDM vol. 3A 9.1.1, table 9-1); the
 * loader then gives the BSP its entry state again. APs: the apic work
 * puts them back into wait-for-SIPI here (their LAPIC state, and the run
 * loop's notion of "waiting for SIPI"), which a RESET implies (SDM vol. 3A
 * 8.4.1: after RESET the APs wait for INIT-SIPI-SIPI).
 */
int vcpu_reset(struct vm_vcpu *v)
{
	int ret = rv_vcpu_reset(v->cpu);

	v->irq_window = false;
	v->state = VCPU_CREATED;
	return ret;
}

/*
 * The legacy devices as at power-on. Called with the platform lock held
 * and the timer thread stopped. The RTC is battery-backed: its time and
 * CMOS RAM survive (a PC's reset line does not reach it); only its
 * interrupt enables and flags go, as QEMU's mc146818 reset does.
 */
static void machine_reset_legacy(struct machine *m)
{
	struct pc_platform *pc = &m->pc;
	struct irq_line intr = pc->pic.intr, irq0 = pc->pit.irq0;
	struct irq_line kbd = pc->kbc.irq_kbd, aux = pc->kbc.irq_aux;
	void (*kbc_reset)(void *) = pc->kbc.reset;
	void *kbc_opaque = pc->kbc.reset_opaque;
	void (*uart_irq)(void *, bool) = m->com1.irq;
	void *uart_opaque = m->com1.irq_opaque;

	clock_timer_cancel(&pc->pit.timer);
	i8254_init(&pc->pit, &pc->clock, &irq0);

	clock_timer_cancel(&pc->rtc.periodic);
	clock_timer_cancel(&pc->rtc.update);
	pc->rtc.cmos[RTC_REG_B_INDEX] &= (uint8_t)~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	pc->rtc.cmos[RTC_REG_C_INDEX] = 0;
	pc->rtc.irq_level = false;

	i8042_init(&pc->kbc, &kbd, &aux, kbc_reset, kbc_opaque);
	pc->port92.value = 0;

	uart16550_init(&m->com1, m->com1.out_fd);
	m->com1.irq = uart_irq;
	m->com1.irq_opaque = uart_opaque;

	/* Last: every input line is low again, and so is INT. */
	i8259_init(&pc->pic, &intr);
	atomic_store(&pc->intr, false);

	/* pc_stop() told the timer and input threads to quit; pc_start() will start new ones. */
	pc->quit = false;
	atomic_store(&pc->input_quit, false);
}

/* Guest RAM back to zeros: the kernel image and everything the guest wrote go. */
static int machine_clear_ram(struct machine *m)
{
	/*
	 * Private anonymous memory: dropping the pages makes them read as
	 * zeros and frees the host memory. A memfd: punching them out does.
	 */
	if (madvise(m->ram, m->ram_size, m->ram_fd >= 0 ? MADV_REMOVE : MADV_DONTNEED) == 0)
		return 0;
	memset(m->ram, 0, m->ram_size);
	return 0;
}

static void machine_reset_failed(struct machine *m, int err, const char *why)
{
	pthread_mutex_lock(&m->lock);
	m->reset_pending = false;
	if (!m->ended) {
		m->ended = true;
		memset(&m->result, 0, sizeof(m->result));
		m->result.end = MACHINE_END_ERROR;
		m->result.error = err;
		snprintf(m->result.reason, sizeof(m->result.reason), "reset failed: %.160s", why);
	}
	pthread_mutex_unlock(&m->lock);
}

bool machine_reset_if_requested(struct machine *m)
{
	char err[256];
	unsigned i;
	bool want;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	want = m->reset_pending && !m->ended;
	if (m->ended)
		m->reset_pending = false;	/* something else ended the run first: it wins */
	pthread_mutex_unlock(&m->lock);
	if (!want)
		return false;

	pthread_mutex_lock(&m->pc.lock);
	machine_reset_legacy(m);
	for (i = 0; i < m->nr_reset_hooks; i++)
		m->reset_hook[i].fn(m->reset_hook[i].opaque);
	pthread_mutex_unlock(&m->pc.lock);

	for (i = 0; i < m->nr_vcpus && !ret; i++)
		ret = vcpu_reset(&m->vcpu[i]);
	if (ret) {
		snprintf(err, sizeof(err), "cannot reset vCPU %u: %s", i - 1, strerror(-ret));
		machine_reset_failed(m, ret, err);
		return false;
	}
	machine_clear_ram(m);
	if (m->cfg.kernel) {
		ret = machine_load_kernel(m, err, sizeof(err));
		if (ret) {
			machine_reset_failed(m, ret, err);
			return false;
		}
	}

	pthread_mutex_lock(&m->lock);
	m->reset_pending = false;
	if (m->ended) {
		/* A signal or the quit key arrived while we were resetting: that ends the run. */
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	m->nr_halted = 0;
	m->irq_wake = false;
	m->boots++;
	atomic_store(&m->stopping, false);
	pthread_mutex_unlock(&m->lock);
	machine_log(m, "the guest reset the machine: boot %u", m->boots + 1);
	return true;
}

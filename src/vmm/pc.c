/* The PC's legacy platform: devices on the port bus in one list, their interrupt wiring, the timer thread, serial input from the host, and starting/stopping the device threads. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/machine_priv.h"

/*
 * The PIC's INT pin changed. Rising, it must reach the vCPU: wake it from
 * HLT and kick it out of rv_vcpu_run() so the run loop asks for the
 * interrupt window. Called with the platform lock held.
 */
static void pc_intr_set(void *opaque, int n, bool level)
{
	struct machine *m = opaque;

	atomic_store(&m->pc.intr, level);
	if (!level)
		return;
	pthread_mutex_lock(&m->lock);
	m->irq_wake = true;
	m->vcpu[0].wake = true;		/* INTR reaches the BSP (LINT0) */
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	/* From the vCPU's own thread (its port I/O unmasked a line) this costs one spare exit. */
	if (m->vcpu[0].cpu)
		rv_vcpu_kick(m->vcpu[0].cpu);
}

static void pc_reset_request(void *opaque)
{
	struct machine *m = opaque;

	machine_request_reset(m);
}

static void pc_uart_irq(void *opaque, bool level)
{
	struct machine *m = opaque;

	irq_set_level(&m->pc.isa_irq[4], level);
}

static void pc_timer_reschedule(void *opaque)
{
	struct pc_platform *pc = opaque;

	pthread_cond_signal(&pc->timer_cond);
}

int pc_create(struct machine *m, char *err, size_t errlen)
{
	struct pc_platform *pc = &m->pc;
	struct irq_line intr;
	pthread_condattr_t attr;
	uint64_t below, above;
	int i;

	pthread_mutex_init(&pc->lock, NULL);
	pc->created = true;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pc->timer_cond, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&pc->intr, false);
	atomic_init(&pc->input_quit, false);
	pc->input_fd = m->cfg.serial_input ? m->cfg.serial_in_fd : -1;

	clock_init(&pc->clock, NULL, NULL, -1);
	pc->clock.on_reschedule = pc_timer_reschedule;
	pc->clock.reschedule_opaque = pc;

	irq_line_init(&intr, pc_intr_set, m, 0);
	i8259_init(&pc->pic, &intr);
	{
		int aret = pc_apic_create(m, err, errlen);

		if (aret)
			return aret;
	}
	/* each ISA IRQ goes to the 8259 pair and to the IOAPIC (pc_apic.c) */
	for (i = 0; i < 16; i++)
		irq_line_init(&pc->isa_irq[i], pc_isa_irq_set, m, i);
	i8254_init(&pc->pit, &pc->clock, &pc->isa_irq[0]);
	below = m->cfg.mem_size < PC_PCI_MMIO_START ? m->cfg.mem_size : PC_PCI_MMIO_START;
	above = m->cfg.mem_size - below;
	rtc_init(&pc->rtc, &pc->clock, &pc->isa_irq[8], below, above);
	i8042_init(&pc->kbc, &pc->isa_irq[1], &pc->isa_irq[12], pc_reset_request, m);
	pc->port92.reset = pc_reset_request;
	pc->port92.reset_opaque = m;
	m->com1.irq = pc_uart_irq;
	m->com1.irq_opaque = m;

	/* The legacy ports, in one list. */
	struct {
		uint16_t base, len;
		bus_access_fn *fn;
		void *opaque;
		const char *name;
	} ports[] = {
		{ I8259_MASTER_BASE, I8259_NR_PORTS, i8259_master_access, &pc->pic, "pic-master" },
		{ I8259_SLAVE_BASE, I8259_NR_PORTS, i8259_slave_access, &pc->pic, "pic-slave" },
		{ I8259_ELCR_BASE, I8259_ELCR_NR_PORTS, i8259_elcr_access, &pc->pic, "elcr" },
		{ I8254_BASE, I8254_NR_PORTS, i8254_access, &pc->pit, "pit" },
		{ I8254_PORT61, 1, i8254_port61_access, &pc->pit, "port61" },
		{ RTC_BASE, RTC_NR_PORTS, rtc_access, &pc->rtc, "rtc" },
		{ I8042_DATA_PORT, 1, i8042_data_access, &pc->kbc, "i8042-data" },
		{ I8042_STATUS_PORT, 1, i8042_status_access, &pc->kbc, "i8042-cmd" },
		{ 0x92, 1, port92_access, &pc->port92, "port92" },
	};
	for (i = 0; i < (int)(sizeof(ports) / sizeof(ports[0])); i++) {
		int ret = bus_register(&m->io, ports[i].base, ports[i].len, ports[i].fn,
				       ports[i].opaque, ports[i].name);

		if (ret) {
			snprintf(err, errlen, "cannot attach %s at port 0x%x: %s", ports[i].name,
				 ports[i].base, strerror(-ret));
			return ret;
		}
	}
	i = pc_pci_attach(m, err, errlen);
	if (i)
		return i;
	return pc_acpi_attach(m, err, errlen);
}

/* Runs every due timer, then sleeps until the next deadline (or a new, earlier one). */
static void *pc_timer_thread(void *arg)
{
	struct pc_platform *pc = arg;

	pthread_mutex_lock(&pc->lock);
	while (!pc->quit) {
		uint64_t next;

		clock_run_due(&pc->clock);
		next = clock_next_deadline(&pc->clock);
		if (next == CLOCK_NEVER) {
			pthread_cond_wait(&pc->timer_cond, &pc->lock);
		} else if (next > clock_now(&pc->clock)) {
			struct timespec ts = clock_host_deadline(&pc->clock, next);

			pthread_cond_timedwait(&pc->timer_cond, &pc->lock, &ts);
		}
	}
	pthread_mutex_unlock(&pc->lock);
	return NULL;
}

/*
 * Host bytes to COM1's receiver (or hvc0's, with a virtio console),
 * whether the fd is a terminal, a pipe or a file. When the FIFO is full
 * (or the guest posted no buffer) the guest has not read it yet: wait and
 * retry rather than drop input. Ends at EOF or when the machine ends.
 */
static void *pc_input_thread(void *arg)
{
	struct machine *m = arg;
	struct pc_platform *pc = &m->pc;
	uint8_t buf[256];

	while (!atomic_load(&pc->input_quit)) {
		struct pollfd pfd = { .fd = pc->input_fd, .events = POLLIN };
		ssize_t n;
		size_t done = 0;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(pc->input_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		while (done < (size_t)n && !atomic_load(&pc->input_quit)) {
			size_t took;

			if (m->cfg.virtio_console) {
				/* hvc0 takes the input; it locks itself (never under the platform lock). */
				took = pc_virtio_console_receive(m, buf + done, (size_t)n - done);
			} else {
				pthread_mutex_lock(&pc->lock);
				took = uart16550_receive(&m->com1, buf + done, (size_t)n - done);
				pthread_mutex_unlock(&pc->lock);
			}
			done += took;
			if (done < (size_t)n) {
				struct timespec ts = { 0, 2000000 };

				nanosleep(&ts, NULL);
			}
		}
	}
	return NULL;
}

int pc_start(struct machine *m)
{
	struct pc_platform *pc = &m->pc;
	int ret;

	ret = -pthread_create(&pc->timer_thread, NULL, pc_timer_thread, pc);
	if (ret)
		return ret;
	pc->timer_started = true;
	ret = pc_virtio_start(m);
	if (ret)
		return ret;
	if (pc->input_fd >= 0) {
		ret = -pthread_create(&pc->input_thread, NULL, pc_input_thread, m);
		if (ret)
			return ret;
		pc->input_started = true;
	}
	return 0;
}

void pc_stop(struct machine *m)
{
	struct pc_platform *pc = &m->pc;

	if (pc->timer_started) {
		pthread_mutex_lock(&pc->lock);
		pc->quit = true;
		pthread_cond_signal(&pc->timer_cond);
		pthread_mutex_unlock(&pc->lock);
		pthread_join(pc->timer_thread, NULL);
		pc->timer_started = false;
	}
	if (pc->input_started) {
		atomic_store(&pc->input_quit, true);
		pthread_join(pc->input_thread, NULL);
		pc->input_started = false;
	}
	pc_virtio_stop(m);
}

void pc_destroy(struct machine *m)
{
	if (!m->pc.created)
		return;
	pthread_cond_destroy(&m->pc.timer_cond);
	pthread_mutex_destroy(&m->pc.lock);
}

/* vCPU threads and the run loop: one switch over the exit reasons, and how the machine ends. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/machine_priv.h"

void machine_log(struct machine *m, const char *fmt, ...)
{
	va_list ap;

	if (!m->cfg.verbose || !m->cfg.log)
		return;
	va_start(ap, fmt);
	m->cfg.log(m->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

static void vcpu_kick_all(struct machine *m)
{
	unsigned i;

	for (i = 0; i < m->nr_vcpus; i++)
		rv_vcpu_kick(m->vcpu[i].cpu);
}

void machine_finish(struct machine *m, enum machine_end end, struct vm_vcpu *v,
		    int64_t detail, const char *fmt, ...)
{
	struct machine_result *r = &m->result;
	va_list ap;

	pthread_mutex_lock(&m->lock);
	if (!m->ended) {
		m->ended = true;
		r->end = end;
		switch (end) {
		case MACHINE_END_DEBUG_EXIT:
			r->debug_exit_value = (uint32_t)detail;
			break;
		case MACHINE_END_SIGNAL:
			r->signo = (int)detail;
			break;
		case MACHINE_END_ERROR:
			r->error = (int)detail;
			break;
		default:
			break;
		}
		va_start(ap, fmt);
		vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
		va_end(ap);
		if (v && !rv_vcpu_get_regs(v->cpu, &r->regs) &&
		    !rv_vcpu_get_sregs(v->cpu, &r->sregs)) {
			r->has_state = true;
			r->vcpu = v->index;
		}
	}
	atomic_store(&m->stopping, true);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	vcpu_kick_all(m);
}

static void vcpu_io(struct vm_vcpu *v, struct rv_exit *ex)
{
	struct machine *m = v->m;
	uint64_t data = ex->io.data;
	int ret;

	/* Port devices share state with the timer and input threads: the platform lock. */
	pthread_mutex_lock(&m->pc.lock);
	ret = bus_access(&m->io, ex->io.port, ex->io.size, ex->io.is_write, &data);
	pthread_mutex_unlock(&m->pc.lock);
	if (ret < 0)
		machine_log(m, "vCPU %u: unclaimed port %s 0x%04x (size %u)%s0x%llx", v->index,
			    ex->io.is_write ? "write" : "read", ex->io.port, ex->io.size,
			    ex->io.is_write ? " value " : " -> ", (unsigned long long)data);
	if (!ex->io.is_write)
		ex->io.data = (uint32_t)data;
}

static void vcpu_mmio(struct vm_vcpu *v, struct rv_exit *ex)
{
	struct machine *m = v->m;
	uint64_t data = ex->mmio.data;

	if (bus_access_cpu(&m->mmio, v->index, ex->mmio.gpa, ex->mmio.size, ex->mmio.is_write,
			   &data) < 0)
		machine_log(m, "vCPU %u: unclaimed memory %s 0x%llx (size %u)%s0x%llx", v->index,
			    ex->mmio.is_write ? "write" : "read",
			    (unsigned long long)ex->mmio.gpa, ex->mmio.size,
			    ex->mmio.is_write ? " value " : " -> ", (unsigned long long)data);
	if (!ex->mmio.is_write)
		ex->mmio.data = data;
	else if (ex->mmio.gpa - LAPIC_BASE < LAPIC_SIZE)
		apic_vcpu_mmio_done(v);
}

/*
 * Ask for the interrupt-window exit exactly while the PIC's INT pin is up:
 * the engine then stops at the first instruction boundary where the guest
 * can take an external interrupt (RFLAGS.IF=1, no STI/MOV SS shadow), as
 * the VMCB's VINTR intercept does (APM vol. 2, 15.21.4).
 */
static void vcpu_sync_irq_window(struct vm_vcpu *v)
{
	bool want = apic_vcpu_want_irq(v);

	if (want != v->irq_window) {
		rv_vcpu_set_irq_window_exit(v->cpu, want);
		v->irq_window = want;
	}
}

/* The window is open: run the INTA cycle now and queue the vector for this boundary. */
static void vcpu_irq_window(struct vm_vcpu *v)
{
	struct machine *m = v->m;
	bool pending;
	uint8_t vector = 0;
	int ret;

	/* INT may have dropped since (masked, or the device went quiet): then no INTA at all. */
	pending = apic_vcpu_ack(v, &vector);
	if (!pending)
		return;
	ret = rv_vcpu_interrupt(v->cpu, vector);
	if (ret)
		machine_log(m, "vCPU %u: interrupt vector 0x%02x lost: %s", v->index, vector,
			    strerror(-ret));
}

/*
 * Sleep until v->wake (an interrupt, NMI, INIT or SIPI for this vCPU; the
 * timer thread, the input thread and other vCPUs set it) or the end of the
 * machine. The caller cleared v->wake under the platform lock after finding
 * nothing pending. `counted`: no device can wake this vCPU, only another
 * vCPU; when every vCPU waits like that the machine is over.
 */
bool vcpu_wait_wake(struct vm_vcpu *v, bool counted, const char *why)
{
	struct machine *m = v->m;

	pthread_mutex_lock(&m->lock);
	if (counted && ++m->nr_halted == m->nr_vcpus) {
		m->nr_halted--;
		pthread_mutex_unlock(&m->lock);
		machine_finish(m, MACHINE_END_HALTED, v, 0, "%s", why);
		return false;
	}
	while (!v->wake && !atomic_load(&m->stopping))
		pthread_cond_wait(&m->cond, &m->lock);
	if (counted)
		m->nr_halted--;
	pthread_mutex_unlock(&m->lock);
	return !atomic_load(&m->stopping);
}

/*
 * HLT waits for an interrupt (or NMI, SMI, INIT: SDM vol. 2A, HLT). With
 * RFLAGS.IF=0, or while no device can interrupt this vCPU (PIC all
 * masked, no LAPIC timer, no IOAPIC pin unmasked), only another vCPU can
 * wake it: once every vCPU is in that state, the machine is over. A
 * spurious wake is harmless: the halted vCPU exits with HLT again.
 */
static void vcpu_halt(struct vm_vcpu *v)
{
	struct machine *m = v->m;
	struct rv_regs regs;
	char why[128];
	bool if_on, can_wake = false;

	if (rv_vcpu_get_regs(v->cpu, &regs) == 0)
		if_on = regs.rflags & RV_FLAG_IF;
	else
		if_on = false;
	pthread_mutex_lock(&m->pc.lock);
	if (if_on) {
		if (apic_vcpu_irq_ready(v)) {
			pthread_mutex_unlock(&m->pc.lock);
			return;		/* the next run opens the window at once */
		}
		can_wake = apic_vcpu_can_wake(v);
	}
	/* Nothing pending now (under the platform lock): anything from here on sets v->wake. */
	pthread_mutex_lock(&m->lock);
	v->wake = false;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&m->pc.lock);
	if (if_on)
		snprintf(why, sizeof(why),
			 "vCPU %u halted waiting for an interrupt, but no device can raise one", v->index);
	else
		snprintf(why, sizeof(why),
			 "vCPU %u halted with interrupts disabled (RFLAGS.IF=0): nothing can wake it",
			 v->index);
	vcpu_wait_wake(v, !can_wake, why);
}

static void *vcpu_thread(void *arg)
{
	struct vm_vcpu *v = arg;
	struct machine *m = v->m;
	struct rv_exit ex;
	int ret;

	while (!atomic_load(&m->stopping)) {
		/* INIT, SIPI, and the APs' wait for their SIPI (pc_apic.c) */
		if (atomic_load(&v->mp_event) && !apic_vcpu_mp_event(v))
			continue;
		vcpu_sync_irq_window(v);
		ret = rv_vcpu_run(v->cpu, &ex);
		if (ret < 0) {
			machine_finish(m, MACHINE_END_ERROR, v, ret, "vCPU %u: the engine failed: %s",
				       v->index, strerror(-ret));
			break;
		}
		apic_vcpu_sync_cr8(v, ex.cr8);
		switch (ex.reason) {
		case RV_EXIT_MSR:
			apic_vcpu_msr(v, &ex);
			break;
		case RV_EXIT_IO:
			vcpu_io(v, &ex);
			break;
		case RV_EXIT_MMIO:
			vcpu_mmio(v, &ex);
			break;
		case RV_EXIT_HLT:
			vcpu_halt(v);
			break;
		case RV_EXIT_SHUTDOWN:
			machine_finish(m, MACHINE_END_TRIPLE_FAULT, v, 0,
				       "vCPU %u triple-faulted (shutdown)", v->index);
			break;
		case RV_EXIT_INVALID_STATE:
			machine_finish(m, MACHINE_END_INVALID_STATE, v, 0,
				       "vCPU %u has an invalid state: %s (value 0x%llx)", v->index,
				       ex.invalid.check ? ex.invalid.check : "unknown check",
				       (unsigned long long)ex.invalid.value);
			break;
		case RV_EXIT_IRQ_WINDOW:
			vcpu_irq_window(v);
			break;
		case RV_EXIT_KICK:
			break;		/* the loop condition and the window sync look at why */
		case RV_EXIT_NONE:
		case RV_EXIT_DEBUG:
		default:
			machine_finish(m, MACHINE_END_ERROR, v, -EPROTO,
				       "vCPU %u: unexpected exit %s", v->index,
				       rv_exit_reason_name(ex.reason));
			break;
		}
	}
	return NULL;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sum one vCPU's counters into the machine's (the cache size is per vCPU: the largest). */
static void stats_add(struct rv_vcpu_stats *sum, const struct rv_vcpu_stats *st)
{
	sum->instructions += st->instructions;
	sum->exits += st->exits;
	for (unsigned r = 0; r <= RV_EXIT_MSR; r++)
		sum->exits_by_reason[r] += st->exits_by_reason[r];
	sum->translated |= st->translated;
	sum->blocks += st->blocks;
	sum->code_bytes += st->code_bytes;
	sum->code_emitted += st->code_emitted;
	if (st->cache_bytes > sum->cache_bytes)
		sum->cache_bytes = st->cache_bytes;
	sum->cache_flushes += st->cache_flushes;
	sum->invalidations += st->invalidations;
	sum->chained += st->chained;
	sum->unchained_exits += st->unchained_exits;
	sum->indirect_misses += st->indirect_misses;
	sum->indirect_stale += st->indirect_stale;
	sum->interp_branches += st->interp_branches;
	sum->tlb_misses += st->tlb_misses;
	sum->interpreted += st->interpreted;
	sum->native_entries += st->native_entries;
	sum->native_syscalls += st->native_syscalls;
	sum->native_faults += st->native_faults;
	sum->native_kicks += st->native_kicks;
	sum->native_pages += st->native_pages;
	sum->native_flushes += st->native_flushes;
	sum->native_ns += st->native_ns;
}

int machine_run(struct machine *m, struct machine_result *result)
{
	sigset_t all, old;
	double start;
	unsigned i, started = 0;
	int ret = 0;

	start = now_seconds();
again:	/* a guest reset (reset.c) comes back here with the machine as at power-on */
	started = 0;
	/* Host signals belong to the caller's threads, never to a vCPU thread. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, &old);

	ret = pc_start(m);
	if (ret)
		machine_finish(m, MACHINE_END_ERROR, NULL, ret,
			       "cannot start the platform threads: %s", strerror(-ret));
	for (i = 0; i < m->nr_vcpus && !ret; i++) {
		struct vm_vcpu *v = &m->vcpu[i];

		v->state = VCPU_RUNNING;
		ret = -pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (ret) {
			v->state = VCPU_CREATED;
			machine_finish(m, MACHINE_END_ERROR, NULL, ret,
				       "cannot start the thread of vCPU %u: %s", i, strerror(-ret));
			break;
		}
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	for (i = 0; i < started; i++) {
		pthread_join(m->vcpu[i].thread, NULL);
		m->vcpu[i].state = VCPU_FINISHED;
	}
	pc_stop(m);
	if (!ret && machine_reset_if_requested(m))
		goto again;

	pthread_mutex_lock(&m->lock);
	*result = m->result;
	pthread_mutex_unlock(&m->lock);
	result->seconds = now_seconds() - start;
	result->instructions = result->exits = 0;
	memset(&result->stats, 0, sizeof(result->stats));
	for (i = 0; i < m->nr_vcpus; i++) {
		struct rv_vcpu_stats st;

		if (rv_vcpu_get_stats(m->vcpu[i].cpu, &st) == 0) {
			result->instructions += st.instructions;
			result->exits += st.exits;
			stats_add(&result->stats, &st);
		}
	}
	return ret;
}

void machine_quit(struct machine *m)
{
	machine_finish(m, MACHINE_END_QUIT, NULL, 0, "quit by the user (console escape key)");
}

void machine_stop(struct machine *m, int signo)
{
	machine_finish(m, MACHINE_END_SIGNAL, NULL, signo, "stopped by signal %d (%s)",
		       signo, strsignal(signo));
}

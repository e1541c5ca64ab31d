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

	if (bus_access(&m->io, ex->io.port, ex->io.size, ex->io.is_write, &data) < 0)
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

	if (bus_access(&m->mmio, ex->mmio.gpa, ex->mmio.size, ex->mmio.is_write, &data) < 0)
		machine_log(m, "vCPU %u: unclaimed memory %s 0x%llx (size %u)%s0x%llx", v->index,
			    ex->mmio.is_write ? "write" : "read",
			    (unsigned long long)ex->mmio.gpa, ex->mmio.size,
			    ex->mmio.is_write ? " value " : " -> ", (unsigned long long)data);
	if (!ex->mmio.is_write)
		ex->mmio.data = data;
}

/*
 * HLT waits for an interrupt (or NMI, SMI, INIT: SDM vol. 2A, HLT). With
 * RFLAGS.IF=0, or while no device can raise an interrupt, nothing will
 * ever come: once every vCPU is in that state, the machine is over.
 */
static void vcpu_halt(struct vm_vcpu *v)
{
	struct machine *m = v->m;
	struct rv_regs regs;
	bool if_on;

	if (rv_vcpu_get_regs(v->cpu, &regs) == 0)
		if_on = regs.rflags & RV_FLAG_IF;
	else
		if_on = false;
	if (if_on && m->irq_sources > 0)
		return;		/* the next issue: sleep until an interrupt arrives */

	pthread_mutex_lock(&m->lock);
	m->nr_halted++;
	if (m->nr_halted == m->nr_vcpus) {
		pthread_mutex_unlock(&m->lock);
		if (if_on)
			machine_finish(m, MACHINE_END_HALTED, v, 0,
				       "vCPU %u halted waiting for an interrupt, but no device can raise one",
				       v->index);
		else
			machine_finish(m, MACHINE_END_HALTED, v, 0,
				       "vCPU %u halted with interrupts disabled (RFLAGS.IF=0): nothing can wake it",
				       v->index);
		return;
	}
	while (!atomic_load(&m->stopping))
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vm_vcpu *v = arg;
	struct machine *m = v->m;
	struct rv_exit ex;
	int ret;

	while (!atomic_load(&m->stopping)) {
		ret = rv_vcpu_run(v->cpu, &ex);
		if (ret < 0) {
			machine_finish(m, MACHINE_END_ERROR, v, ret, "vCPU %u: the engine failed: %s",
				       v->index, strerror(-ret));
			break;
		}
		switch (ex.reason) {
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
		case RV_EXIT_KICK:
			break;		/* the loop condition looks at why */
		case RV_EXIT_NONE:
		case RV_EXIT_IRQ_WINDOW:
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

int machine_run(struct machine *m, struct machine_result *result)
{
	sigset_t all, old;
	double start;
	unsigned i, started = 0;
	int ret = 0;

	/* Host signals belong to the caller's threads, never to a vCPU thread. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, &old);

	start = now_seconds();
	for (i = 0; i < m->nr_vcpus; i++) {
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

	pthread_mutex_lock(&m->lock);
	*result = m->result;
	pthread_mutex_unlock(&m->lock);
	result->seconds = now_seconds() - start;
	result->instructions = result->exits = 0;
	for (i = 0; i < m->nr_vcpus; i++) {
		struct rv_vcpu_stats st;

		if (rv_vcpu_get_stats(m->vcpu[i].cpu, &st) == 0) {
			result->instructions += st.instructions;
			result->exits += st.exits;
		}
	}
	return ret;
}

void machine_stop(struct machine *m, int signo)
{
	machine_finish(m, MACHINE_END_SIGNAL, NULL, signo, "stopped by signal %d (%s)",
		       signo, strsignal(signo));
}

/* `ringvm run`: read the images, build the machine, run it with signals handled, report how it ended. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/file.h"
#include "cli/options.h"
#include "cli/regdump.h"
#include "cli/status.h"
#include "cli/terminal.h"
#include "vmm/machine.h"

struct run_images {
	uint8_t *kernel, *initrd, *bios;
	size_t kernel_size, initrd_size, bios_size;
};

static void run_log(void *opaque, const char *fmt, va_list ap)
{
	fputs("ringvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* machine_create()'s reason as the one line the CLI promises: cut at a newline, never empty. */
static void run_one_line(char *err, size_t errlen, int ret)
{
	err[strcspn(err, "\r\n")] = '\0';
	if (!err[0])
		snprintf(err, errlen, "cannot create the machine: %s", strerror(-ret));
}

static int run_read_images(const struct run_options *o, struct run_images *img)
{
	char err[512];

	if (o->kernel && file_read("kernel", o->kernel, &img->kernel, &img->kernel_size,
				   err, sizeof(err)))
		goto fail;
	if (o->kernel && img->kernel_size == 0) {
		snprintf(err, sizeof(err), "kernel '%s' is empty", o->kernel);
		goto fail;
	}
	if (o->initrd && file_read("initrd", o->initrd, &img->initrd, &img->initrd_size,
				   err, sizeof(err)))
		goto fail;
	if (o->bios && file_read("firmware", o->bios, &img->bios, &img->bios_size,
				 err, sizeof(err)))
		goto fail;
	return 0;
fail:
	cli_error("%s", err);
	return -1;
}

static void run_free_images(struct run_images *img)
{
	free(img->kernel);
	free(img->initrd);
	free(img->bios);
}

/*
 * Signals: every thread blocks SIGINT/SIGTERM, and this thread takes them
 * with sigwait, so stopping the machine happens in ordinary thread context.
 * SIGUSR1 (sent by us) tells it the run is over.
 */
struct run_signals {
	struct machine *m;
	struct machine *m_for_quit;	/* set once the console may quit it */
	pthread_t thread;
	sigset_t set;
};

static void *run_signal_thread(void *arg)
{
	struct run_signals *s = arg;
	int sig, count = 0;

	for (;;) {
		if (sigwait(&s->set, &sig))
			continue;
		if (sig == SIGUSR1)
			return NULL;
		/* A second signal while the first one's stop is stuck: leave at once. */
		if (count++) {
			terminal_restore();
			_exit(STATUS_SIGNAL);
		}
		machine_stop(s->m, sig);
	}
}

/* The console's Ctrl-A x (from the pump thread). */
static void run_quit(void *opaque)
{
	struct run_signals *s = opaque;
	struct machine *m = __atomic_load_n(&s->m_for_quit, __ATOMIC_ACQUIRE);

	if (m)
		machine_quit(m);
}

static int run_status(const struct run_options *o, const struct machine_result *r)
{
	int status;

	switch (r->end) {
	case MACHINE_END_POWEROFF:
		status = STATUS_OK;
		break;
	case MACHINE_END_DEBUG_EXIT:
		if (o->verbose)
			cli_error("%s", r->reason);
		return (int)(((r->debug_exit_value << 1) | 1) & 0xff);
	case MACHINE_END_TRIPLE_FAULT:
		status = STATUS_TRIPLE_FAULT;
		break;
	case MACHINE_END_INVALID_STATE:
		status = STATUS_INVALID_STATE;
		break;
	case MACHINE_END_HALTED:
		status = STATUS_HALTED;
		break;
	case MACHINE_END_SIGNAL:
		cli_error("%s", r->reason);
		return STATUS_SIGNAL;
	case MACHINE_END_REBOOT:
		cli_error("%s", r->reason);
		return STATUS_REBOOT;
	case MACHINE_END_QUIT:
		cli_error("%s", r->reason);
		return STATUS_QUIT;
	case MACHINE_END_ERROR:
	default:
		status = STATUS_INTERNAL;
		break;
	}
	if (r->reason[0])
		cli_error("%s", r->reason);
	if (r->has_state && status != STATUS_OK)
		regdump_print(stderr, r->vcpu, &r->regs, &r->sregs);
	return status;
}

static void run_print_stats(const struct machine_result *r)
{
	const struct rv_vcpu_stats *st = &r->stats;
	double mips = r->seconds > 0 ? (double)r->instructions / r->seconds / 1e6 : 0;
	unsigned long long blocks = st->blocks ? st->blocks : 1;

	fprintf(stderr, "ringvm: stats: %llu instructions in %.3f s = %.1f MIPS, %llu exits\n",
		(unsigned long long)r->instructions, r->seconds, mips,
		(unsigned long long)r->exits);
	fprintf(stderr, "ringvm: stats: exits:");
	for (unsigned k = 1; k <= RV_EXIT_MSR; k++)
		if (st->exits_by_reason[k])
			fprintf(stderr, " %s %llu", rv_exit_reason_name((enum rv_exit_reason)k),
				(unsigned long long)st->exits_by_reason[k]);
	fprintf(stderr, "\n");
	if (st->native_entries)
		fprintf(stderr, "ringvm: stats: native user code: %.3f s in %llu runs, stopped by %llu system calls, "
			"%llu faults, %llu events; %llu pages mirrored, %llu mirror flushes\n",
			(double)st->native_ns / 1e9, (unsigned long long)st->native_entries,
			(unsigned long long)st->native_syscalls, (unsigned long long)st->native_faults,
			(unsigned long long)st->native_kicks, (unsigned long long)st->native_pages,
			(unsigned long long)st->native_flushes);
	if (!st->translated) {
		fprintf(stderr, "ringvm: stats: engine: soft, interpreter\n");
		return;
	}
	fprintf(stderr, "ringvm: stats: engine: soft, translator: %llu blocks translated (%.1f bytes of code each), "
		"code cache %.1f of %.0f MiB, %llu flushes, %llu blocks invalidated\n",
		(unsigned long long)st->blocks, (double)st->code_emitted / (double)blocks,
		(double)st->code_bytes / 1048576.0, (double)st->cache_bytes / 1048576.0,
		(unsigned long long)st->cache_flushes, (unsigned long long)st->invalidations);
	fprintf(stderr, "ringvm: stats: translator: %llu exits chained, %llu unchained block exits, "
		"%llu indirect-branch misses (%llu stale), %llu exits after interpreted branches\n",
		(unsigned long long)st->chained, (unsigned long long)st->unchained_exits,
		(unsigned long long)st->indirect_misses, (unsigned long long)st->indirect_stale,
		(unsigned long long)st->interp_branches);
	fprintf(stderr, "ringvm: stats: translator: %llu TLB misses (slow paths), %llu instructions interpreted\n",
		(unsigned long long)st->tlb_misses, (unsigned long long)st->interpreted);
}

int cli_run(int argc, char **argv)
{
	struct run_options o;
	struct run_images img = { 0 };
	struct machine_config cfg;
	struct machine_result result;
	struct run_signals sig = { 0 };
	struct machine *m = NULL;
	struct terminal_pump *pump = NULL;
	char err[512];
	int status, ret;

	if (options_parse(argc, argv, &o, err, sizeof(err))) {
		cli_error("%s (try 'ringvm --help')", err);
		return STATUS_USAGE;
	}
	if (o.help) {
		cli_usage(stdout);
		return STATUS_OK;
	}
	if (run_read_images(&o, &img)) {
		run_free_images(&img);
		return STATUS_USAGE;
	}
	/* A closed stdout must not kill us with SIGPIPE; the UART drops the bytes. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGINT);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGHUP);
	sigaddset(&sig.set, SIGQUIT);
	sigaddset(&sig.set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);

	cfg = (struct machine_config){
		.mem_size = o.mem,
		.cpus = o.cpus,
		.kernel = img.kernel,
		.kernel_size = img.kernel_size,
		.kernel_path = o.kernel,
		.append = o.append,
		.initrd = img.initrd,
		.initrd_size = img.initrd_size,
		.initrd_path = o.initrd,
		.boot_entry = o.boot_entry,
		.decompress = o.decompress,
		.bios = img.bios,
		.bios_size = img.bios_size,
		.debug_exit = o.debug_exit,
		.serial_fd = STDOUT_FILENO,
		/* Standard input feeds COM1's receiver, terminal or not (raw mode comes later). */
		.serial_input = true,
		.serial_in_fd = STDIN_FILENO,
		.no_reboot = o.no_reboot,
		.nr_disks = o.nr_disks,
		.nr_nics = o.nr_nics,
		/* --console virtio: standard input (or the pump) feeds hvc0 instead of COM1. */
		.virtio_console = o.virtio_console,
		.virtio_rng = o.rng,
		.verbose = o.verbose,
		.interpreter = o.interpreter,
		.code_cache = o.code_cache,
		.cpu_svm = o.cpu_svm,
		.native_user = o.native_user,
		.log = run_log,
	};
	memcpy(cfg.disk, o.disk, sizeof(cfg.disk));
	memcpy(cfg.nic, o.nic, sizeof(cfg.nic));
	/* A terminal goes through the console pump (escape keys) to COM1. */
	if (isatty(STDIN_FILENO)) {
		ret = terminal_pump_start(&pump, STDIN_FILENO, &cfg.serial_in_fd, run_quit, &sig);
		if (ret) {
			cli_error("cannot start the console: %s", strerror(-ret));
			run_free_images(&img);
			return STATUS_INTERNAL;
		}
	}
	/* The images stay until machine_destroy(): a guest reset loads them again. */
	err[0] = '\0';
	ret = machine_create(&m, &cfg, err, sizeof(err));
	if (ret) {
		terminal_pump_stop(pump);
		run_free_images(&img);
		run_one_line(err, sizeof(err), ret);
		cli_error("%s", err);
		/*
		 * Bad input is the usual cause (an image missing or locked by
		 * another VM, a tap device we may not open); an engine that
		 * cannot start is ours.
		 */
		return ret == -ENOSYS ? STATUS_INTERNAL : STATUS_USAGE;
	}

	sig.m = m;
	ret = pthread_create(&sig.thread, NULL, run_signal_thread, &sig);
	if (ret) {
		cli_error("cannot start the signal thread: %s", strerror(ret));
		terminal_pump_stop(pump);
		machine_destroy(m);
		run_free_images(&img);
		return STATUS_INTERNAL;
	}
	if (pump) {
		__atomic_store_n(&sig.m_for_quit, m, __ATOMIC_RELEASE);
		ret = terminal_raw(STDIN_FILENO);
		if (ret < 0)
			cli_error("standard input stays in line mode: %s", strerror(-ret));
	}
	ret = machine_run(m, &result);
	/* The terminal first, so that everything printed from here on looks right. */
	terminal_restore();
	pthread_kill(sig.thread, SIGUSR1);
	pthread_join(sig.thread, NULL);
	terminal_pump_stop(pump);

	status = run_status(&o, &result);
	if (o.stats)
		run_print_stats(&result);
	machine_destroy(m);
	run_free_images(&img);
	return status;
}

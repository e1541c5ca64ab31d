/* Exit statuses of the ringvm command: even numbers, so none collides with debug-exit's odd (v << 1) | 1. */
#ifndef RV_CLI_STATUS_H
#define RV_CLI_STATUS_H

enum {
	STATUS_OK = 0,			/* the guest powered the machine off */
	STATUS_USAGE = 2,		/* bad option or input: missing file, not a kernel, too much memory */
	STATUS_TRIPLE_FAULT = 4,	/* a vCPU triple-faulted (shutdown) */
	STATUS_INVALID_STATE = 6,	/* a vCPU's state failed the entry consistency checks */
	STATUS_HALTED = 8,		/* every vCPU halted and nothing can wake one */
	STATUS_SIGNAL = 10,		/* SIGINT or SIGTERM ended the VM */
	STATUS_INTERNAL = 12,		/* ringvm itself failed (engine error, thread creation) */
	STATUS_REBOOT = 14,		/* the guest reset the machine and --no-reboot was given */
	STATUS_QUIT = 16,		/* the user quit with the console escape key (Ctrl-A x) */
};

#endif

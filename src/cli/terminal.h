/* The terminal console: raw mode on standard input (restored on every exit path) and the Ctrl-A escape keys. */
#ifndef RV_CLI_TERMINAL_H
#define RV_CLI_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERMINAL_ESCAPE 0x01		/* Ctrl-A, as QEMU's -nographic */

/*
 * If fd is a terminal: remember its settings, arrange for them to come back
 * at exit (atexit) and on fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT: restore, then die of the same signal), and switch it to raw
 * mode. Returns 1 when raw mode is on, 0 when fd is not a terminal
 * (nothing changes), or -errno.
 */
int terminal_raw(int fd);

/* Put the saved settings back. Idempotent and async-signal-safe. */
void terminal_restore(void);

/* The escape-key state machine, on its own so it can be tested. */
struct terminal_escape {
	bool pending;			/* the last byte was Ctrl-A */
};

enum terminal_event { TERMINAL_NONE, TERMINAL_QUIT, TERMINAL_HELP };

/*
 * Filter n input bytes: copies what goes to the guest into out (room for n
 * bytes) and returns how many; *used is how many input bytes it consumed.
 * It stops after an escape that is an event: Ctrl-A x (or X) is
 * TERMINAL_QUIT, Ctrl-A h (or ?) is TERMINAL_HELP; call it again for the
 * rest. Ctrl-A Ctrl-A gives one Ctrl-A; Ctrl-A followed by anything else is
 * dropped, both bytes (as QEMU's mux does). A Ctrl-A at the end of the input
 * stays pending for the next call.
 */
size_t terminal_filter(struct terminal_escape *esc, const uint8_t *in, size_t n,
		       uint8_t *out, size_t *used, enum terminal_event *event);

/* The escape keys, for `ringvm --help` and Ctrl-A h ("\r\n" line ends: raw mode). */
extern const char terminal_help_text[];

/*
 * The console pump: a thread reads the terminal, applies the escape keys
 * and writes what is left into a pipe whose read end (*guest_fd) feeds the
 * guest's UART. on_quit runs (in that thread) when the user types Ctrl-A x.
 */
struct terminal_pump;
int terminal_pump_start(struct terminal_pump **pump, int tty_fd, int *guest_fd,
			void (*on_quit)(void *opaque), void *opaque);
void terminal_pump_stop(struct terminal_pump *pump);

#endif

/* The terminal console: raw mode with restore on every exit path, the Ctrl-A escape keys, and the pump thread to the guest's UART. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/terminal.h"

const char terminal_help_text[] =
	"\r\nringvm console escape keys (Ctrl-A, then):\r\n"
	"  x       quit ringvm (exit status 16)\r\n"
	"  Ctrl-A  send one Ctrl-A to the guest\r\n"
	"  h or ?  this help\r\n";

/*
 * The saved settings. Written once before raw mode goes on, then only
 * read, so a signal handler may use them; `saved_fd` >= 0 while raw mode
 * may be on.
 */
static struct termios saved_termios;
static volatile sig_atomic_t saved_fd = -1;

void terminal_restore(void)
{
	int fd = saved_fd;

	if (fd < 0)
		return;
	/* tcsetattr is async-signal-safe (POSIX.1-2008, 2.4.3). */
	tcsetattr(fd, TCSADRAIN, &saved_termios);
	saved_fd = -1;
}

/* A fatal signal: give the user a usable terminal back, then die of the same signal. */
static void terminal_fatal(int sig)
{
	terminal_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void terminal_atexit(void)
{
	terminal_restore();
}

int terminal_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	static bool registered;
	struct sigaction sa;
	struct termios t;
	unsigned i;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &saved_termios))
		return -errno;
	saved_fd = fd;
	if (!registered) {
		atexit(terminal_atexit);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = terminal_fatal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND | SA_NODEFER;
		for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			sigaction(fatal[i], &sa, NULL);
		registered = true;
	}

	/*
	 * cfmakeraw() minus its output change: no echo, no line editing, no
	 * signal keys (Ctrl-C goes to the guest), no CR/NL translation or
	 * flow control on input, 8-bit bytes. Output post-processing (OPOST,
	 * ONLCR) stays as it was, as QEMU's stdio backend keeps it: a guest
	 * that sends a bare "\n" still starts a new line, and "\r\n" renders
	 * the same.
	 */
	t = saved_termios;
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSADRAIN, &t)) {
		int ret = -errno;

		saved_fd = -1;
		return ret;
	}
	return 1;
}

size_t terminal_filter(struct terminal_escape *esc, const uint8_t *in, size_t n,
		       uint8_t *out, size_t *used, enum terminal_event *event)
{
	size_t i, o = 0;

	*event = TERMINAL_NONE;
	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (!esc->pending) {
			if (c == TERMINAL_ESCAPE)
				esc->pending = true;
			else
				out[o++] = c;
			continue;
		}
		esc->pending = false;
		switch (c) {
		case TERMINAL_ESCAPE:
			out[o++] = c;
			break;
		case 'x':
		case 'X':
			*event = TERMINAL_QUIT;
			break;
		case 'h':
		case 'H':
		case '?':
			*event = TERMINAL_HELP;
			break;
		default:
			break;		/* unknown escape: both bytes dropped */
		}
		if (*event != TERMINAL_NONE) {
			i++;
			break;
		}
	}
	*used = i;
	return o;
}

struct terminal_pump {
	int tty_fd;
	int pipe_rd, pipe_wr;
	pthread_t thread;
	atomic_bool quit;
	void (*on_quit)(void *opaque);
	void *opaque;
	struct terminal_escape esc;
};

/* Into the pipe, retrying while it is full (the guest has not read yet), unless we are stopping. */
static int pump_write(struct terminal_pump *p, const uint8_t *buf, size_t len)
{
	while (len && !atomic_load(&p->quit)) {
		ssize_t n = write(p->pipe_wr, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			struct timespec ts = { 0, 2000000 };

			nanosleep(&ts, NULL);
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void pump_help(struct terminal_pump *p)
{
	size_t len = strlen(terminal_help_text);
	const char *s = terminal_help_text;

	while (len) {
		ssize_t n = write(STDOUT_FILENO, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void *pump_thread(void *arg)
{
	struct terminal_pump *p = arg;
	uint8_t in[256], out[256];

	while (!atomic_load(&p->quit)) {
		struct pollfd pfd = { .fd = p->tty_fd, .events = POLLIN };
		ssize_t n;
		size_t done = 0;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(p->tty_fd, in, sizeof(in));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;		/* hang-up or EOF: the guest's line goes quiet */
		while (done < (size_t)n) {
			enum terminal_event ev;
			size_t used, o;

			o = terminal_filter(&p->esc, in + done, (size_t)n - done, out, &used, &ev);
			done += used;
			if (pump_write(p, out, o))
				goto out;
			if (ev == TERMINAL_QUIT) {
				p->on_quit(p->opaque);
				goto out;
			}
			if (ev == TERMINAL_HELP)
				pump_help(p);
		}
	}
out:
	return NULL;
}

int terminal_pump_start(struct terminal_pump **pp, int tty_fd, int *guest_fd,
			void (*on_quit)(void *opaque), void *opaque)
{
	struct terminal_pump *p = calloc(1, sizeof(*p));
	int fds[2], ret;

	*pp = NULL;
	if (!p)
		return -ENOMEM;
	if (pipe2(fds, O_CLOEXEC)) {
		ret = -errno;
		free(p);
		return ret;
	}
	/* Never block on a full pipe: the pump must notice when it is told to stop. */
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	p->tty_fd = tty_fd;
	p->pipe_rd = fds[0];
	p->pipe_wr = fds[1];
	p->on_quit = on_quit;
	p->opaque = opaque;
	atomic_init(&p->quit, false);
	ret = -pthread_create(&p->thread, NULL, pump_thread, p);
	if (ret) {
		close(fds[0]);
		close(fds[1]);
		free(p);
		return ret;
	}
	*guest_fd = p->pipe_rd;
	*pp = p;
	return 0;
}

/* After the machine is gone (its input thread no longer reads the pipe). */
void terminal_pump_stop(struct terminal_pump *p)
{
	if (!p)
		return;
	atomic_store(&p->quit, true);
	pthread_join(p->thread, NULL);
	close(p->pipe_rd);
	close(p->pipe_wr);
	free(p);
}

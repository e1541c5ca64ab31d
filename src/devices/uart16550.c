/* 16550A UART register model (National Semiconductor PC16550D data sheet): THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, DLL/DLM. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/uart16550.h"

enum {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IER_ERBFI	0x01	/* received data available */
#define IER_ETBEI	0x02	/* THR empty */
#define IIR_NONE	0x01
#define IIR_THRE	0x02
#define IIR_RDA		0x04
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

void uart16550_init(struct uart16550 *uart, int out_fd)
{
	memset(uart, 0, sizeof(*uart));
	uart->out_fd = out_fd;
	/* The transmitter is infinitely fast: THR and the shift register are always empty. */
	uart->lsr = LSR_THRE | LSR_TEMT;
}

static unsigned uart_rx_depth(const struct uart16550 *uart)
{
	return uart->fcr & FCR_ENABLE ? UART16550_FIFO : 1;
}

static bool uart_rx_push(struct uart16550 *uart, uint8_t byte)
{
	if (uart->rx_len >= uart_rx_depth(uart))
		return false;
	uart->rx[(uart->rx_head + uart->rx_len) % UART16550_FIFO] = byte;
	uart->rx_len++;
	uart->lsr |= LSR_DR;
	return true;
}

static uint8_t uart_rx_pop(struct uart16550 *uart)
{
	uint8_t byte;

	if (!uart->rx_len)
		return uart->rx[uart->rx_head];	/* an empty RBR reads its last byte again */
	byte = uart->rx[uart->rx_head];
	uart->rx_len--;
	if (uart->rx_len) {
		uart->rx_head = (uart->rx_head + 1) % UART16550_FIFO;
	} else {
		uart->rx_head = 0;
		uart->rx[0] = byte;
		uart->lsr &= ~LSR_DR;
	}
	return byte;
}

static void uart_rx_clear(struct uart16550 *uart)
{
	uart->rx_head = uart->rx_len = 0;
	uart->lsr &= ~LSR_DR;
}

/* Highest-priority pending interrupt as the IIR encodes it (data sheet table 4). */
static uint8_t uart_pending(const struct uart16550 *uart)
{
	if ((uart->ier & IER_ERBFI) && (uart->lsr & LSR_DR))
		return IIR_RDA;
	if ((uart->ier & IER_ETBEI) && uart->thre_pending)
		return IIR_THRE;
	return IIR_NONE;
}

/* On a PC, OUT2 gates the UART's interrupt onto the ISA IRQ line. */
static void uart_update_irq(struct uart16550 *uart)
{
	bool level = uart_pending(uart) != IIR_NONE && (uart->mcr & MCR_OUT2);

	if (level != uart->irq_level) {
		uart->irq_level = level;
		if (uart->irq)
			uart->irq(uart->irq_opaque, level);
	}
}

static void uart_transmit(struct uart16550 *uart, uint8_t byte)
{
	if (uart->mcr & MCR_LOOP) {
		/* Loopback (drivers use it to probe the chip): TX feeds RX. */
		uart_rx_push(uart, byte);
	} else if (uart->out_fd >= 0) {
		/* Unbuffered so that nothing printed before a crash is lost. */
		while (write(uart->out_fd, &byte, 1) < 0 && errno == EINTR)
			;
	}
	uart->thre_pending = true;
}

static uint8_t uart_msr(const struct uart16550 *uart)
{
	uint8_t m = uart->mcr;

	if (m & MCR_LOOP)
		return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
		       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
	/* A modem that is always there and ready. */
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static uint8_t uart_read(struct uart16550 *uart, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR_THR:
		if (uart->lcr & LCR_DLAB)
			return uart->dll;
		return uart_rx_pop(uart);
	case UART_IER:
		return uart->lcr & LCR_DLAB ? uart->dlm : uart->ier;
	case UART_IIR_FCR:
		v = uart_pending(uart);
		/* Reading IIR while it reports THRE acknowledges it. */
		if (v == IIR_THRE)
			uart->thre_pending = false;
		return v | (uart->fcr & FCR_ENABLE ? IIR_FIFO : 0);
	case UART_LCR:
		return uart->lcr;
	case UART_MCR:
		return uart->mcr;
	case UART_LSR:
		return uart->lsr;
	case UART_MSR:
		return uart_msr(uart);
	default:
		return uart->scr;
	}
}

static void uart_write(struct uart16550 *uart, unsigned reg, uint8_t v)
{
	switch (reg) {
	case UART_RBR_THR:
		if (uart->lcr & LCR_DLAB)
			uart->dll = v;
		else
			uart_transmit(uart, v);
		break;
	case UART_IER:
		if (uart->lcr & LCR_DLAB) {
			uart->dlm = v;
		} else {
			/* Enabling the THRE interrupt with THR empty raises it at once. */
			if ((v & IER_ETBEI) && !(uart->ier & IER_ETBEI))
				uart->thre_pending = true;
			uart->ier = v & 0x0f;
		}
		break;
	case UART_IIR_FCR:
		/* Turning the FIFOs on or off empties them (data sheet, FCR bit 0). */
		if ((v ^ uart->fcr) & FCR_ENABLE || (v & FCR_CLEAR_RX))
			uart_rx_clear(uart);
		uart->fcr = v & 0xc9;
		break;
	case UART_LCR:
		uart->lcr = v;
		break;
	case UART_MCR:
		uart->mcr = v & 0x1f;
		break;
	case UART_SCR:
		uart->scr = v;
		break;
	default:		/* LSR and MSR are read-only */
		break;
	}
}

size_t uart16550_receive(struct uart16550 *uart, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	/*
	 * In loopback the receiver is cut off from the line. Host input also
	 * waits until the guest has set the receiver up (RX interrupt on, or
	 * FIFOs on for polling): drivers reset the FIFOs while they start, and
	 * bytes that arrived before would be lost there. A guest that polls
	 * with FIFOs off and no RX interrupt receives nothing (not needed yet).
	 */
	if (!(uart->ier & IER_ERBFI) && !(uart->fcr & FCR_ENABLE))
		return 0;
	while (n < len && !(uart->mcr & MCR_LOOP) && uart_rx_push(uart, buf[n]))
		n++;
	uart_update_irq(uart);
	return n;
}

void uart16550_access(void *opaque, uint64_t offset, unsigned size,
		      bool is_write, uint64_t *data)
{
	struct uart16550 *uart = opaque;
	unsigned reg = offset & 7;

	/* The chip has an 8-bit data bus: wider accesses use the low byte. */
	if (is_write)
		uart_write(uart, reg, (uint8_t)*data);
	else
		*data = uart_read(uart, reg);
	uart_update_irq(uart);
}

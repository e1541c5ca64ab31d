/* Split virtqueues (virtio 1.2, 2.7): walk descriptor chains the guest wrote, trusting none of it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtio.h"
#include "devices/virtqueue.h"

/*
 * Ring fields are little-endian (2.4). The host is x86-64, so a naturally
 * aligned field is read and written with a plain __atomic access of the
 * host type; the guest's vCPU threads write the same memory concurrently,
 * and atomics keep each field a single fetch the compiler cannot repeat.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtqueue.c assumes a little-endian host"
#endif

/* Split ring layout (2.7.5, 2.7.6, 2.7.8). */
#define DESC_SIZE        16
#define AVAIL_IDX        2
#define AVAIL_RING       4			/* le16 ring[size], then le16 used_event */
#define USED_IDX         2
#define USED_RING        4			/* {le32 id, le32 len}[size], then le16 avail_event */
#define USED_ELEM_SIZE   8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static uint16_t load16(const uint8_t *p, int order)
{
	return __atomic_load_n((const uint16_t *)p, order);
}

static void store16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)p, v, order);
}

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

/*
 * One descriptor, fetched exactly once into a local copy (the guest may
 * rewrite it while we look). The main table is 16-byte aligned (checked at
 * enable); an indirect table need not be, so an unaligned one is read
 * byte by byte through a volatile pointer, which is a single fetch too.
 */
static void read_desc(const uint8_t *p, struct desc *d)
{
	uint64_t w0, w1;

	if (!((uintptr_t)p & 7)) {
		w0 = __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
		w1 = __atomic_load_n((const uint64_t *)(p + 8), __ATOMIC_RELAXED);
	} else {
		const volatile uint8_t *v = p;
		uint8_t raw[DESC_SIZE];
		unsigned i;

		for (i = 0; i < DESC_SIZE; i++)
			raw[i] = v[i];
		memcpy(&w0, raw, 8);
		memcpy(&w1, raw + 8, 8);
	}
	d->addr = w0;
	d->len = (uint32_t)w1;
	d->flags = (uint16_t)(w1 >> 32);
	d->next = (uint16_t)(w1 >> 48);
}

void virtq_reset(struct virtq *q, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->size = max_size;
	q->msix_vector = VIRTIO_MSI_NO_VECTOR;
}

static uint8_t *map_ring(const struct dma_space *dma, uint64_t gpa, uint64_t len, unsigned align,
			 const char *what, char *why, size_t whylen)
{
	uint8_t *p;

	if (gpa & (align - 1)) {
		fail(why, whylen, "%s ring at %#llx is not %u-byte aligned", what,
		     (unsigned long long)gpa, align);
		return NULL;
	}
	p = dma_map(dma, gpa, len);
	if (!p) {
		fail(why, whylen, "%s ring [%#llx, +%#llx) is not in guest RAM", what,
		     (unsigned long long)gpa, (unsigned long long)len);
		return NULL;
	}
	/* Guest RAM is page-aligned on the host, so this only catches a broken dma_space. */
	if ((uintptr_t)p & (align - 1)) {
		fail(why, whylen, "%s ring maps to a misaligned host address", what);
		return NULL;
	}
	return p;
}

int virtq_enable(struct virtq *q, const struct dma_space *dma, uint64_t features,
		 char *why, size_t whylen)
{
	uint64_t n = q->size;

	q->enabled = false;
	q->desc = q->avail = q->used = NULL;
	if (!n || (n & (n - 1)) || n > VIRTQ_MAX_SIZE)
		return fail(why, whylen, "queue size %llu is not a power of two up to %u",
			    (unsigned long long)n, VIRTQ_MAX_SIZE);
	/* Sizes and alignments of 2.7 (the event fields are always counted). */
	q->desc = map_ring(dma, q->desc_gpa, DESC_SIZE * n, 16, "descriptor", why, whylen);
	if (q->desc)
		q->avail = map_ring(dma, q->avail_gpa, 6 + 2 * n, 2, "available", why, whylen);
	if (q->avail)
		q->used = map_ring(dma, q->used_gpa, 6 + USED_ELEM_SIZE * n, 4, "used", why, whylen);
	if (!q->used) {
		q->desc = q->avail = NULL;
		return -EINVAL;
	}
	q->dma = dma;
	q->event_idx = features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	q->indirect = features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->enabled = true;
	return 0;
}

static uint16_t avail_idx(const struct virtq *q)
{
	/* Acquire: the ring entries and descriptors the driver wrote before the index are visible after it. */
	return load16(q->avail + AVAIL_IDX, __ATOMIC_ACQUIRE);
}

bool virtq_has_avail(const struct virtq *q)
{
	return q->enabled && q->avail && avail_idx(q) != q->last_avail;
}

/* Add a non-empty buffer to the element, checking direction and the segment budget. */
static int add_segment(struct virtq *q, struct virtq_elem *e, const struct desc *d,
		       char *why, size_t whylen)
{
	void *p;

	if (e->nr_out + e->nr_in >= VIRTQ_MAX_SEGS)
		return fail(why, whylen, "chain from head %u has more than %u buffers", e->head,
			    VIRTQ_MAX_SEGS);
	p = dma_map(q->dma, d->addr, d->len);
	if (!p)
		return fail(why, whylen, "chain from head %u: buffer [%#llx, +%#x) is not in guest RAM",
			    e->head, (unsigned long long)d->addr, d->len);
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		e->in[e->nr_in].iov_base = p;
		e->in[e->nr_in++].iov_len = d->len;
		e->in_len += d->len;
	} else {
		/* 2.7.4.2: device-readable buffers come before device-writable ones. */
		if (e->nr_in)
			return fail(why, whylen, "chain from head %u: readable buffer after a writable one",
				    e->head);
		e->out[e->nr_out].iov_base = p;
		e->out[e->nr_out++].iov_len = d->len;
		e->out_len += d->len;
	}
	return 0;
}

/* Walk the chain starting at head in the main table, following one indirect table if there is one. */
static int walk_chain(struct virtq *q, struct virtq_elem *e, uint16_t head, char *why, size_t whylen)
{
	const uint8_t *table = q->desc;
	unsigned table_size = q->size, idx = head, seen = 0;
	bool in_indirect = false;
	struct desc d;
	int r;

	e->head = head;
	e->nr_out = e->nr_in = 0;
	e->out_len = e->in_len = 0;
	for (;;) {
		/* A table of n entries holds no chain longer than n: more means a loop (2.7.5.3.1). */
		if (++seen > table_size)
			return fail(why, whylen, "chain from head %u is longer than its %s table (a loop?)",
				    head, in_indirect ? "indirect" : "descriptor");
		read_desc(table + (size_t)DESC_SIZE * idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3: only with the feature, never nested, never chained on with NEXT. */
			if (!q->indirect)
				return fail(why, whylen, "chain from head %u: indirect descriptor without "
					    "VIRTIO_F_INDIRECT_DESC", head);
			if (in_indirect)
				return fail(why, whylen, "chain from head %u: nested indirect descriptor", head);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return fail(why, whylen, "chain from head %u: descriptor with both INDIRECT "
					    "and NEXT", head);
			if (!d.len || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_SEGS)
				return fail(why, whylen, "chain from head %u: indirect table length %u",
					    head, d.len);
			table = dma_map(q->dma, d.addr, d.len);
			if (!table)
				return fail(why, whylen, "chain from head %u: indirect table [%#llx, +%#x) is "
					    "not in guest RAM", head, (unsigned long long)d.addr, d.len);
			/* The WRITE flag of the descriptor naming the table means nothing (2.7.5.3.2). */
			table_size = d.len / DESC_SIZE;
			idx = 0;
			seen = 0;
			in_indirect = true;
			continue;
		}
		/* Zero-length buffers carry nothing: allowed, and skipped. */
		if (d.len) {
			r = add_segment(q, e, &d, why, whylen);
			if (r < 0)
				return r;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= table_size)
			return fail(why, whylen, "chain from head %u: next index %u is outside its %u-entry "
				    "table", head, idx, table_size);
	}
}

int virtq_pop(struct virtq *q, struct virtq_elem *e, char *why, size_t whylen)
{
	uint16_t idx, pending, head;
	int r;

	if (!q->enabled || !q->avail)
		return 0;
	idx = avail_idx(q);
	pending = (uint16_t)(idx - q->last_avail);
	if (!pending && q->event_idx) {
		/*
		 * 2.7.10: ask for a notification when the driver makes entry
		 * last_avail available, then look once more, so a chain made
		 * available between the two reads is not left waiting for a
		 * notification the driver will not send. The full barrier orders
		 * the avail_event store before the second index load.
		 */
		store16(q->used + USED_RING + (size_t)USED_ELEM_SIZE * q->size, q->last_avail,
			__ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		idx = avail_idx(q);
		pending = (uint16_t)(idx - q->last_avail);
	}
	if (!pending)
		return 0;
	if (pending > q->size)
		return fail(why, whylen, "available index %u is %u entries ahead of %u in a queue of %u",
			    idx, pending, q->last_avail, q->size);
	head = load16(q->avail + AVAIL_RING + 2 * (size_t)(q->last_avail & (q->size - 1)),
		      __ATOMIC_RELAXED);
	if (head >= q->size)
		return fail(why, whylen, "head index %u is outside the %u-entry queue", head, q->size);
	r = walk_chain(q, e, head, why, whylen);
	if (r < 0)
		return r;
	q->last_avail++;
	return 1;
}

void virtq_note_written(const struct virtq *q, const struct virtq_elem *e, size_t len)
{
	for (unsigned i = 0; i < e->nr_in && len; i++) {
		size_t n = e->in[i].iov_len < len ? e->in[i].iov_len : len;

		dma_written(q->dma, e->in[i].iov_base, n);
		len -= n;
	}
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	uint8_t *elem;

	if (!q->enabled || !q->used)
		return;
	elem = q->used + USED_RING + (size_t)USED_ELEM_SIZE * (q->used_idx & (q->size - 1));
	store32(elem, head);
	store32(elem + 4, written);
	q->used_idx++;
	/* Release: the driver that sees the new index sees the entry (2.7.8). */
	store16(q->used + USED_IDX, q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_interrupt(struct virtq *q)
{
	uint16_t old, new, event;
	bool valid;

	if (!q->enabled || !q->avail)
		return false;
	/* The used index store must be visible before we read the driver's suppression fields. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(q->avail, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	/*
	 * 2.7.10 (vring_need_event): interrupt when used_idx moved past
	 * used_event since the last interrupt. The flags field is ignored
	 * with EVENT_IDX (2.7.7.2). Without a previous interrupt to compare
	 * with (after enable), always interrupt.
	 */
	old = q->signalled_used;
	new = q->used_idx;
	valid = q->signalled_valid;
	q->signalled_used = new;
	q->signalled_valid = true;
	if (!valid)
		return true;
	event = load16(q->avail + AVAIL_RING + 2 * (size_t)q->size, __ATOMIC_RELAXED);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/* Copy between segments and a flat buffer, `skip` bytes into the segments; to_iov says which way. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, chunk;
		uint8_t *base;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		base = (uint8_t *)iov[i].iov_base + skip;
		chunk = seg - skip < len - done ? seg - skip : len - done;
		if (to_iov)
			memcpy(base, buf + done, chunk);
		else
			memcpy(buf + done, base, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true);
}

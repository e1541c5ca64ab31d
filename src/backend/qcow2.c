/* qcow2 images (QEMU's docs/interop/qcow2.txt, versions 2 and 3): header checks, L1/L2 lookup, allocation at the end of the file with exact refcounts. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/errmsg.h"
#include "backend/qcow2.h"

#define QCOW2_MAGIC	0x514649fbu	/* "QFI\xfb" */
#define HDR_V2_LEN	72u
#define HDR_V3_LEN	104u

/* Header fields (byte offsets, big-endian). */
#define H_MAGIC			0
#define H_VERSION		4
#define H_BACKING_OFFSET	8
#define H_CLUSTER_BITS		20
#define H_SIZE			24
#define H_CRYPT_METHOD		32
#define H_L1_SIZE		36
#define H_L1_OFFSET		40
#define H_RT_OFFSET		48
#define H_RT_CLUSTERS		56
#define H_INCOMPAT		72
#define H_AUTOCLEAR		88
#define H_REFCOUNT_ORDER	96
#define H_HEADER_LENGTH		100

#define INCOMPAT_DIRTY		(1ull << 0)
#define INCOMPAT_CORRUPT	(1ull << 1)
#define INCOMPAT_DATA_FILE	(1ull << 2)
#define INCOMPAT_COMPRESSION	(1ull << 3)	/* a compression type other than deflate: only compressed clusters differ */
#define INCOMPAT_EXTENDED_L2	(1ull << 4)

/* Table entries: host offsets in bits 9-55; bit 63 "copied" (refcount exactly 1). */
#define ENTRY_OFFSET_MASK	0x00fffffffffffe00ull
#define ENTRY_COPIED		(1ull << 63)
#define L2E_COMPRESSED		(1ull << 62)
#define L2E_ZERO		1ull		/* v3: the cluster reads as zeroes */
#define RT_OFFSET_MASK		0xfffffffffffffe00ull

#define MIN_CLUSTER_BITS	9
#define MAX_CLUSTER_BITS	21
/* QEMU's own limits; larger tables would be images it never writes, and we hold both in memory. */
#define MAX_L1_BYTES		(32ull << 20)
#define MAX_RT_BYTES		(8ull << 20)
#define MAX_HOST_OFFSET		(1ull << 56)
/* Clusters past the end that allocation may skip (marked in use by a stray refcount) before giving up. */
#define MAX_ALLOC_SKIPS		4096

struct qcow2 {
	unsigned version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits;		/* log2 of entries per L2 table */
	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1;			/* host byte order */
	unsigned refcount_bytes;	/* 1, 2, 4 or 8: width of a refcount entry (writable images) */
	unsigned rb_bits;		/* log2 of entries per refcount block */
	uint64_t rt_offset;
	uint64_t rt_size;		/* entries */
	uint64_t *rt;			/* host byte order; NULL when read-only */
	uint64_t next_free;		/* cluster index where the next allocation looks first */
	uint8_t *buf;			/* one cluster: data being assembled, or an L2 table being copied */
	uint8_t *rbuf;			/* one cluster: a new refcount block */
};

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, unsigned bytes, uint64_t v)
{
	for (unsigned i = bytes; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

/* pread/pwrite of the whole range, EINTR and short transfers retried; a short file is -EIO. */
static int file_io(int fd, void *buf, size_t len, uint64_t off, bool write)
{
	uint8_t *p = buf;

	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EIO;
	while (len) {
		ssize_t got = write ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -EIO;
		p += got;
		off += (uint64_t)got;
		len -= (size_t)got;
	}
	return 0;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return file_io(fd, buf, len, off, false);
}

static int write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	return file_io(fd, (void *)buf, len, off, true);
}

static int write_be64_at(int fd, uint64_t v, uint64_t off)
{
	uint8_t b[8];

	put_be(b, 8, v);
	return write_at(fd, b, 8, off);
}

/* ---- a position in the caller's iovec list ---- */

struct iov_cursor {
	const struct iovec *iov;
	unsigned n, i;
	size_t done;			/* bytes of iov[i] already consumed */
};

/* Move len bytes between the cursor's buffers and buf (into buf if `out`); zeroes when buf is NULL. */
static void iov_move(struct iov_cursor *c, uint8_t *buf, size_t len, bool out)
{
	while (len && c->i < c->n) {
		size_t room = c->iov[c->i].iov_len - c->done, k = len < room ? len : room;
		uint8_t *p = (uint8_t *)c->iov[c->i].iov_base + c->done;

		if (!buf)
			memset(p, 0, k);
		else if (out)
			memcpy(buf, p, k);
		else
			memcpy(p, buf, k);
		if (buf)
			buf += k;
		len -= k;
		c->done += k;
		if (c->done == c->iov[c->i].iov_len) {
			c->i++;
			c->done = 0;
		}
	}
}

/* ---- refcounts ---- */

/* Where cluster's refcount lives: *at is its byte offset, or 0 when no refcount block covers it (refcount 0). */
static int refcount_where(struct qcow2 *q, uint64_t cluster, uint64_t *at)
{
	uint64_t rt_i = cluster >> q->rb_bits, block;

	if (rt_i >= q->rt_size)
		return -ENOSPC;	/* the table would have to grow; we never relocate it */
	block = q->rt[rt_i] & RT_OFFSET_MASK;
	if (!block) {
		*at = 0;
		return 0;
	}
	if (block & (q->cluster_size - 1) || block >= MAX_HOST_OFFSET)
		return -EIO;
	*at = block + (cluster & ((1ull << q->rb_bits) - 1)) * q->refcount_bytes;
	return 0;
}

static int refcount_get(struct disk *d, uint64_t cluster, uint64_t *value)
{
	struct qcow2 *q = d->qcow2;
	uint8_t b[8];
	uint64_t at;
	int r = refcount_where(q, cluster, &at);

	if (r < 0)
		return r;
	if (!at) {
		*value = 0;
		return 0;
	}
	r = read_at(d->fd, b, q->refcount_bytes, at);
	if (r < 0)
		return r;
	*value = get_be(b, q->refcount_bytes);
	return 0;
}

/* Add +1 or -1 to cluster's refcount. Never to 0: we never free (a snapshot may still need it). */
static int refcount_add(struct disk *d, uint64_t cluster, int delta)
{
	struct qcow2 *q = d->qcow2;
	uint64_t at, v, max = q->refcount_bytes == 8 ? UINT64_MAX : (1ull << (8 * q->refcount_bytes)) - 1;
	uint8_t b[8];
	int r = refcount_where(q, cluster, &at);

	if (r < 0)
		return r;
	if (!at)
		return -EIO;	/* find_free() made the block; a missing one is a broken image */
	r = read_at(d->fd, b, q->refcount_bytes, at);
	if (r < 0)
		return r;
	v = get_be(b, q->refcount_bytes);
	if (delta > 0 ? v == max : v < 2)
		return delta > 0 ? -EIO : 0;
	put_be(b, q->refcount_bytes, delta > 0 ? v + 1 : v - 1);
	return write_at(d->fd, b, q->refcount_bytes, at);
}

/*
 * A free cluster at the end of the file, for the caller to fill and then
 * count with refcount_add(). New clusters only ever come from the end, so
 * nothing a snapshot or a leak still holds is reused. When no refcount
 * block covers the end, the first free cluster becomes that block,
 * counting itself, before the table links it (a crash in between leaves
 * an unreferenced cluster, never a wrong count).
 */
static int find_free(struct disk *d, uint64_t *cluster)
{
	struct qcow2 *q = d->qcow2;

	for (unsigned tries = 0; tries < MAX_ALLOC_SKIPS; tries++) {
		uint64_t p = q->next_free, rt_i = p >> q->rb_bits, v;
		int r;

		if (p >= MAX_HOST_OFFSET >> q->cluster_bits || rt_i >= q->rt_size)
			return -ENOSPC;
		if (!(q->rt[rt_i] & RT_OFFSET_MASK)) {
			uint64_t off = p << q->cluster_bits;

			memset(q->rbuf, 0, q->cluster_size);
			put_be(q->rbuf + (p & ((1ull << q->rb_bits) - 1)) * q->refcount_bytes,
			       q->refcount_bytes, 1);
			r = write_at(d->fd, q->rbuf, q->cluster_size, off);
			if (r < 0)
				return r;
			r = write_be64_at(d->fd, off, q->rt_offset + rt_i * 8);
			if (r < 0)
				return r;
			q->rt[rt_i] = off;
			q->next_free = p + 1;
			continue;
		}
		r = refcount_get(d, p, &v);
		if (r < 0)
			return r;
		q->next_free = p + 1;
		if (!v) {
			*cluster = p;
			return 0;
		}
	}
	return -EIO;
}

/* ---- cluster lookup ---- */

/* Whether a host cluster may be written in place: only when nothing else (a snapshot) refers to it. */
static int sole_owner(struct disk *d, uint64_t entry, bool *sole)
{
	uint64_t v;
	int r;

	if (entry & ENTRY_COPIED) {
		*sole = true;
		return 0;
	}
	r = refcount_get(d, (entry & ENTRY_OFFSET_MASK) >> d->qcow2->cluster_bits, &v);
	if (r < 0)
		return r;
	*sole = v == 1;
	return 0;
}

static int check_host_offset(const struct qcow2 *q, uint64_t off)
{
	return off & (q->cluster_size - 1) ? -EIO : 0;
}

/* The L2 entry for guest byte offset; 0 when its L2 table is not allocated. */
static int l2_entry(struct disk *d, uint64_t offset, uint64_t *entry)
{
	struct qcow2 *q = d->qcow2;
	uint64_t l1_i = offset >> (q->cluster_bits + q->l2_bits), l2, idx;
	uint8_t b[8];
	int r;

	if (l1_i >= q->l1_size)
		return -EIO;
	l2 = q->l1[l1_i] & ENTRY_OFFSET_MASK;
	if (!l2) {
		*entry = 0;
		return 0;
	}
	if (check_host_offset(q, l2))
		return -EIO;
	idx = (offset >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	r = read_at(d->fd, b, 8, l2 + idx * 8);
	if (r < 0)
		return r;
	*entry = get_be(b, 8);
	return 0;
}

/* Whether an L2 entry reads as zeroes: unallocated, or (v3) the zero flag. */
static bool reads_zero(const struct qcow2 *q, uint64_t entry)
{
	if (entry & L2E_COMPRESSED)
		return false;
	return !(entry & ENTRY_OFFSET_MASK) || (q->version >= 3 && (entry & L2E_ZERO));
}

int qcow2_readv(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset)
{
	struct qcow2 *q = d->qcow2;
	struct iov_cursor c = { .iov = iov, .n = n };
	uint64_t total = 0;

	for (unsigned i = 0; i < n; i++)
		total += iov[i].iov_len;	/* disk.c checked it fits the disk */
	while (total) {
		uint64_t in = offset & (q->cluster_size - 1), chunk = q->cluster_size - in, entry;
		int r;

		if (chunk > total)
			chunk = total;
		r = l2_entry(d, offset, &entry);
		if (r < 0)
			return r;
		if (entry & L2E_COMPRESSED)
			return -EIO;	/* compressed clusters are not supported */
		if (reads_zero(q, entry)) {
			iov_move(&c, NULL, chunk, false);
		} else {
			uint64_t host = entry & ENTRY_OFFSET_MASK;

			if (check_host_offset(q, host))
				return -EIO;
			r = read_at(d->fd, q->buf, chunk, host + in);
			if (r < 0)
				return r;
			iov_move(&c, q->buf, chunk, false);
		}
		offset += chunk;
		total -= chunk;
	}
	return 0;
}

/* ---- writes ---- */

/*
 * The L2 table for guest offset, ready to be written: allocated (all
 * zeroes) if missing, or copied if a snapshot shares it. Returns its host
 * offset in *l2. Order: table contents, refcount, then the L1 entry.
 */
static int writable_l2(struct disk *d, uint64_t offset, uint64_t *l2)
{
	struct qcow2 *q = d->qcow2;
	uint64_t l1_i = offset >> (q->cluster_bits + q->l2_bits), e, old, nc, rc = 0;
	bool sole;
	int r;

	if (l1_i >= q->l1_size)
		return -EIO;
	e = q->l1[l1_i];
	old = e & ENTRY_OFFSET_MASK;
	if (old) {
		if (check_host_offset(q, old))
			return -EIO;
		r = sole_owner(d, e, &sole);
		if (r < 0)
			return r;
		if (sole) {
			*l2 = old;
			return 0;
		}
		r = refcount_get(d, old >> q->cluster_bits, &rc);
		if (r < 0)
			return r;
		r = read_at(d->fd, q->buf, q->cluster_size, old);
		if (r < 0)
			return r;
		/* The copy's entries stay without the copied flag: the snapshot still shares their clusters. */
	} else {
		memset(q->buf, 0, q->cluster_size);
	}
	r = find_free(d, &nc);
	if (r < 0)
		return r;
	r = write_at(d->fd, q->buf, q->cluster_size, nc << q->cluster_bits);
	if (r < 0)
		return r;
	r = refcount_add(d, nc, +1);
	if (r < 0)
		return r;
	e = (nc << q->cluster_bits) | ENTRY_COPIED;
	r = write_be64_at(d->fd, e, q->l1_offset + l1_i * 8);
	if (r < 0)
		return r;
	q->l1[l1_i] = e;
	if (old && rc >= 2)
		r = refcount_add(d, old >> q->cluster_bits, -1);
	*l2 = nc << q->cluster_bits;
	return r;
}

/*
 * Write chunk bytes (all within one cluster) from the cursor to guest
 * offset. An allocated cluster we own alone is written in place; anything
 * else gets a new cluster at the end of the file holding the whole
 * cluster's new contents (zeroes, or the old data when a snapshot shares
 * it, around the guest's bytes). Order: data, refcount, L2 entry.
 */
static int write_chunk(struct disk *d, struct iov_cursor *c, uint64_t offset, uint64_t chunk)
{
	struct qcow2 *q = d->qcow2;
	uint64_t in = offset & (q->cluster_size - 1), l2, at, entry, host, nc, rc = 0;
	bool sole = false;
	uint8_t b[8];
	int r;

	r = writable_l2(d, offset, &l2);
	if (r < 0)
		return r;
	at = l2 + ((offset >> q->cluster_bits) & ((1ull << q->l2_bits) - 1)) * 8;
	r = read_at(d->fd, b, 8, at);
	if (r < 0)
		return r;
	entry = get_be(b, 8);
	if (entry & L2E_COMPRESSED)
		return -EIO;	/* never rewrite compressed clusters */
	host = entry & ENTRY_OFFSET_MASK;
	if (host) {
		if (check_host_offset(q, host))
			return -EIO;
		r = sole_owner(d, entry, &sole);
		if (r < 0)
			return r;
	}
	if (sole && !reads_zero(q, entry)) {
		iov_move(c, q->buf, chunk, true);
		return write_at(d->fd, q->buf, chunk, host + in);
	}
	/* The cluster's whole new contents. */
	if (reads_zero(q, entry))
		memset(q->buf, 0, q->cluster_size);
	else if ((r = read_at(d->fd, q->buf, q->cluster_size, host)) < 0)
		return r;
	iov_move(c, q->buf + in, chunk, true);
	if (sole) {
		/* A preallocated zero cluster of ours: fill it, then drop the zero flag. */
		r = write_at(d->fd, q->buf, q->cluster_size, host);
		if (r < 0)
			return r;
		return write_be64_at(d->fd, host | ENTRY_COPIED, at);
	}
	if (host) {
		r = refcount_get(d, host >> q->cluster_bits, &rc);
		if (r < 0)
			return r;
	}
	r = find_free(d, &nc);
	if (r < 0)
		return r;
	r = write_at(d->fd, q->buf, q->cluster_size, nc << q->cluster_bits);
	if (r < 0)
		return r;
	r = refcount_add(d, nc, +1);
	if (r < 0)
		return r;
	r = write_be64_at(d->fd, (nc << q->cluster_bits) | ENTRY_COPIED, at);
	if (r < 0)
		return r;
	if (host && rc >= 2)
		r = refcount_add(d, host >> q->cluster_bits, -1);
	return r;
}

int qcow2_writev(struct disk *d, const struct iovec *iov, unsigned n, uint64_t offset)
{
	struct qcow2 *q = d->qcow2;
	struct iov_cursor c = { .iov = iov, .n = n };
	uint64_t total = 0;

	for (unsigned i = 0; i < n; i++)
		total += iov[i].iov_len;	/* disk.c checked it fits the disk */
	while (total) {
		uint64_t chunk = q->cluster_size - (offset & (q->cluster_size - 1));
		int r;

		if (chunk > total)
			chunk = total;
		r = write_chunk(d, &c, offset, chunk);
		if (r < 0)
			return r;
		offset += chunk;
		total -= chunk;
	}
	return 0;
}

/* ---- open ---- */

/* Whether [off, off + len) is a cluster-aligned range inside the file, without overflow. */
static bool table_fits(const struct qcow2 *q, uint64_t off, uint64_t len, uint64_t file_size)
{
	return !(off & (q->cluster_size - 1)) && off && off <= file_size && len <= file_size - off;
}

static int load_table(int fd, uint64_t **table, uint64_t entries, uint64_t off)
{
	uint8_t *raw;
	int r;

	*table = calloc(entries ? entries : 1, 8);
	if (!*table)
		return -ENOMEM;
	raw = (uint8_t *)*table;
	r = read_at(fd, raw, entries * 8, off);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < entries; i++)
		(*table)[i] = get_be(raw + i * 8, 8);	/* in place: entry i's bytes are read before it is stored */
	return 0;
}

#define FAIL(ret, ...) do { r = backend_error(err, errlen, (ret), __VA_ARGS__); goto fail; } while (0)

int qcow2_open(struct disk *d, uint64_t file_size, char *err, size_t errlen)
{
	uint8_t h[HDR_V3_LEN] = { 0 };
	uint64_t size, incompat = 0, autoclear = 0, per_l1, need, rt_clusters;
	unsigned refcount_order = 4;
	struct qcow2 *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return backend_error(err, errlen, -ENOMEM, "disk image '%s': out of memory", d->path);
	if (file_size < HDR_V2_LEN)
		FAIL(-EINVAL, "disk image '%s' is not a qcow2 image (too short)", d->path);
	r = read_at(d->fd, h, file_size < HDR_V3_LEN ? HDR_V2_LEN : HDR_V3_LEN, 0);
	if (r < 0)
		FAIL(r, "disk image '%s': cannot read the qcow2 header: %s", d->path, strerror(-r));
	if (get_be(h + H_MAGIC, 4) != QCOW2_MAGIC)
		FAIL(-EINVAL, "disk image '%s' is not a qcow2 image (no QFI\\xfb magic)", d->path);
	q->version = (unsigned)get_be(h + H_VERSION, 4);
	if (q->version != 2 && q->version != 3)
		FAIL(-EINVAL, "disk image '%s': qcow2 version %u is not supported (only 2 and 3)", d->path,
		     q->version);
	if (get_be(h + H_BACKING_OFFSET, 8))
		FAIL(-EINVAL, "disk image '%s' has a backing file, which ringvm does not support "
		     "(qemu-img convert -O qcow2 makes a standalone image)", d->path);
	q->cluster_bits = (unsigned)get_be(h + H_CLUSTER_BITS, 4);
	if (q->cluster_bits < MIN_CLUSTER_BITS || q->cluster_bits > MAX_CLUSTER_BITS)
		FAIL(-EINVAL, "disk image '%s': qcow2 cluster_bits %u is outside 9..21", d->path, q->cluster_bits);
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	if (get_be(h + H_CRYPT_METHOD, 4))
		FAIL(-EINVAL, "disk image '%s' is encrypted, which ringvm does not support", d->path);
	if (q->version == 3) {
		uint64_t hlen = get_be(h + H_HEADER_LENGTH, 4);

		if (file_size < HDR_V3_LEN || hlen < HDR_V3_LEN || hlen > file_size)
			FAIL(-EINVAL, "disk image '%s': qcow2 v3 header length %llu is invalid", d->path,
			     (unsigned long long)hlen);
		incompat = get_be(h + H_INCOMPAT, 8);
		autoclear = get_be(h + H_AUTOCLEAR, 8);
		refcount_order = (unsigned)get_be(h + H_REFCOUNT_ORDER, 4);
	}
	if (incompat & (INCOMPAT_DIRTY | INCOMPAT_CORRUPT))
		FAIL(-EINVAL, "disk image '%s' is marked %s; run qemu-img check -r all on it first", d->path,
		     incompat & INCOMPAT_CORRUPT ? "corrupt" : "dirty");
	if (incompat & INCOMPAT_DATA_FILE)
		FAIL(-EINVAL, "disk image '%s' has an external data file, which ringvm does not support", d->path);
	if (incompat & INCOMPAT_EXTENDED_L2)
		FAIL(-EINVAL, "disk image '%s' has extended L2 entries, which ringvm does not support", d->path);
	if (incompat & ~INCOMPAT_COMPRESSION)
		FAIL(-EINVAL, "disk image '%s' has unknown qcow2 incompatible features 0x%llx", d->path,
		     (unsigned long long)(incompat & ~INCOMPAT_COMPRESSION));
	if (refcount_order > 6)
		FAIL(-EINVAL, "disk image '%s': qcow2 refcount_order %u is invalid", d->path, refcount_order);
	if (!d->readonly && refcount_order < 3)
		FAIL(-EINVAL, "disk image '%s': %u-bit qcow2 refcounts are supported read-only only (readonly=on)",
		     d->path, 1u << refcount_order);
	q->refcount_bytes = refcount_order >= 3 ? 1u << (refcount_order - 3) : 1;
	q->rb_bits = q->cluster_bits + 3 - refcount_order;

	/* The L1 table must map the whole virtual size and lie inside the file. */
	size = get_be(h + H_SIZE, 8);
	q->l1_size = (uint32_t)get_be(h + H_L1_SIZE, 4);
	q->l1_offset = get_be(h + H_L1_OFFSET, 8);
	per_l1 = 2 * q->cluster_bits - 3;	/* log2 of guest bytes one L1 entry maps */
	need = (size >> per_l1) + !!(size & ((1ull << per_l1) - 1));
	if ((uint64_t)q->l1_size * 8 > MAX_L1_BYTES || need > q->l1_size)
		FAIL(-EINVAL, "disk image '%s': qcow2 L1 table of %u entries does not fit the size %llu",
		     d->path, q->l1_size, (unsigned long long)size);
	if (q->l1_size && !table_fits(q, q->l1_offset, (uint64_t)q->l1_size * 8, file_size))
		FAIL(-EINVAL, "disk image '%s': qcow2 L1 table offset 0x%llx is invalid", d->path,
		     (unsigned long long)q->l1_offset);
	rt_clusters = get_be(h + H_RT_CLUSTERS, 4);
	q->rt_offset = get_be(h + H_RT_OFFSET, 8);
	if (!rt_clusters || rt_clusters > MAX_RT_BYTES >> q->cluster_bits ||
	    !table_fits(q, q->rt_offset, rt_clusters << q->cluster_bits, file_size))
		FAIL(-EINVAL, "disk image '%s': qcow2 refcount table (0x%llx, %llu clusters) is invalid", d->path,
		     (unsigned long long)q->rt_offset, (unsigned long long)rt_clusters);
	q->rt_size = (rt_clusters << q->cluster_bits) / 8;

	r = load_table(d->fd, &q->l1, q->l1_size, q->l1_offset);
	if (r < 0)
		FAIL(r, "disk image '%s': cannot read the qcow2 L1 table: %s", d->path, strerror(-r));
	q->buf = malloc(q->cluster_size);
	if (!q->buf)
		FAIL(-ENOMEM, "disk image '%s': out of memory", d->path);
	if (!d->readonly) {
		r = load_table(d->fd, &q->rt, q->rt_size, q->rt_offset);
		if (r < 0)
			FAIL(r, "disk image '%s': cannot read the qcow2 refcount table: %s", d->path, strerror(-r));
		q->rbuf = malloc(q->cluster_size);
		if (!q->rbuf)
			FAIL(-ENOMEM, "disk image '%s': out of memory", d->path);
		q->next_free = (file_size >> q->cluster_bits) + !!(file_size & (q->cluster_size - 1));
		/* Autoclear features we do not maintain (bitmaps) must be cleared by a writer that ignores them. */
		if (autoclear) {
			r = write_be64_at(d->fd, 0, H_AUTOCLEAR);
			if (r == 0 && fdatasync(d->fd) < 0)
				r = -errno;
			if (r < 0)
				FAIL(r, "disk image '%s': cannot update the qcow2 header: %s", d->path, strerror(-r));
		}
	}
	d->qcow2 = q;
	d->size = size & ~511ull;
	return 0;

fail:
	d->qcow2 = q;
	qcow2_close(d);
	return r;
}

void qcow2_close(struct disk *d)
{
	struct qcow2 *q = d->qcow2;

	if (!q)
		return;
	free(q->l1);
	free(q->rt);
	free(q->buf);
	free(q->rbuf);
	free(q);
	d->qcow2 = NULL;
}

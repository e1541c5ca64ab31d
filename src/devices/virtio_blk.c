/* virtio-blk (virtio 1.2, 5.2): one request queue served synchronously on the notifying vCPU, on a struct disk. */
#include <errno.h>
#include <string.h>

#include "common/le.h"
#include "devices/virtio_blk.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define BLK_REQUESTQ   0
#define SECTOR_SHIFT   9
#define SECTOR_SIZE    (1u << SECTOR_SHIFT)
#define REQ_HDR_SIZE   16		/* le32 type, le32 reserved, le64 sector */
#define DWZ_SEG_SIZE   16		/* struct virtio_blk_discard_write_zeroes */
#define DWZ_FLAG_UNMAP 1u

/*
 * Limits the driver splits discard and write-zeroes requests by. One
 * segment each (the Linux driver then sends one range per request, as
 * with QEMU); 1 GiB per request keeps one request's fallocate() short;
 * 4 KiB alignment matches the host filesystem's blocks, so a punched
 * range frees whole blocks.
 */
#define BLK_MAX_DWZ_SECTORS     (1u << (30 - SECTOR_SHIFT))
#define BLK_DISCARD_ALIGNMENT   (4096u >> SECTOR_SHIFT)

/* Offsets in struct virtio_blk_config (5.2.4). */
#define CFG_CAPACITY                 0
#define CFG_SEG_MAX                  12
#define CFG_BLK_SIZE                 20
#define CFG_WRITEBACK                32
#define CFG_NUM_QUEUES               34
#define CFG_MAX_DISCARD_SECTORS      36
#define CFG_MAX_DISCARD_SEG          40
#define CFG_DISCARD_SECTOR_ALIGNMENT 44
#define CFG_MAX_WRITE_ZEROES_SECTORS 48
#define CFG_MAX_WRITE_ZEROES_SEG     52
#define CFG_WRITE_ZEROES_MAY_UNMAP   56
#define CFG_SIZE                     96	/* through the zoned characteristics, all zero here */

static bool negotiated(const struct virtio_blk *b, unsigned bit)
{
	return b->vd.driver_features & VIRTIO_BIT(bit);
}

/*
 * Write-back unless the driver took neither FLUSH nor CONFIG_WCE: then
 * every write must be stable when it completes (5.2.6.2, "a write becomes
 * stable ... 1. neither ... negotiated, but VIRTIO_BLK_F_FLUSH was
 * offered"), so such a driver gets write-through.
 */
static bool blk_writeback(const struct virtio_blk *b)
{
	return !(b->vd.status & VIRTIO_STATUS_FEATURES_OK) || negotiated(b, VIRTIO_BLK_F_FLUSH);
}

static void blk_log(struct virtio_blk *b, const char *what, int err)
{
	if (b->vd.log)
		b->vd.log(b->vd.log_opaque, "%s: %s on '%s' failed: %s", b->vd.name, what,
			  b->disk->path, strerror(-err));
}

/* ---- requests ---- */

/*
 * Drop `skip` bytes from the front of a segment list in place (the
 * element is this request's scratch copy). Returns the first segment
 * that still holds data; *n becomes the count from there.
 */
static struct iovec *iov_drop_front(struct iovec *iov, unsigned *n, uint64_t skip)
{
	unsigned i = 0;

	while (i < *n && skip >= iov[i].iov_len) {
		skip -= iov[i].iov_len;
		i++;
	}
	if (i < *n && skip) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
		iov[i].iov_len -= (size_t)skip;
	}
	*n -= i;
	return iov + i;
}

/* Drop the last byte of a segment list in place (the status byte), returning its address. */
static uint8_t *iov_take_last_byte(struct iovec *iov, unsigned *n)
{
	while (*n && !iov[*n - 1].iov_len)
		(*n)--;
	if (!*n)
		return NULL;
	struct iovec *last = &iov[*n - 1];
	uint8_t *p = (uint8_t *)last->iov_base + last->iov_len - 1;

	if (!--last->iov_len)
		(*n)--;
	return p;
}

/* Whether [sector, sector + bytes / 512) lies within the disk, without overflow. */
static bool blk_in_range(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t capacity = b->disk->size >> SECTOR_SHIFT;

	return sector <= capacity && (bytes >> SECTOR_SHIFT) <= capacity - sector;
}

/* The data of an IN or OUT request, already split from header and status. */
static uint8_t blk_rw(struct virtio_blk *b, bool write, uint64_t sector, struct iovec *iov, unsigned n,
		      uint64_t len)
{
	int r;

	if (len % SECTOR_SIZE || !blk_in_range(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (write) {
		r = disk_writev(b->disk, iov, n, sector << SECTOR_SHIFT);
		if (r == 0 && !blk_writeback(b))
			r = disk_flush(b->disk);
	} else {
		r = disk_readv(b->disk, iov, n, sector << SECTOR_SHIFT);
	}
	if (r < 0) {
		blk_log(b, write ? "write" : "read", r);
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: one struct virtio_blk_discard_write_zeroes in the readable data. */
static uint8_t blk_discard_write_zeroes(struct virtio_blk *b, bool zeroes, const struct iovec *iov,
					unsigned n, uint64_t len)
{
	uint8_t seg[DWZ_SEG_SIZE];
	uint64_t sector;
	uint32_t nsect, flags;
	int r;

	/* The driver asked for an operation it did not negotiate (or we did not offer). */
	if (!negotiated(b, zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
		return VIRTIO_BLK_S_UNSUPP;
	/* 5.2.6.1: whole segments, at most max_*_seg (1) of them; anything else is a driver error. */
	if (len != DWZ_SEG_SIZE)
		return VIRTIO_BLK_S_IOERR;
	iov_to_buf(iov, n, 0, seg, sizeof(seg));
	sector = get64(seg);
	nsect = get32(seg + 8);
	flags = get32(seg + 12);
	/* 5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP. */
	if (flags & ~DWZ_FLAG_UNMAP || (!zeroes && (flags & DWZ_FLAG_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (nsect > BLK_MAX_DWZ_SECTORS || !blk_in_range(b, sector, (uint64_t)nsect << SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	if (zeroes) {
		r = disk_write_zeroes(b->disk, sector << SECTOR_SHIFT, (uint64_t)nsect << SECTOR_SHIFT,
				      flags & DWZ_FLAG_UNMAP);
	} else {
		r = disk_discard(b->disk, sector << SECTOR_SHIFT, (uint64_t)nsect << SECTOR_SHIFT);
		/* 5.2.6.2: the device MAY deallocate; a file that cannot has still done its part. */
		if (r == -EOPNOTSUPP)
			r = 0;
	}
	if (r == 0 && !blk_writeback(b))
		r = disk_flush(b->disk);
	if (r < 0) {
		blk_log(b, zeroes ? "write-zeroes" : "discard", r);
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Serve one chain. Returns the used length (bytes written into the
 * writable part: the data of a read, the id, the status byte), or -1
 * when the chain is malformed and the device went to needs-reset.
 *
 * Framing (5.2.6, 2.7.4): the 16-byte header is the first readable bytes,
 * the status the last writable byte, and data lies between them in the
 * direction its type implies; any of them may share a segment with data
 * or be split over several (2.7.4: the device makes no assumption about
 * the arrangement). A chain that breaks this - no room for the header,
 * no writable byte, data in the wrong direction - is a driver bug. Where
 * a status byte exists, 5.2.6 would allow IOERR ("device or driver
 * error"), but issue 4 asks for the needs-reset state on wrong
 * directions, and one rule for all of them is simpler: the device stops
 * taking requests and says so (2.1.2), and the chain is not completed -
 * without a header or a writable byte there is no status to write, and
 * the reset the driver must now do discards the queue anyway.
 */
static int64_t blk_request(struct virtio_blk *b, struct virtq_elem *e)
{
	struct virtio_dev *vd = &b->vd;
	uint8_t hdr[REQ_HDR_SIZE], *status, st;
	uint64_t sector, out_data, in_data;
	unsigned nout = e->nr_out, nin = e->nr_in;
	struct iovec *out, *in;
	uint32_t type, written = 0;

	if (e->out_len < REQ_HDR_SIZE || e->in_len < 1) {
		virtio_needs_reset(vd, "request %u has %llu readable and %llu writable bytes "
				   "(needs a %u-byte header and a status byte)", e->head,
				   (unsigned long long)e->out_len, (unsigned long long)e->in_len,
				   REQ_HDR_SIZE);
		return -1;
	}
	iov_to_buf(e->out, e->nr_out, 0, hdr, sizeof(hdr));
	type = get32(hdr);
	sector = get64(hdr + 8);
	out = iov_drop_front(e->out, &nout, REQ_HDR_SIZE);
	status = iov_take_last_byte(e->in, &nin);
	in = e->in;
	out_data = e->out_len - REQ_HDR_SIZE;
	in_data = e->in_len - 1;

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (out_data)
			goto wrong_direction;
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (in_data)
			goto wrong_direction;
		break;
	default:
		/* FLUSH "SHOULD NOT" carry data (5.2.6.1), unknown types may: either way it is ignored. */
		break;
	}

	switch (type) {
	case VIRTIO_BLK_T_IN:
		st = blk_rw(b, false, sector, in, nin, in_data);
		/* The used length is 32 bits; a read that long (only possible with > 4 GiB of RAM) is capped. */
		if (st == VIRTIO_BLK_S_OK)
			written = in_data < UINT32_MAX ? (uint32_t)in_data : UINT32_MAX - 1;
		break;
	case VIRTIO_BLK_T_OUT:
		/* 5.2.6.2: IOERR for a write when RO is offered, and no data written. */
		st = b->disk->readonly ? VIRTIO_BLK_S_IOERR : blk_rw(b, true, sector, out, nout, out_data);
		break;
	case VIRTIO_BLK_T_FLUSH: {
		/* Completes only once the data is on stable storage (5.2.6.2, case 3). */
		int r = disk_flush(b->disk);

		if (r < 0)
			blk_log(b, "flush", r);
		st = r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_GET_ID: {
		/* 20 bytes, NUL-padded (5.2.6); a shorter buffer (a driver error) gets what fits. */
		size_t n = in_data < VIRTIO_BLK_ID_BYTES ? (size_t)in_data : VIRTIO_BLK_ID_BYTES;

		written = (uint32_t)iov_from_buf(in, nin, 0, b->serial, n);
		st = n ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		/* Writes too: refused on a read-only disk as OUT is, before anything else is looked at. */
		st = b->disk->readonly ? VIRTIO_BLK_S_IOERR
				       : blk_discard_write_zeroes(b, type == VIRTIO_BLK_T_WRITE_ZEROES,
								  out, nout, out_data);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	*status = st;
	return (int64_t)written + 1;

wrong_direction:
	virtio_needs_reset(vd, "request %u of type %u has %llu %s data bytes", e->head,
			   type, (unsigned long long)(out_data ? out_data : in_data),
			   out_data ? "device-readable" : "device-writable");
	return -1;
}

/* Every available chain, in order, on the notifying vCPU; one interrupt for the batch. */
static void blk_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct virtio_blk *b = vd->opaque;
	bool pushed = false;

	if (q != BLK_REQUESTQ)
		return;
	/*
	 * Until the ring is empty: with EVENT_IDX the driver will not notify
	 * again for chains already posted, so stopping early would strand them.
	 */
	while (virtio_pop(vd, BLK_REQUESTQ, &b->elem) > 0) {
		int64_t used = blk_request(b, &b->elem);

		if (used < 0)
			break;
		/* a read may bring code the guest runs next (a program from disk) */
		virtq_note_written(&vd->vq[BLK_REQUESTQ], &b->elem, (size_t)used);
		virtq_push(&vd->vq[BLK_REQUESTQ], b->elem.head, (uint32_t)used);
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vd, BLK_REQUESTQ);
}

static void blk_reset(struct virtio_dev *vd)
{
	/* Nothing in flight: every request completes within the notification that took it. */
}

/* ---- configuration space (5.2.4) ---- */

static void blk_config_image(const struct virtio_blk *b, uint8_t cfg[CFG_SIZE])
{
	memset(cfg, 0, CFG_SIZE);
	put64(cfg + CFG_CAPACITY, b->disk->size >> SECTOR_SHIFT);
	/* The chain also carries the header and the status (5.2.4: seg_max counts data segments). */
	put32(cfg + CFG_SEG_MAX, VIRTQ_MAX_SEGS - 2);
	put32(cfg + CFG_BLK_SIZE, SECTOR_SIZE);
	cfg[CFG_WRITEBACK] = blk_writeback(b);
	put16(cfg + CFG_NUM_QUEUES, 1);
	if (b->vd.host_features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
		put32(cfg + CFG_MAX_DISCARD_SECTORS, BLK_MAX_DWZ_SECTORS);
		put32(cfg + CFG_MAX_DISCARD_SEG, 1);
		put32(cfg + CFG_DISCARD_SECTOR_ALIGNMENT, BLK_DISCARD_ALIGNMENT);
	}
	if (b->vd.host_features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		put32(cfg + CFG_MAX_WRITE_ZEROES_SECTORS, BLK_MAX_DWZ_SECTORS);
		put32(cfg + CFG_MAX_WRITE_ZEROES_SEG, 1);
		/* 5.2.6.2: set iff a write-zeroes request can deallocate. */
		cfg[CFG_WRITE_ZEROES_MAY_UNMAP] = b->disk->can_discard;
	}
}

static void blk_config_read(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t *data)
{
	const struct virtio_blk *b = vd->opaque;
	uint8_t cfg[CFG_SIZE];

	blk_config_image(b, cfg);
	*data = virtio_config_bytes(cfg, CFG_SIZE, offset, size);
}

static void blk_config_write(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t data)
{
	/* Every field is read-only without CONFIG_WCE, which this device does not offer. */
}

static const struct virtio_dev_ops blk_ops = {
	.reset = blk_reset,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.queue_notify = blk_queue_notify,
};

void virtio_blk_init(struct virtio_blk *b, const char *name, struct disk *disk, const char *serial,
		     const struct dma_space *dma)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
			    VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

	memset(b, 0, sizeof(*b));
	b->disk = disk;
	if (serial)
		memcpy(b->serial, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));
	if (disk->readonly)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else {
		if (disk->can_discard)
			features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD);
		if (disk->can_write_zeroes)
			features |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	}
	virtio_dev_init(&b->vd, name, VIRTIO_ID_BLOCK, features, 1, &blk_ops, b, dma);
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	virtio_dev_destroy(&b->vd);
}

/* A small AML encoder (ACPI 6.4, ch. 20 "ACPI Machine Language Specification") for the DSDT ringvm builds. */
#ifndef RV_BOOT_AML_H
#define RV_BOOT_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

/*
 * Bytes go into a caller-supplied buffer; nothing is allocated. Opening a
 * package (Scope, Device, Package, Buffer) remembers where its PkgLength
 * goes; closing it inserts the PkgLength, whose size (1-4 bytes) is known
 * only then. Any overflow sets `err` (-ENOSPC) and later calls do nothing.
 */
struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;
	unsigned depth;
	size_t open[AML_MAX_DEPTH];
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* NameString (20.2.2): "\\_SB_.PCI0", "_HID", "C001"; segments shorter than 4 are padded with '_'. */
void aml_namestring(struct aml *a, const char *path);
/* The shortest integer encoding: ZeroOp, OneOp, OnesOp, Byte/Word/DWord/QWordPrefix. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0A03"): the compressed 32-bit EISA ID, as a DWordConst. */
void aml_eisaid(struct aml *a, const char *id);

/* DefName: Name(path, ...) - the value follows. */
void aml_name(struct aml *a, const char *path);
void aml_scope_open(struct aml *a, const char *path);
void aml_device_open(struct aml *a, const char *path);
void aml_package_open(struct aml *a, uint8_t count);
/* Buffer(){bytes}: a whole buffer, e.g. a resource template. */
void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n);
/* Close the innermost Scope/Device/Package. */
void aml_close(struct aml *a);

/* The compressed EISA ID as a little-endian 32-bit value (PNP0A03 -> 0x030ad041). */
uint32_t aml_eisaid_value(const char *id);

#endif

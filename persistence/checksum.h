/* persistence/checksum.h — CRC-32C (Castagnoli, polynomial 0x1EDC6F41,
 * reflected 0x82F63B78), the checksum every stored event and snapshot
 * carries. Castagnoli rather than zlib's CRC-32: it detects more error
 * patterns at the lengths we store (and is what iSCSI, ext4 and SCTP use).
 *
 * Thread safety: both functions may be called from any thread (the tables
 * are built once, under pthread_once).
 */
#ifndef TROUPE_PERSISTENCE_CHECKSUM_H
#define TROUPE_PERSISTENCE_CHECKSUM_H

#include "base/namespace.h"

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC-32C over len more bytes: crc32c(0, "123456789", 9) is
 * 0xE3069283, and crc32c(crc32c(0, a, n), b, m) is the CRC of a then b.
 * data may be NULL when len is 0. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The checksum of one stored row: over the id (its length, then its
 * bytes), the seq and schema (little-endian), then the data — so that a
 * row whose bytes, seq, schema or owner changed fails its check. */
uint32_t backend_crc(const char *pid, uint64_t seq, uint32_t schema, const void *data,
                     size_t len);

#endif

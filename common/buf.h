/*
 * buf.h — the one checked cursor over untrusted bytes.
 *
 * Every byte that comes from a packet, a reassembled stream or a key log is
 * read through a `struct buf`.  The cursor never reads past `len`: a read
 * that does not fit sets the sticky `err` flag, returns 0 (or NULL) and
 * leaves the offset where it was, so a parser can run a sequence of reads
 * and check `buf_ok()` once at the end, the way tcpdump's GET_U_1/ND_TCHECK
 * and Arkime's bsb.h work.
 *
 * Invariants:
 *   - off <= len at all times;
 *   - once err is set, every later read fails and returns 0/NULL;
 *   - a cursor borrows its bytes: it never owns or frees them, and nothing
 *     derived from it may outlive the bytes it was built on.
 *
 * Length arithmetic is done on remaining counts (len - off), never as
 * `p + n` past the end.
 */
#ifndef MDM_BUF_H
#define MDM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	const uint8_t *data;
	size_t len;
	size_t off;
	bool err;
};

/* What a cursor over NULL points at, so that no arithmetic is done on NULL. */
static const uint8_t buf_empty_bytes[1];

static inline struct buf buf_init(const void *data, size_t len)
{
	struct buf b = {.data = data ? data : buf_empty_bytes, .len = data ? len : 0};
	return b;
}

static inline bool buf_ok(const struct buf *b)
{
	return !b->err;
}

static inline size_t buf_left(const struct buf *b)
{
	return b->err ? 0 : b->len - b->off;
}

static inline size_t buf_offset(const struct buf *b)
{
	return b->off;
}

/* True (and no error set) when at least n bytes remain. */
static inline bool buf_has(const struct buf *b, size_t n)
{
	return !b->err && b->len - b->off >= n;
}

/* Marks the cursor failed; later reads return 0/NULL. */
static inline void buf_fail(struct buf *b)
{
	b->err = true;
}

static inline bool buf_need(struct buf *b, size_t n)
{
	if (b->err || b->len - b->off < n) {
		b->err = true;
		return false;
	}
	return true;
}

static inline uint8_t buf_u8(struct buf *b)
{
	if (!buf_need(b, 1))
		return 0;
	return b->data[b->off++];
}

static inline uint16_t buf_be16(struct buf *b)
{
	if (!buf_need(b, 2))
		return 0;
	uint16_t v = (uint16_t)((uint16_t)b->data[b->off] << 8 | b->data[b->off + 1]);
	b->off += 2;
	return v;
}

static inline uint32_t buf_be24(struct buf *b)
{
	if (!buf_need(b, 3))
		return 0;
	uint32_t v = (uint32_t)b->data[b->off] << 16 | (uint32_t)b->data[b->off + 1] << 8 |
	             b->data[b->off + 2];
	b->off += 3;
	return v;
}

static inline uint32_t buf_be32(struct buf *b)
{
	if (!buf_need(b, 4))
		return 0;
	uint32_t v = (uint32_t)b->data[b->off] << 24 | (uint32_t)b->data[b->off + 1] << 16 |
	             (uint32_t)b->data[b->off + 2] << 8 | b->data[b->off + 3];
	b->off += 4;
	return v;
}

static inline uint64_t buf_be64(struct buf *b)
{
	if (!buf_need(b, 8))
		return 0;
	uint64_t hi = buf_be32(b);
	uint64_t lo = buf_be32(b);
	return b->err ? 0 : hi << 32 | lo;
}

static inline uint16_t buf_le16(struct buf *b)
{
	if (!buf_need(b, 2))
		return 0;
	uint16_t v = (uint16_t)(b->data[b->off] | (uint16_t)b->data[b->off + 1] << 8);
	b->off += 2;
	return v;
}

static inline uint32_t buf_le32(struct buf *b)
{
	if (!buf_need(b, 4))
		return 0;
	uint32_t v = b->data[b->off] | (uint32_t)b->data[b->off + 1] << 8 |
	             (uint32_t)b->data[b->off + 2] << 16 | (uint32_t)b->data[b->off + 3] << 24;
	b->off += 4;
	return v;
}

static inline uint64_t buf_le64(struct buf *b)
{
	if (!buf_need(b, 8))
		return 0;
	uint64_t lo = buf_le32(b);
	uint64_t hi = buf_le32(b);
	return b->err ? 0 : hi << 32 | lo;
}

/* Byte at offset `at` from the cursor, without consuming; 0 and err if absent. */
static inline uint8_t buf_peek_u8(struct buf *b, size_t at)
{
	if (b->err || b->len - b->off <= at) {
		b->err = true;
		return 0;
	}
	return b->data[b->off + at];
}

static inline bool buf_skip(struct buf *b, size_t n)
{
	if (!buf_need(b, n))
		return false;
	b->off += n;
	return true;
}

/*
 * Borrows the next n bytes and consumes them.  The pointer is valid as long
 * as the underlying bytes are; NULL (and err) when fewer than n remain.
 */
static inline const uint8_t *buf_take(struct buf *b, size_t n)
{
	if (!buf_need(b, n))
		return NULL;
	const uint8_t *p = b->data + b->off;
	b->off += n;
	return p;
}

/* Copies the next n bytes into dst (which holds at least n bytes). */
static inline bool buf_copy(struct buf *b, void *dst, size_t n)
{
	const uint8_t *p = buf_take(b, n);
	if (!p)
		return false;
	if (n)
		memcpy(dst, p, n);
	return true;
}

/* The unread bytes, without consuming them (NULL when none or failed). */
static inline const uint8_t *buf_rest(const struct buf *b)
{
	return b->err || b->off >= b->len ? NULL : b->data + b->off;
}

/*
 * Carves a sub-cursor over the next n bytes and consumes them from the
 * parent.  On shortage the parent fails and the returned cursor is failed.
 */
static inline struct buf buf_sub(struct buf *b, size_t n)
{
	const uint8_t *p = buf_take(b, n);
	struct buf s = buf_init(p, p ? n : 0);
	if (!p)
		s.err = true;
	return s;
}

/*
 * TCP sequence comparisons (RFC 9293 §3.4), valid across wraparound while
 * the two numbers are less than 2^31 apart.  The only way sequence numbers
 * are compared anywhere in mdmwatch.
 */
#define SEQ_LT(a, b)   ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)   ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_DIFF(a, b) ((uint32_t)((uint32_t)(a) - (uint32_t)(b)))

#endif /* MDM_BUF_H */

/*
 * bigpng.h: write a valid PNG of any size, all black, 1 bit per pixel,
 * small on disk (a fixed-Huffman deflate stream of run-length matches),
 * for tests of images too large to decode.  Used by t/unit/cvimage.c
 * and t/helper/test-bigpng.c.
 */
#ifndef PM_BIGPNG_H
#define PM_BIGPNG_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bigpng {
	unsigned char	*p;
	size_t		 n, cap;
	uint32_t	 bits;
	int		 nbits;
};

static void
bigpng_byte(struct bigpng *b, unsigned c)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 4096;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	b->p[b->n++] = (unsigned char)c;
}

static void
bigpng_be32(struct bigpng *b, uint32_t v)
{
	bigpng_byte(b, v >> 24);
	bigpng_byte(b, v >> 16 & 0xff);
	bigpng_byte(b, v >> 8 & 0xff);
	bigpng_byte(b, v & 0xff);
}

/* Deflate bits, least significant first; a Huffman code of len bits
 * goes most significant bit first. */
static void
bigpng_bits(struct bigpng *b, uint32_t v, int len)
{
	b->bits |= v << b->nbits;
	b->nbits += len;
	while (b->nbits >= 8) {
		bigpng_byte(b, b->bits & 0xff);
		b->bits >>= 8;
		b->nbits -= 8;
	}
}

static void
bigpng_code(struct bigpng *b, uint32_t code, int len)
{
	uint32_t r = 0;
	int i;

	for (i = 0; i < len; i++)
		r |= (code >> i & 1) << (len - 1 - i);
	bigpng_bits(b, r, len);
}

static uint32_t
bigpng_crc(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffff;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffff;
}

/* Close the chunk whose length field is at start. */
static void
bigpng_endchunk(struct bigpng *b, size_t start)
{
	uint32_t len = (uint32_t)(b->n - start - 8);

	b->p[start] = len >> 24;
	b->p[start + 1] = len >> 16 & 0xff;
	b->p[start + 2] = len >> 8 & 0xff;
	b->p[start + 3] = len & 0xff;
	bigpng_be32(b, bigpng_crc(b->p + start + 4, b->n - start - 4));
}

/* A w x h PNG in *n bytes (malloc'd). */
static unsigned char *
bigpng(uint32_t w, uint32_t h, size_t *n)
{
	struct bigpng b = { 0 };
	uint64_t raw = (uint64_t)h * (1 + (w + 7) / 8), left;
	uint32_t s1 = 1, s2;
	size_t start;

	memcpy(b.p = malloc(b.cap = 4096), "\x89PNG\r\n\x1a\n", 8);
	b.n = 8;
	start = b.n;
	bigpng_be32(&b, 0);
	memcpy(b.p + b.n, "IHDR", 4), b.n += 4;
	bigpng_be32(&b, w);
	bigpng_be32(&b, h);
	bigpng_byte(&b, 1);	/* bit depth */
	bigpng_byte(&b, 0);	/* grey */
	bigpng_byte(&b, 0);
	bigpng_byte(&b, 0);
	bigpng_byte(&b, 0);
	bigpng_endchunk(&b, start);

	start = b.n;
	bigpng_be32(&b, 0);
	bigpng_byte(&b, 'I');
	bigpng_byte(&b, 'D');
	bigpng_byte(&b, 'A');
	bigpng_byte(&b, 'T');
	bigpng_byte(&b, 0x78);	/* zlib, 32K window */
	bigpng_byte(&b, 0x01);
	bigpng_bits(&b, 1, 1);	/* last block */
	bigpng_bits(&b, 1, 2);	/* fixed Huffman */
	bigpng_code(&b, 0x30, 8);	/* literal 0 */
	left = raw - 1;
	while (left >= 258 + 3) {
		bigpng_code(&b, 0xc5, 8);	/* length 258 */
		bigpng_code(&b, 0, 5);		/* distance 1 */
		left -= 258;
	}
	while (left-- > 0)
		bigpng_code(&b, 0x30, 8);
	bigpng_code(&b, 0, 7);		/* end of block */
	if (b.nbits > 0)
		bigpng_bits(&b, 0, 8 - b.nbits);
	/* Adler-32 of zero bytes: s1 stays 1, s2 counts them */
	s2 = (uint32_t)(raw % 65521);
	bigpng_be32(&b, s2 << 16 | s1);
	bigpng_endchunk(&b, start);

	start = b.n;
	bigpng_be32(&b, 0);
	bigpng_byte(&b, 'I');
	bigpng_byte(&b, 'E');
	bigpng_byte(&b, 'N');
	bigpng_byte(&b, 'D');
	bigpng_endchunk(&b, start);
	*n = b.n;
	return b.p;
}

#endif

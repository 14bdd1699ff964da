/*
 * imghdr.c: identify an image and read its size from its header, with a
 * bounds check on every byte read.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "imghdr.h"

/* The bytes under examination; every read goes through these. */
struct buf {
	const unsigned char	*p;
	size_t			 n;
};

static int
has(const struct buf *b, size_t off, size_t len)
{
	return off <= b->n && len <= b->n - off;
}

static int
match_n(const struct buf *b, size_t off, const char *s, size_t len)
{
	return has(b, off, len) && memcmp(b->p + off, s, len) == 0;
}

/* Do the bytes at off equal the string literal s (which may hold NULs)? */
#define match(b, off, s)	match_n(b, off, s, sizeof(s) - 1)

static unsigned
be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[1] << 8 | p[0];
}

static uint32_t
le24(const unsigned char *p)
{
	return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | le24(p);
}

/* Is there an EOI marker after offset off?  In entropy-coded data 0xff
 * is always followed by 0x00 or a restart marker, so ff d9 is EOI. */
static int
jpeg_has_eoi(const struct buf *b, size_t off)
{
	const unsigned char *q, *end = b->p + b->n;

	q = b->p + off;
	while (q < end && (q = memchr(q, 0xff, (size_t)(end - q))) != NULL) {
		if (q + 1 < end && q[1] == 0xd9)
			return 1;
		q++;
	}
	return 0;
}

static int
jpeg(const struct buf *b, struct imghdr *h)
{
	size_t pos = 2, len;
	int m, sof = 0;

	for (;;) {
		if (!has(b, pos, 1))
			return pm_fail("truncated JPEG header");
		if (b->p[pos] != 0xff)
			return pm_fail("damaged JPEG header: no marker at "
			    "byte %zu", pos);
		while (has(b, pos, 1) && b->p[pos] == 0xff)
			pos++;
		if (!has(b, pos, 1))
			return pm_fail("truncated JPEG header");
		m = b->p[pos++];
		if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7))
			continue;	/* markers without a length */
		if (m == 0xd9)
			return pm_fail("damaged JPEG: end of image before "
			    "any scan");
		if (!has(b, pos, 2))
			return pm_fail("truncated JPEG header");
		len = be16(b->p + pos);
		if (len < 2)
			return pm_fail("damaged JPEG header: segment length "
			    "%zu", len);
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 &&
		    m != 0xcc) {
			if (sof)
				return pm_fail("damaged JPEG header: two "
				    "frame headers");
			/* libjpeg decodes baseline, extended, progressive
			 * and arithmetic-coded 8-bit frames */
			if (m != 0xc0 && m != 0xc1 && m != 0xc2 &&
			    m != 0xc9 && m != 0xca)
				return pm_fail("unsupported JPEG process "
				    "(SOF%d)", m - 0xc0);
			if (len < 8 || !has(b, pos, 8))
				return pm_fail("truncated JPEG frame header");
			if (b->p[pos + 2] != 8)
				return pm_fail("unsupported JPEG precision: "
				    "%d bits", b->p[pos + 2]);
			h->h = (int)be16(b->p + pos + 3);
			h->w = (int)be16(b->p + pos + 5);
			sof = 1;
		}
		if (m == 0xda) {
			if (!sof)
				return pm_fail("damaged JPEG: scan before "
				    "the frame header");
			if (!has(b, pos, len) || !jpeg_has_eoi(b, pos + len))
				return pm_fail("truncated JPEG: no "
				    "end-of-image marker");
			h->format = "jpeg";
			return 0;
		}
		pos += len;
	}
}

/* CRC-32 of PNG chunks (ISO 3309, as zlib's), a byte at a time. */
static uint32_t
crc32(const unsigned char *p, size_t n)
{
	static const uint32_t t[256] = {
		0x00000000, 0x77073096, 0xee0e612c, 0x990951ba,
		0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
		0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
		0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
		0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de,
		0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
		0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
		0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
		0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
		0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
		0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940,
		0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
		0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116,
		0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
		0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
		0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
		0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a,
		0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
		0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818,
		0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
		0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
		0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
		0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c,
		0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
		0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2,
		0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
		0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
		0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
		0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086,
		0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
		0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4,
		0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
		0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
		0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
		0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
		0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
		0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe,
		0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
		0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
		0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
		0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252,
		0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
		0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60,
		0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
		0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
		0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
		0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04,
		0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
		0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
		0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
		0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
		0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
		0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e,
		0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
		0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c,
		0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
		0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
		0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
		0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0,
		0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
		0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6,
		0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
		0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
		0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d
	};
	uint32_t c = 0xffffffff;
	size_t i;

	for (i = 0; i < n; i++)
		c = t[(c ^ p[i]) & 0xff] ^ c >> 8;
	return c ^ 0xffffffff;
}

/*
 * Walk every chunk to IEND, checking lengths and CRCs: libpng would
 * report a damaged or truncated file on stderr, so it is caught here.
 */
static int
png(const struct buf *b, struct imghdr *h)
{
	size_t pos = 8;
	uint32_t w, ht, len;
	char type[5];

	if (!has(b, 8, 16) || be32(b->p + 8) != 13 || !match(b, 12, "IHDR"))
		return pm_fail("damaged PNG header: no IHDR chunk");
	w = be32(b->p + 16);
	ht = be32(b->p + 20);
	/* PNG sizes are at most 2^31-1; larger is damage */
	if (w > INT_MAX || ht > INT_MAX)
		return pm_fail("damaged PNG header: size %lux%lu",
		    (unsigned long)w, (unsigned long)ht);
	for (;;) {
		if (!has(b, pos, 8))
			return pm_fail("truncated PNG: no IEND chunk");
		len = be32(b->p + pos);
		memcpy(type, b->p + pos + 4, 4);
		type[4] = '\0';
		if (len > INT_MAX)
			return pm_fail("damaged PNG: chunk length %lu",
			    (unsigned long)len);
		if (!has(b, pos + 8, (size_t)len + 4))
			return pm_fail("truncated PNG: %s chunk cut short",
			    type);
		if (crc32(b->p + pos + 4, (size_t)len + 4) !=
		    be32(b->p + pos + 8 + len))
			return pm_fail("damaged PNG: bad CRC in the %s chunk "
			    "at byte %zu", type, pos);
		if (memcmp(type, "IEND", 4) == 0)
			break;
		pos += (size_t)len + 12;
	}
	h->format = "png";
	h->w = (int)w;
	h->h = (int)ht;
	return 0;
}

static int
webp(const struct buf *b, struct imghdr *h)
{
	const unsigned char *p = b->p;

	h->format = "webp";
	if (match(b, 12, "VP8 ")) {
		if (!has(b, 20, 10) || p[23] != 0x9d || p[24] != 0x01 ||
		    p[25] != 0x2a)
			return pm_fail("damaged WebP (VP8) header");
		h->w = (int)(le16(p + 26) & 0x3fff);
		h->h = (int)(le16(p + 28) & 0x3fff);
		return 0;
	}
	if (match(b, 12, "VP8L")) {
		uint32_t bits;

		if (!has(b, 20, 5) || p[20] != 0x2f)
			return pm_fail("damaged WebP (VP8L) header");
		bits = le32(p + 21);
		h->w = (int)(bits & 0x3fff) + 1;
		h->h = (int)(bits >> 14 & 0x3fff) + 1;
		return 0;
	}
	if (match(b, 12, "VP8X")) {
		if (!has(b, 20, 10))
			return pm_fail("damaged WebP (VP8X) header");
		if (p[20] & 0x02)
			return pm_fail("animated WebP is not supported");
		h->w = (int)le24(p + 24) + 1;
		h->h = (int)le24(p + 27) + 1;
		return 0;
	}
	return pm_fail("damaged WebP header: unknown first chunk");
}

static int
bmp(const struct buf *b, struct imghdr *h)
{
	const unsigned char *p = b->p;
	uint32_t dib;
	int32_t w, ht;

	if (!has(b, 14, 12))
		return pm_fail("truncated BMP header");
	dib = le32(p + 14);
	if (dib == 12) {
		w = (int32_t)le16(p + 18);
		ht = (int32_t)le16(p + 20);
	} else if (dib >= 16 && dib <= 124) {
		w = (int32_t)le32(p + 18);
		ht = (int32_t)le32(p + 22);
	} else
		return pm_fail("damaged BMP header: info header of %lu bytes",
		    (unsigned long)dib);
	if (ht < 0)		/* top-down bitmap */
		ht = ht == INT32_MIN ? 0 : -ht;
	h->format = "bmp";
	h->w = w < 0 ? 0 : (int)w;
	h->h = (int)ht;
	return 0;
}

static int
tiff(const struct buf *b, struct imghdr *h)
{
	int big = b->p[0] == 'M';
	uint32_t ifd, count, val, w = 0, ht = 0;
	unsigned i, n, tag, type;
	const unsigned char *e;

	if (!has(b, 4, 4))
		return pm_fail("truncated TIFF header");
	ifd = big ? be32(b->p + 4) : le32(b->p + 4);
	if (!has(b, ifd, 2))
		return pm_fail("damaged TIFF header: directory at %lu is "
		    "past the end", (unsigned long)ifd);
	n = big ? be16(b->p + ifd) : le16(b->p + ifd);
	for (i = 0; i < n; i++) {
		if (!has(b, ifd + 2 + 12 * (size_t)i, 12))
			return pm_fail("truncated TIFF directory");
		e = b->p + ifd + 2 + 12 * (size_t)i;
		tag = big ? be16(e) : le16(e);
		type = big ? be16(e + 2) : le16(e + 2);
		count = big ? be32(e + 4) : le32(e + 4);
		if ((tag != 256 && tag != 257) || count != 1)
			continue;
		if (type == 3)		/* SHORT, left-justified */
			val = big ? be16(e + 8) : le16(e + 8);
		else if (type == 4)	/* LONG */
			val = big ? be32(e + 8) : le32(e + 8);
		else
			return pm_fail("damaged TIFF header: size of type %u",
			    type);
		if (tag == 256)
			w = val;
		else
			ht = val;
	}
	if (w == 0 || ht == 0)
		return pm_fail("damaged TIFF header: no image size");
	h->format = "tiff";
	h->w = w > INT_MAX ? INT_MAX : (int)w;
	h->h = ht > INT_MAX ? INT_MAX : (int)ht;
	return 0;
}

/* The next decimal number in a PNM header, after white space and
 * comments. */
static int
pnm_num(const struct buf *b, size_t *pos, int *v)
{
	long x = 0;
	int c, digits = 0;

	for (;;) {
		if (!has(b, *pos, 1))
			return -1;
		c = b->p[*pos];
		if (c == '#') {
			while (has(b, *pos, 1) && b->p[*pos] != '\n' &&
			    b->p[*pos] != '\r')
				(*pos)++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\v' || c == '\f')
			(*pos)++;
		else
			break;
	}
	while (has(b, *pos, 1) && b->p[*pos] >= '0' && b->p[*pos] <= '9') {
		x = x * 10 + (b->p[*pos] - '0');
		if (x > INT_MAX)
			return -1;
		(*pos)++;
		digits++;
	}
	if (digits == 0)
		return -1;
	*v = (int)x;
	return 0;
}

static int
pnm(const struct buf *b, struct imghdr *h)
{
	size_t pos = 2;

	if (pnm_num(b, &pos, &h->w) == -1 || pnm_num(b, &pos, &h->h) == -1)
		return pm_fail("damaged PNM header");
	h->format = "pnm";
	return 0;
}

/* Say what the bytes look like, for a format pm does not decode. */
static int
refuse(const struct buf *b)
{
	size_t i, text = 0, len = b->n < 512 ? b->n : 512;
	const unsigned char *p = b->p;

	if (match(b, 0, "GIF87a") || match(b, 0, "GIF89a"))
		return pm_fail("GIF images are not supported");
	if (match(b, 4, "ftyp")) {
		if (match(b, 8, "heic") || match(b, 8, "heix") ||
		    match(b, 8, "mif1") || match(b, 8, "msf1"))
			return pm_fail("HEIF images are not supported");
		if (match(b, 8, "avif") || match(b, 8, "avis"))
			return pm_fail("AVIF images are not supported");
		return pm_fail("not an image: an MP4 or QuickTime file");
	}
	if (match(b, 0, "\x1a\x45\xdf\xa3"))
		return pm_fail("not an image: a Matroska or WebM file");
	if (match(b, 0, "RIFF") && match(b, 8, "AVI "))
		return pm_fail("not an image: an AVI file");
	if (match(b, 0, "%PDF"))
		return pm_fail("not an image: a PDF document");
	if (match(b, 0, "\x00\x00\x00\x0cjP  ") ||
	    match(b, 0, "\xff\x4f\xff\x51"))
		return pm_fail("JPEG 2000 images are not supported");
	if (match(b, 0, "\x76\x2f\x31\x01"))
		return pm_fail("OpenEXR images are not supported");
	if (match(b, 0, "#?RADIANCE") || match(b, 0, "#?RGBE"))
		return pm_fail("Radiance HDR images are not supported");
	if (match(b, 0, "\x59\xa6\x6a\x95"))
		return pm_fail("Sun raster images are not supported");
	if (match(b, 0, "II+\0") || match(b, 0, "MM\0+"))
		return pm_fail("BigTIFF images are not supported");
	if (match(b, 0, "PF") || match(b, 0, "Pf") || match(b, 0, "P7"))
		return pm_fail("PFM and PAM images are not supported");
	for (i = 0; i < len; i++)
		if (p[i] == '\t' || p[i] == '\n' || p[i] == '\r' ||
		    (p[i] >= 0x20 && p[i] != 0x7f))
			text++;
	for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t' ||
	    p[i] == '\n' || p[i] == '\r'); i++)
		;
	if (text == len && i < len && p[i] == '<')
		return pm_fail("not an image: HTML, XML or SVG text");
	if (text == len)
		return pm_fail("not an image: text");
	return pm_fail("not an image: unknown format");
}

int
imghdr_read(const void *p, size_t n, struct imghdr *h)
{
	struct buf b = { p, n };
	int r;

	h->format = NULL;
	h->w = h->h = 0;
	if (n == 0)
		return pm_fail("empty: 0 bytes");
	if (match(&b, 0, "\xff\xd8\xff"))
		r = jpeg(&b, h);
	else if (match(&b, 0, "\x89PNG\r\n\x1a\n"))
		r = png(&b, h);
	else if (match(&b, 0, "RIFF") && match(&b, 8, "WEBP"))
		r = webp(&b, h);
	else if (match(&b, 0, "BM"))
		r = bmp(&b, h);
	else if (match(&b, 0, "II*\0") || match(&b, 0, "MM\0*"))
		r = tiff(&b, h);
	else if (has(&b, 0, 3) && b.p[0] == 'P' && b.p[1] >= '1' &&
	    b.p[1] <= '6' && strchr(" \t\n\r#", b.p[2]) != NULL)
		r = pnm(&b, h);
	else
		return refuse(&b);
	if (r == -1)
		return -1;
	if (h->w <= 0 || h->h <= 0)
		return pm_fail("empty %s image: %dx%d pixels", h->format,
		    h->w, h->h);
	if (h->w > IMG_MAX_SIDE || h->h > IMG_MAX_SIDE ||
	    (long)h->w * h->h > IMG_MAX_PIXELS)
		return pm_fail("%s image too large: %dx%d pixels (limit %ld "
		    "pixels, %d per side)", h->format, h->w, h->h,
		    IMG_MAX_PIXELS, IMG_MAX_SIDE);
	return 0;
}

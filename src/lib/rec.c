/*
 * rec.c: one NDJSON record: reading lines with their input position,
 * parsing, fields, serialising, and the per-record output buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "rec.h"
#include "recx.h"

#define RBUF	(1 << 16)

struct reader *
reader_open(const char *path)
{
	struct reader *rd;
	int fd;

	if (path == NULL || strcmp(path, "-") == 0) {
		fd = 0;
		path = "<stdin>";
	} else if ((fd = open(path, O_RDONLY)) == -1) {
		pm_fail("%s:", path);
		return NULL;
	}
	rd = pm_calloc(1, sizeof *rd);
	rd->fd = fd;
	rd->name = pm_strdup(path);
	rd->size = RBUF;
	rd->buf = pm_malloc(rd->size);
	return rd;
}

void
reader_close(struct reader *rd)
{
	if (rd == NULL)
		return;
	if (rd->fd != 0)
		close(rd->fd);
	free(rd->name);
	free(rd->buf);
	free(rd);
}

static int
reader_fill(struct reader *rd)
{
	ssize_t n;

	if (rd->off > 0) {
		memmove(rd->buf, rd->buf + rd->off, rd->len - rd->off);
		rd->len -= rd->off;
		rd->off = 0;
	}
	for (;;) {
		n = read(rd->fd, rd->buf + rd->len, rd->size - rd->len);
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	if (n == -1)
		return pm_fail("%s: read:", rd->name);
	if (n == 0)
		rd->eof = 1;
	rd->len += (size_t)n;
	return 0;
}

/*
 * The next line into *line (without its newline; a trailing CR is
 * kept off too).  Returns 1 for a line, 0 at the end, -1 on a read
 * error.  A line longer than max is cut to nothing and *toolong set;
 * the rest of it is skipped.
 */
int
reader_line(struct reader *rd, char **line, size_t *len, size_t *cap,
    size_t max, int *toolong)
{
	char *nl;
	size_t n;

	*len = 0;
	*toolong = 0;
	for (;;) {
		if (rd->off == rd->len) {
			rd->off = rd->len = 0;
			if (rd->eof)
				break;
			if (reader_fill(rd) == -1)
				return -1;
			if (rd->len == 0)
				break;
		}
		nl = memchr(rd->buf + rd->off, '\n', rd->len - rd->off);
		n = (nl ? (size_t)(nl - rd->buf) : rd->len) - rd->off;
		if (!*toolong) {
			if (*len + n > max) {
				*toolong = 1;
				*len = 0;
			} else {
				if (*len + n + 1 > *cap) {
					while (*len + n + 1 > *cap)
						*cap = *cap ? *cap * 2 : 256;
					*line = pm_realloc(*line, *cap);
				}
				memcpy(*line + *len, rd->buf + rd->off, n);
				*len += n;
			}
		}
		rd->off += n;
		if (nl) {
			rd->off++;
			rd->lineno++;
			goto done;
		}
	}
	if (*len == 0 && !*toolong)
		return 0;
	rd->lineno++;
done:
	if (*cap == 0) {
		*cap = 256;
		*line = pm_realloc(*line, *cap);
	}
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	(*line)[*len] = '\0';
	return 1;
}

/*
 * Parse r->line (r->len bytes) into r->j and r->type.  Returns 0, or -1
 * with r rejected: not JSON, not an object, no type or a type that is
 * not a non-empty string.
 */
int
rec_parse(struct rec *r)
{
	json_error_t e;
	json_t *type;

	r->j = json_loadb(r->line, r->len, JSON_REJECT_DUPLICATES, &e);
	if (r->j == NULL)
		return rec_reject(r, "malformed JSON at column %d: %s",
		    e.column, e.text);
	if (!json_is_object(r->j))
		return rec_reject(r, "not a JSON object");
	type = json_object_get(r->j, "type");
	if (type == NULL)
		return rec_reject(r, "record has no type");
	if (!json_is_string(type) || json_string_length(type) == 0)
		return rec_reject(r, "record's type is not a non-empty string");
	r->type = json_string_value(type);
	return 0;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		while (b->n + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 1024;
		b->p = pm_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void
buf_printf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if (b->n + (size_t)n + 1 > b->cap) {
		while (b->n + (size_t)n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 1024;
		b->p = pm_realloc(b->p, b->cap);
	}
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	b->n += (size_t)n;
}

/* Does every real in j read back the same from 15 significant digits? */
static int
short_reals(json_t *j)
{
	const char *k;
	char b[32];
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_REAL:
		snprintf(b, sizeof b, "%.15g", json_real_value(j));
		return strtod(b, NULL) == json_real_value(j);
	case JSON_OBJECT:
		json_object_foreach(j, k, v)
			if (!short_reals(v))
				return 0;
		return 1;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			if (!short_reals(v))
				return 0;
		return 1;
	default:
		return 1;
	}
}

/*
 * Reals are written with 15 significant digits, which is what pm's own
 * rounded numbers need; a record holding a real that needs more (one it
 * was given: the largest double, a price of 17 digits) is written with
 * 17, so that writing a record never changes what was read, nor makes
 * a number the next stage cannot read.
 */
char *
rec_dump(json_t *j)
{
	char *s;

	s = json_dumps(j, JSON_COMPACT |
	    JSON_REAL_PRECISION(short_reals(j) ? 15 : 17));
	if (s == NULL)
		pm_err(PM_EXIT_FATAL, "cannot serialise a record: out of memory");
	return s;
}

void
out_rec(struct out *o, json_t *j)
{
	char *s = rec_dump(j);

	buf_add(&o->b, s, strlen(s));
	buf_add(&o->b, "\n", 1);
	free(s);
}

void
out_pass(struct out *o, const struct rec *r)
{
	buf_add(&o->b, r->line, r->len);
	buf_add(&o->b, "\n", 1);
}

int
rec_reject(struct rec *r, const char *fmt, ...)
{
	va_list ap;

	r->x->rejected = 1;
	r->x->why.n = 0;
	va_start(ap, fmt);
	buf_printf(&r->x->why, fmt, ap);
	va_end(ap);
	return -1;
}

void
rec_warn(struct rec *r, const char *fmt, ...)
{
	va_list ap;

	r->x->warned = 1;
	va_start(ap, fmt);
	buf_printf(&r->x->warn, fmt, ap);
	va_end(ap);
	buf_add(&r->x->warn, "\n", 1);
}

const char *
rec_str(const struct rec *r, const char *key)
{
	return json_string_value(json_object_get(r->j, key));
}

int
rec_num(const struct rec *r, const char *key, double *v)
{
	json_t *n = json_object_get(r->j, key);

	if (!json_is_number(n))
		return -1;
	*v = json_number_value(n);
	return 0;
}

json_t *
json_fixed(double v, int decimals)
{
	double m = pow(10, decimals), x;

	x = round(v * m) / m;
	if (!isfinite(x))
		x = v;		/* too large to round (1e308): as it is */
	if (!isfinite(x))
		return json_null();
	if (x == 0)
		x = 0;		/* no "-0.0" */
	if (x == trunc(x) && fabs(x) < 9e15)
		return json_integer((json_int_t)x);
	return json_real(x);
}

/*
 * What a diagnostic calls the record: its type and whatever names it
 * best (an id, a video and time, a blob, a source).
 */
void
rec_subject(const struct rec *r, struct buf *b)
{
	const char *s;
	double t;

	buf_add(b, r->type, strlen(r->type));
	if ((s = rec_str(r, "id")) != NULL) {
		buf_add(b, " ", 1);
		buf_add(b, s, strlen(s));
	} else if ((s = rec_str(r, "video")) != NULL) {
		buf_add(b, " ", 1);
		buf_add(b, s, strlen(s));
		if (rec_num(r, "t", &t) == 0) {
			char tb[64];

			snprintf(tb, sizeof tb, " at %gs", t);
			buf_add(b, tb, strlen(tb));
		}
	} else if ((s = rec_str(r, "product")) != NULL) {
		buf_add(b, " of ", 4);
		buf_add(b, s, strlen(s));
		if ((s = rec_str(r, "src")) != NULL) {
			buf_add(b, " ", 1);
			buf_add(b, s, strlen(s));
		}
	} else if ((s = rec_str(r, "blob")) != NULL) {
		buf_add(b, " ", 1);
		buf_add(b, s, strlen(s));
	} else if ((s = rec_str(r, "src")) != NULL) {
		buf_add(b, " ", 1);
		buf_add(b, s, strlen(s));
	}
}

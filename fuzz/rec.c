/*
 * rec.c: fuzz the record reader: lines cut from a stream (rec.c's
 * reader_line(), through a buffer of any size and under any line
 * limit), each parsed as a record the way the record loop does it
 * (rec_parse()), named for a diagnostic and written out again.
 *
 * The input's first byte picks the longest line, its second the reader's
 * buffer size; the rest is the stream.
 */
#define _GNU_SOURCE		/* memfd_create */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "rec.h"
#include "recx.h"

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line as the record loop meets it. */
static void
record(const char *line, size_t len, int toolong)
{
	struct recx x = { 0 };
	struct rec r = { 0 };
	struct buf subj = { 0 };
	struct out o = { { 0 } };
	double t;
	char *s;

	r.x = &x;
	r.line = line;
	r.len = len;
	r.where = "fuzz:1";
	if (toolong) {
		rec_reject(&r, "line too long");
	} else if (rec_parse(&r) == 0) {
		fuzz_assert(json_is_object(r.j));
		fuzz_assert(r.type != NULL && *r.type != '\0');
		fuzz_assert(!x.rejected);
		rec_subject(&r, &subj);
		fuzz_assert(subj.p != NULL && subj.n == strlen(subj.p));
		(void)rec_str(&r, "blob");
		(void)rec_num(&r, "t", &t);
		out_pass(&o, &r);
		fuzz_assert(o.b.n == len + 1 && memcmp(o.b.p, line, len) == 0);
		o.b.n = 0;
		out_rec(&o, r.j);
		fuzz_assert(o.b.n > 0 && o.b.p[o.b.n - 1] == '\n');
		fuzz_assert(memchr(o.b.p, '\n', o.b.n) == o.b.p + o.b.n - 1);
		/* what is written reads back as a record */
		s = rec_dump(r.j);
		json_decref(r.j);
		memset(&r, 0, sizeof r);
		r.x = &x;
		r.line = s;
		r.len = strlen(s);
		fuzz_assert(rec_parse(&r) == 0);
		free(s);
	} else {
		fuzz_assert(x.rejected && x.why.n > 0);
	}
	json_decref(r.j);
	free(subj.p);
	free(o.b.p);
	free(x.why.p);
	free(x.warn.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct reader *rd;
	char path[64], *line = NULL;
	size_t len, cap = 0, max, total = 0, nlines = 0;
	int fd, toolong, r;

	if (!init) {
		json_object_seed(1);
		init = 1;
	}
	if (size < 2)
		return 0;
	max = data[0] == 0xff ? (size_t)1 << 30 : (size_t)data[0] * 4;
	if ((fd = memfd_create("rec", 0)) == -1)
		pm_err(PM_EXIT_FATAL, "memfd_create:");
	if (write_all(fd, data + 2, size - 2) == -1)
		pm_err(PM_EXIT_FATAL, "memfd:");
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if ((rd = reader_open(path)) == NULL)
		pm_err(PM_EXIT_FATAL, "%s", pm_why());
	rd->size = 1 + data[1] % rd->size;
	while ((r = reader_line(rd, &line, &len, &cap, max, &toolong)) == 1) {
		nlines++;
		fuzz_assert(rd->lineno == (long long)nlines);
		fuzz_assert(len <= max && len < cap);
		fuzz_assert(line[len] == '\0');
		fuzz_assert(memchr(line, '\n', len) == NULL);
		fuzz_assert(!toolong || len == 0);
		total += len;
		fuzz_assert(total + nlines - 1 <= size - 2);
		if (len > 0 || toolong)
			record(line, len, toolong);
	}
	fuzz_assert(r == 0);
	reader_close(rd);
	close(fd);
	free(line);
	return 0;
}

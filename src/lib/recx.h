/*
 * recx.h: the record loop's private state, shared by rec.c and loop.c.
 */
#ifndef PM_RECX_H
#define PM_RECX_H

#include <stdarg.h>
#include <stddef.h>

#include "rec.h"

struct buf {
	char	*p;
	size_t	 n, cap;
};

struct out {
	struct buf b;
};

struct recx {
	int		 rejected;	/* rec_reject() was called */
	int		 warned;	/* rec_warn() was called */
	struct buf	 why;		/* the rejection's reason */
	struct buf	 warn;		/* rec_warn()'s lines */
};

struct reader {
	int	 fd;
	char	*name;
	char	*buf;
	size_t	 size;		/* of buf; a test may use less of it */
	size_t	 off, len;
	int	 eof;
	long long lineno;
};

void	 buf_add(struct buf *, const void *, size_t);
void	 buf_printf(struct buf *, const char *, va_list);

struct reader *reader_open(const char *path);
void	 reader_close(struct reader *);
int	 reader_line(struct reader *, char **line, size_t *len, size_t *cap,
	    size_t max, int *toolong);
int	 rec_parse(struct rec *);
void	 rec_subject(const struct rec *, struct buf *);

#endif

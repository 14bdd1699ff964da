/*
 * err.h: diagnostics, exit status and checked allocation for every pm
 * program and library function.
 *
 * pm_err() and pm_warn() print "prog: message" on stderr; a format that
 * ends in ':' has ": strerror(errno)" appended (err(3)).  Library code
 * that fails returns -1 (or NULL) after pm_fail() has recorded why; the
 * caller reads the reason with pm_why().  The reason is per thread.
 */
#ifndef PM_ERR_H
#define PM_ERR_H

#include <stddef.h>

#define PM_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Exit statuses, as every man page documents them. */
enum {
	PM_EXIT_OK = 0,		/* every record done */
	PM_EXIT_SOME = 1,	/* some records rejected */
	PM_EXIT_FATAL = 2	/* usage or fatal error */
};

extern const char *pm_prog;	/* the program's name, for messages */

void	 pm_init(const char *argv0);
void	 pm_err(int status, const char *fmt, ...) PM_PRINTF(2, 3)
	    __attribute__((noreturn));
void	 pm_warn(const char *fmt, ...) PM_PRINTF(1, 2);
int	 pm_fail(const char *fmt, ...) PM_PRINTF(1, 2);
const char *pm_why(void);

void	*pm_malloc(size_t n);
void	*pm_calloc(size_t nmemb, size_t size);
void	*pm_realloc(void *p, size_t n);
void	*pm_reallocarray(void *p, size_t nmemb, size_t size);
char	*pm_strdup(const char *s);
char	*pm_asprintf(const char *fmt, ...) PM_PRINTF(1, 2);

/*
 * Parse a number from an option argument; pm_err(2) with the option's
 * name when it is not a number in [min, max].
 */
long long pm_num(const char *s, long long min, long long max, const char *what);
double	 pm_real(const char *s, double min, double max, const char *what);

#endif

/*
 * store.h: the content-addressed blob store (pm-store(5)).
 *
 * A blob's name is the SHA-256 of its bytes in lower-case hex.  Puts
 * are crash-safe and safe for many writers at once; gets verify the
 * bytes against the name.  Every function is safe to call from many
 * threads on one struct store.  Functions return -1 (or NULL) and set
 * pm_why() on failure.
 */
#ifndef PM_STORE_H
#define PM_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define STORE_NAMELEN 64

struct store;

/*
 * Open (creating if need be) the store in dir; dir NULL means
 * $PM_STORE, else the default of pm-store(5).
 */
struct store *store_open(const char *dir);
void	 store_close(struct store *);
const char *store_dir(const struct store *);

/* Is s a well-formed blob name (64 lower-case hex digits)? */
int	 store_name_ok(const char *s);

/* Store n bytes; name receives the blob's name. */
int	 store_put(struct store *, const void *p, size_t n,
	    char name[STORE_NAMELEN + 1]);
/* Store what fd reads until end of file, streaming. */
int	 store_put_fd(struct store *, int fd, char name[STORE_NAMELEN + 1]);

/* 1 if the blob is present, 0 if not, -1 on error. */
int	 store_has(struct store *, const char *name);

/*
 * Read a whole blob into a new buffer (with a NUL after the last byte,
 * not counted in *n), verified against its name.
 */
int	 store_get(struct store *, const char *name, void **p, size_t *n);

/*
 * Copy a blob to fp, verified: nothing is written unless the whole blob
 * verifies.  Large blobs are read twice rather than held in memory.
 */
int	 store_cat(struct store *, const char *name, FILE *fp);

/*
 * The path of the blob's file (malloc'd), and in *raw whether the file
 * holds the blob's bytes as they are (so another library may read it
 * directly) or zstd-compressed.
 */
char	*store_path(struct store *, const char *name, int *raw);

/*
 * Read a blob through without keeping it: 0 if it is intact.  *stored
 * receives its file's size and *raw whether it is stored uncompressed
 * (either may be NULL).
 */
int	 store_verify(struct store *, const char *name, off_t *stored, int *raw);

/*
 * Call fn for every file in the store, in name order: each blob (with its
 * name), each temporary file of a write in progress or abandoned, and
 * each stray file that has no place in the layout.  Stops when fn
 * returns non-zero, and returns that.
 */
enum store_entry { STORE_BLOB, STORE_TMP, STORE_STRAY };
struct stat;
int	 store_walk(struct store *, int (*fn)(void *arg, enum store_entry,
	    const char *name, const char *path, const struct stat *), void *arg);

/* The SHA-256 of n bytes in lower-case hex. */
void	 sha256_hex(const void *p, size_t n, char hex[STORE_NAMELEN + 1]);

/* Write n bytes to fd whole: write(2) again after a short count or an
 * interruption.  0, or -1 with errno set. */
int	 write_all(int fd, const void *p, size_t n);

#endif

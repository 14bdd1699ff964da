/*
 * fetch.h: bring sources into the blob store.
 *
 * A source is a local path, a file:// URL, an http:// or https:// URL
 * (libcurl, with timeouts, a size limit, and retries with backoff on
 * transient failures), or anything else that looks like a URL, which
 * yt-dlp(1) fetches when it is installed (a video page, or a search such
 * as "ytsearch5:QUERY" that yields several videos).  Downloads stream
 * into a temporary file; a check function validates the file before it
 * is stored, so nothing is stored for a file the check refuses.
 *
 * A struct fetcher holds one run's options and a cache: a source is
 * fetched once per fetcher, and a thread that asks for a source another
 * thread is fetching waits for that fetch's result.  Every function is
 * safe to call from many threads on one fetcher.
 */
#ifndef PM_FETCH_H
#define PM_FETCH_H

#include <stddef.h>

#include "store.h"

struct fetch_opt {
	double	 connect;	/* seconds to connect; 0: libcurl's default */
	double	 timeout;	/* seconds for one try of a transfer; 0: none */
	long long max_size;	/* largest file in bytes; 0: no limit */
	int	 retries;	/* more tries on a transient failure */
	double	 backoff;	/* seconds before the first retry; doubles */
	double	 backoff_max;	/* the longest wait between tries */
	int	 redirs;	/* redirects followed at most */
	int	 parallel;	/* transfers at once in fetch_many() */
	const char *ytdlp;	/* the yt-dlp command; NULL: "yt-dlp" on PATH */
};

/* Defaults, as pm-fetch(1) documents them. */
void	 fetch_opt_init(struct fetch_opt *);

/*
 * A size in bytes, with an optional suffix k, M or G (powers of 1024);
 * -1 when s is not one.
 */
long long fetch_size(const char *s);

/* One stored file, and what its check and yt-dlp said about it. */
struct fetch_item {
	char	 blob[STORE_NAMELEN + 1];
	int	 w, h;		/* pixels */
	double	 duration;	/* seconds, videos */
	double	 fps;		/* frames per second, videos */
	char	*id;		/* yt-dlp: the video's id on its site */
	char	*title;		/* yt-dlp: the video's title, or NULL */
	char	*url;		/* yt-dlp: the video's web page, or NULL */
};

/* What fetching one source gave. */
struct fetch_res {
	struct fetch_item *item;
	size_t	 n;		/* 1, except for yt-dlp playlists and searches */
	int	 search;	/* the source is a yt-dlp search */
	char	*warn;		/* some of several videos failed: why, or NULL */
};

/*
 * A check validates the file at path (fd is open on it, at offset 0)
 * and fills the item's w, h, duration and fps; it returns 0, or -1
 * after pm_fail() said why the file is refused.
 */
typedef int (*fetch_check)(const char *path, int fd, struct fetch_item *);

/* Checks for pm-fetch: an image (w, h); a video (w, h, duration, fps). */
int	 fetch_check_image(const char *path, int fd, struct fetch_item *);
int	 fetch_check_video(const char *path, int fd, struct fetch_item *);

/* How a source is fetched. */
enum fetch_kind {
	FETCH_PATH,		/* a local file */
	FETCH_FILE,		/* a file:// URL */
	FETCH_HTTP,		/* an http:// or https:// URL */
	FETCH_YTDLP		/* any other scheme: yt-dlp */
};

/*
 * A source that begins with "/" or "." is a path; one that begins with
 * a URL scheme ("[A-Za-z][A-Za-z0-9+.-]*:") is a URL; anything else is
 * a path.
 */
enum fetch_kind fetch_kind(const char *src);

/* Is src a yt-dlp search ("ytsearch5:QUERY": its scheme has "search")? */
int	 fetch_is_search(const char *src);

/*
 * The local path a file:// URL names (malloc'd), or NULL if it names
 * another host or is malformed.
 */
char	*fetch_file_path(const char *url);

struct fetcher *fetcher_new(const struct fetch_opt *, struct store *);
void	 fetcher_free(struct fetcher *);

/*
 * Flags of fetch(): FETCH_PAGES hands an http(s) URL whose answer is a
 * web page (HTML) to yt-dlp, which finds the video in it (a video site's
 * page, say); without it a page is fetched as it is.
 */
#define FETCH_PAGES	0x1

/*
 * Fetch src, validate each file with check, store it.  Returns the
 * result, which the fetcher keeps until fetcher_free(), or NULL with
 * pm_why() set.  The same (src, flags, check) gives the same answer,
 * success or failure, for the life of the fetcher, and is fetched once.
 */
const struct fetch_res *fetch(struct fetcher *, const char *src, int flags,
	    fetch_check check);

/*
 * fetch() n sources, up to the option's parallel transfers at once.
 * res[i] receives the result for src[i]; when it is NULL, why[i] holds
 * the reason (malloc'd, the caller frees it), otherwise why[i] is NULL.
 */
void	 fetch_many(struct fetcher *, const char *const *src, size_t n,
	    int flags, fetch_check check, const struct fetch_res **res, char **why);

/* How many sources were fetched (not found in the cache) so far. */
unsigned long fetch_count(struct fetcher *);

#endif

/*
 * pfor.c: the parallel for loop (pfor.h).
 */
#include <pthread.h>
#include <stdlib.h>

#include "err.h"
#include "pfor.h"

struct pfor {
	void	(*fn)(void *, size_t, int);
	void	*arg;
	size_t	 n, next;
	pthread_mutex_t mu;
};

struct pfor_thread {
	struct pfor *p;
	int	 id;
};

static void *
run(void *a)
{
	struct pfor_thread *t = a;
	struct pfor *p = t->p;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		i = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			break;
		p->fn(p->arg, i, t->id);
	}
	return NULL;
}

void
pfor(int threads, size_t n, void (*fn)(void *, size_t, int), void *arg)
{
	struct pfor p = { fn, arg, n, 0, PTHREAD_MUTEX_INITIALIZER };
	struct pfor_thread *t;
	pthread_t *tid;
	int i, started;

	if (threads < 1)
		threads = 1;
	if ((size_t)threads > n)
		threads = n > 0 ? (int)n : 1;
	t = pm_calloc((size_t)threads, sizeof *t);
	tid = pm_calloc((size_t)threads, sizeof *tid);
	for (i = 0; i < threads; i++) {
		t[i].p = &p;
		t[i].id = i;
	}
	/* the calling thread is thread 0 */
	started = 0;
	for (i = 1; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, run, &t[i]) != 0)
			pm_err(PM_EXIT_FATAL, "cannot start a thread");
		started++;
	}
	run(&t[0]);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&p.mu);
	free(t);
	free(tid);
}

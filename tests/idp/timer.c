/* timer.c - one thread that resumes suspended connections when their time comes.
 * Latency never costs a sleeping thread per request: a handler suspends its connection and
 * queues it here (a min-heap on the due time); this thread resumes it. The lock is held while
 * the caller suspends, so an entry can never be resumed before it was suspended. */
#include "idp.h"

#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <time.h>

typedef struct timer_ent {
	double due;
	struct MHD_Connection *conn;
} timer_ent;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	timer_ent *heap;
	size_t n, cap;
	int stopping;
	int started;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void heap_push(timer_ent e)
{
	if (T.n == T.cap) {
		T.cap = T.cap ? 2 * T.cap : 64;
		T.heap = idp_xrealloc(T.heap, T.cap * sizeof *T.heap);
	}
	size_t i = T.n++;
	while (i > 0 && T.heap[(i - 1) / 2].due > e.due) {
		T.heap[i] = T.heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	T.heap[i] = e;
}

static timer_ent heap_pop(void)
{
	timer_ent top = T.heap[0], last = T.heap[--T.n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= T.n)
			break;
		if (c + 1 < T.n && T.heap[c + 1].due < T.heap[c].due)
			c++;
		if (T.heap[c].due >= last.due)
			break;
		T.heap[i] = T.heap[c];
		i = c;
	}
	if (T.n)
		T.heap[i] = last;
	return top;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pops every due entry into *batch (caller frees); returns how many. */
static size_t timer_collect(timer_ent **batch)
{
	size_t n = 0, cap = 0;
	*batch = NULL;
	double now = mono_now();
	while (T.n && (T.stopping || T.heap[0].due <= now)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			*batch = idp_xrealloc(*batch, cap * sizeof **batch);
		}
		(*batch)[n++] = heap_pop();
	}
	return n;
}

static void timer_wait(void)
{
	if (!T.n) {
		pthread_cond_wait(&T.cond, &T.lock);
		return;
	}
	double due = T.heap[0].due;
	struct timespec ts;
	ts.tv_sec = (time_t)floor(due);
	ts.tv_nsec = (long)((due - floor(due)) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	pthread_cond_timedwait(&T.cond, &T.lock, &ts);
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&T.lock);
	for (;;) {
		timer_ent *batch;
		size_t n = timer_collect(&batch);
		if (n) {
			pthread_mutex_unlock(&T.lock);
			for (size_t i = 0; i < n; i++)
				MHD_resume_connection(batch[i].conn);
			free(batch);
			pthread_mutex_lock(&T.lock);
			continue;
		}
		if (T.stopping)
			break;
		timer_wait();
	}
	pthread_mutex_unlock(&T.lock);
	return NULL;
}

int idp_timer_start(void)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&T.cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&T.thread, NULL, timer_main, NULL) != 0)
		return -1;
	T.started = 1;
	return 0;
}

int idp_timer_suspend(struct MHD_Connection *conn, double delay_s)
{
	pthread_mutex_lock(&T.lock);
	if (T.stopping || !T.started) {
		pthread_mutex_unlock(&T.lock);
		return -1;
	}
	timer_ent e = {mono_now() + delay_s, conn};
	heap_push(e);
	MHD_suspend_connection(conn);
	pthread_cond_signal(&T.cond);
	pthread_mutex_unlock(&T.lock);
	return 0;
}

void idp_timer_stop(void)
{
	pthread_mutex_lock(&T.lock);
	T.stopping = 1;
	pthread_cond_signal(&T.cond);
	pthread_mutex_unlock(&T.lock);
	if (T.started)
		pthread_join(T.thread, NULL);
	T.started = 0;
	free(T.heap);
	T.heap = NULL;
	T.n = T.cap = 0;
}

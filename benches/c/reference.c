/*
 * Clean-room model of the kernel's per-I/O multipath work; see
 * reference.h. Layout notes say which kernel structure each type stands
 * for and which of its fields share a cache line, because two-thread cost
 * depends on exactly that.
 *
 * Left out on purpose (see benches/README.md): the block layer around the
 * selection (bio splitting, SRCU read lock, I/O accounting, dm's request
 * cloning), irq save/restore around dm's spinlock, retpolines on dm's
 * indirect calls, the NUMA iopolicy's distance table.
 */
#include "reference.h"

#include <stdatomic.h>
#include <stdlib.h>

#define LINE 64

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

/* ------------------------------------------------------------------ */
/* NVMe                                                                */
/* ------------------------------------------------------------------ */

/* Controller states that matter: LIVE paths are used, DELETING ones still
 * complete I/O and are not treated as disabled. */
enum { CTRL_NEW = 0, CTRL_LIVE = 1, CTRL_DELETING = 2 };

/* Namespace flag bits (ns->flags). */
#define NS_ANA_PENDING (1UL << 0)
#define NS_READY (1UL << 1)

/* Request flag: this request was counted in its controller's nr_active. */
#define REQ_CNT_ACTIVE (1U << 3)

/*
 * struct nvme_ctrl, reduced. The state word is near the top of the real
 * structure and is read by every path check; nr_active comes after the ANA
 * fields, several lines further, and is written twice per I/O under
 * queue-depth. Two lines, as in the kernel.
 */
struct ref_ctrl {
	_Alignas(LINE) int32_t state;
	_Alignas(LINE) atomic_int nr_active;
};

/*
 * struct nvme_ns, reduced to what selection reads: the sibling link in the
 * head's path list, the controller pointer, the flag word and the ANA
 * state. One line per path (separately allocated in the kernel).
 */
struct ref_ns {
	_Alignas(LINE) struct ref_ns *next;
	struct ref_ctrl *ctrl;
	unsigned long flags;
	int32_t ana_state;
	int32_t index;
};

/* struct nvme_subsystem's iopolicy, read with READ_ONCE on every I/O. */
struct ref_subsys {
	_Alignas(LINE) atomic_int iopolicy;
};

/*
 * struct nvme_ns_head: the path list and subsystem pointer are read-mostly;
 * current_path[] (one NUMA node here, so every CPU shares one slot) sits at
 * the end of the structure, on its own line, and round-robin stores it on
 * every I/O that moves on.
 */
struct ref_nvme {
	_Alignas(LINE) struct ref_ns *first;
	struct ref_subsys *subsys;
	uint32_t nr;
	_Alignas(LINE) _Atomic(struct ref_ns *) current_path;
	struct ref_subsys subsys_storage;
	struct ref_ns ns[REF_MAX_PATHS];
	struct ref_ctrl ctrl[REF_MAX_PATHS];
};

struct ref_nvme *ref_nvme_new(uint32_t n, int32_t policy)
{
	struct ref_nvme *h;

	if (n == 0 || n > REF_MAX_PATHS)
		return NULL;
	h = aligned_alloc(LINE, sizeof(*h));
	if (!h)
		return NULL;
	h->nr = n;
	h->subsys = &h->subsys_storage;
	atomic_init(&h->subsys->iopolicy, policy);
	atomic_init(&h->current_path, NULL);
	for (uint32_t i = 0; i < REF_MAX_PATHS; i++) {
		struct ref_ns *ns = &h->ns[i];

		h->ctrl[i].state = CTRL_LIVE;
		atomic_init(&h->ctrl[i].nr_active, 0);
		ns->ctrl = &h->ctrl[i];
		ns->flags = NS_READY;
		ns->ana_state = REF_ANA_OPTIMIZED;
		ns->index = (int32_t)i;
		ns->next = i + 1 < n ? &h->ns[i + 1] : NULL;
	}
	h->first = &h->ns[0];
	return h;
}

void ref_nvme_free(struct ref_nvme *h)
{
	free(h);
}

static int ns_disabled(const struct ref_ns *ns)
{
	int32_t state = *(volatile const int32_t *)&ns->ctrl->state;

	/* A deleting controller still completes what it is sent. */
	if (state != CTRL_LIVE && state != CTRL_DELETING)
		return 1;
	return (ns->flags & NS_ANA_PENDING) || !(ns->flags & NS_READY);
}

/* The list successor, wrapping to the first path at the end. */
static struct ref_ns *ns_after(const struct ref_nvme *h, const struct ref_ns *ns)
{
	return ns->next ? ns->next : h->first;
}

/* Slow path without a cached path: first optimized path in list order,
 * else the first non-optimized one (every distance is local here). */
static struct ref_ns *nvme_first_usable(struct ref_nvme *h)
{
	struct ref_ns *fallback = NULL;

	for (struct ref_ns *ns = h->first; ns; ns = ns->next) {
		if (ns_disabled(ns))
			continue;
		if (ns->ana_state == REF_ANA_OPTIMIZED) {
			atomic_store_explicit(&h->current_path, ns,
					      memory_order_release);
			return ns;
		}
		if (ns->ana_state == REF_ANA_NONOPTIMIZED && !fallback)
			fallback = ns;
	}
	if (fallback)
		atomic_store_explicit(&h->current_path, fallback,
				      memory_order_release);
	return fallback;
}

/*
 * Round-robin: from the cached path, the next usable path in list order,
 * an optimized one ending the walk at once and otherwise the last
 * non-optimized one seen; the cached path again when nothing better turns
 * up. The choice is published for every CPU of the node.
 */
static struct ref_ns *nvme_rr(struct ref_nvme *h)
{
	struct ref_ns *old =
		atomic_load_explicit(&h->current_path, memory_order_relaxed);
	struct ref_ns *pick = NULL;
	int old_usable;

	if (__builtin_expect(!old, 0))
		return nvme_first_usable(h);
	if (!h->first->next)
		return ns_disabled(old) ? NULL : old;

	for (struct ref_ns *ns = ns_after(h, old); ns != old;
	     ns = ns_after(h, ns)) {
		if (ns_disabled(ns))
			continue;
		if (ns->ana_state == REF_ANA_OPTIMIZED) {
			pick = ns;
			goto publish;
		}
		if (ns->ana_state == REF_ANA_NONOPTIMIZED)
			pick = ns;
	}
	old_usable = !ns_disabled(old);
	if (old_usable && old->ana_state == REF_ANA_OPTIMIZED)
		return old;
	if (old_usable && !pick && old->ana_state == REF_ANA_NONOPTIMIZED)
		return old;
	if (!pick)
		return NULL;
publish:
	atomic_store_explicit(&h->current_path, pick, memory_order_release);
	return pick;
}

/*
 * Queue-depth: the least nr_active among optimized paths, else among
 * non-optimized ones; first in list order on ties, and an idle optimized
 * path ends the walk. Nothing is published.
 */
static struct ref_ns *nvme_qd(struct ref_nvme *h)
{
	struct ref_ns *opt = NULL, *nonopt = NULL;
	unsigned int opt_depth = ~0U, nonopt_depth = ~0U;

	for (struct ref_ns *ns = h->first; ns; ns = ns->next) {
		unsigned int depth;

		if (ns_disabled(ns))
			continue;
		depth = (unsigned int)atomic_load_explicit(
			&ns->ctrl->nr_active, memory_order_relaxed);
		if (ns->ana_state == REF_ANA_OPTIMIZED) {
			if (depth < opt_depth) {
				opt_depth = depth;
				opt = ns;
			}
		} else if (ns->ana_state == REF_ANA_NONOPTIMIZED) {
			if (depth < nonopt_depth) {
				nonopt_depth = depth;
				nonopt = ns;
			}
		}
		if (opt_depth == 0)
			break;
	}
	return opt ? opt : nonopt;
}

/* NUMA (default) iopolicy, for completeness of the dispatch. */
static struct ref_ns *nvme_numa(struct ref_nvme *h)
{
	struct ref_ns *ns =
		atomic_load_explicit(&h->current_path, memory_order_relaxed);

	if (!ns || ns_disabled(ns) || ns->ana_state != REF_ANA_OPTIMIZED)
		return nvme_first_usable(h);
	return ns;
}

static inline int32_t nvme_select(struct ref_nvme *h)
{
	struct ref_ns *ns;

	switch (atomic_load_explicit(&h->subsys->iopolicy,
				     memory_order_relaxed)) {
	case REF_NVME_QD:
		ns = nvme_qd(h);
		break;
	case REF_NVME_RR:
		ns = nvme_rr(h);
		break;
	default:
		ns = nvme_numa(h);
		break;
	}
	return ns ? ns->index : -1;
}

int32_t ref_nvme_select(struct ref_nvme *h)
{
	return nvme_select(h);
}

/*
 * Start and end are out-of-line calls in the kernel (called from the
 * controller's queue and completion paths, another compilation unit), so
 * they are here too: the compiler must not fold the end's flag test into
 * the start.
 */
__attribute__((noinline)) void ref_nvme_start(struct ref_nvme *h,
					      struct ref_req *rq, int32_t path)
{
	rq->path = path;
	if (atomic_load_explicit(&h->subsys->iopolicy, memory_order_relaxed) ==
	    REF_NVME_QD) {
		atomic_fetch_add_explicit(&h->ns[path].ctrl->nr_active, 1,
					  memory_order_relaxed);
		rq->flags |= REQ_CNT_ACTIVE;
	}
}

/* Decrement unless already zero: a compare-and-swap loop, as the kernel's
 * generic atomic_dec_if_positive. */
static void dec_if_positive(atomic_int *v)
{
	int cur = atomic_load_explicit(v, memory_order_relaxed);

	while (cur > 0 &&
	       !atomic_compare_exchange_weak_explicit(v, &cur, cur - 1,
						      memory_order_seq_cst,
						      memory_order_relaxed))
		;
}

__attribute__((noinline)) void ref_nvme_end(struct ref_nvme *h,
					    struct ref_req *rq)
{
	if (rq->flags & REQ_CNT_ACTIVE)
		dec_if_positive(&h->ns[rq->path].ctrl->nr_active);
}

int32_t ref_nvme_io(struct ref_nvme *h)
{
	struct ref_req rq = { .path = -1, .flags = 0 };
	int32_t path = nvme_select(h);

	if (path < 0)
		return -1;
	ref_nvme_start(h, &rq, path);
	ref_nvme_end(h, &rq);
	return path;
}

void ref_nvme_set_ana(struct ref_nvme *h, uint32_t path, int32_t ana_state)
{
	if (path < REF_MAX_PATHS)
		h->ns[path].ana_state = ana_state;
}

void ref_nvme_set_live(struct ref_nvme *h, uint32_t path, int32_t live)
{
	if (path < REF_MAX_PATHS)
		h->ctrl[path].state = live ? CTRL_LIVE : CTRL_NEW;
}

int32_t ref_nvme_nr_active(const struct ref_nvme *h, uint32_t path)
{
	if (path >= REF_MAX_PATHS)
		return -1;
	return atomic_load_explicit(&h->ctrl[path].nr_active,
				    memory_order_relaxed);
}

void ref_nvme_set_nr_active(struct ref_nvme *h, uint32_t path, int32_t v)
{
	if (path < REF_MAX_PATHS)
		atomic_store_explicit(&h->ctrl[path].nr_active, v,
				      memory_order_relaxed);
}

int32_t ref_nvme_current(const struct ref_nvme *h)
{
	struct ref_ns *ns = atomic_load_explicit(
		&((struct ref_nvme *)h)->current_path, memory_order_relaxed);

	return ns ? ns->index : -1;
}

/* ------------------------------------------------------------------ */
/* dm service-time                                                     */
/* ------------------------------------------------------------------ */

struct ref_link {
	struct ref_link *next, *prev;
};

/* Relative throughput range and the shift dm applies to sizes that could
 * overflow the cross-multiplication. */
#define ST_MAX_RT 100
#define ST_RT_SHIFT 7
#define ST_SIZE_LIMIT ((size_t)-1 >> ST_RT_SHIFT)

/*
 * struct path_info: about 40 bytes from kmalloc, so a 64-byte slab object
 * with its list link, throughput and in-flight counter all on one line.
 * The scan reads that line for every path; start and end write it.
 */
struct ref_st_path {
	_Alignas(LINE) struct ref_link link;
	int32_t path;
	uint32_t repeat_count;
	uint32_t relative_throughput;
	atomic_int in_flight_size;
};

struct ref_st;

/* struct path_selector_type: dm-mpath calls the selector through it. */
struct ref_st_ops {
	int32_t (*select_path)(struct ref_st *s, size_t nr_bytes);
	void (*start_io)(struct ref_st *s, int32_t path, size_t nr_bytes);
	void (*end_io)(struct ref_st *s, int32_t path, size_t nr_bytes);
};

/*
 * struct selector: the valid and failed path lists and the spinlock, one
 * line, written by every selection (the lock, and the list head when the
 * chosen path moves to the tail).
 */
struct ref_st {
	_Alignas(LINE) struct ref_link valid;
	struct ref_link failed;
	atomic_int lock;
	const struct ref_st_ops *ops;
	struct ref_st_path paths[REF_MAX_PATHS];
};

static void link_del(struct ref_link *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void link_add_tail(struct ref_link *e, struct ref_link *head)
{
	struct ref_link *tail = head->prev;

	e->next = head;
	e->prev = tail;
	tail->next = e;
	head->prev = e;
}

/* Test-and-test-and-set lock: the uncontended cost is the kernel
 * spinlock's (one acquiring compare-and-swap, one releasing store). */
static void st_lock(atomic_int *l)
{
	int unlocked = 0;

	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     l, &unlocked, 1, memory_order_acquire,
				     memory_order_relaxed),
			     1))
		return;
	for (;;) {
		while (atomic_load_explicit(l, memory_order_relaxed))
			cpu_relax();
		unlocked = 0;
		if (atomic_compare_exchange_weak_explicit(
			    l, &unlocked, 1, memory_order_acquire,
			    memory_order_relaxed))
			return;
	}
}

static void st_unlock(atomic_int *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

/*
 * Negative when `a` is the better path for `incoming` more bytes, positive
 * when `b` is, 0 for no difference. Estimated service time is
 * (in flight + incoming) / relative throughput, compared by
 * cross-multiplying. In order: equal throughput compares loads; equal
 * loads, or a throughput of 0 on either side, prefer the higher
 * throughput; then the estimates; then, on equal estimates, the higher
 * throughput.
 */
static int st_compare(const struct ref_st_path *a, const struct ref_st_path *b,
		      size_t incoming)
{
	size_t la = (size_t)atomic_load_explicit(&a->in_flight_size,
						 memory_order_relaxed);
	size_t lb = (size_t)atomic_load_explicit(&b->in_flight_size,
						 memory_order_relaxed);
	unsigned int ra = a->relative_throughput, rb = b->relative_throughput;
	size_t ea, eb;

	if (ra == rb)
		return (la > lb) - (la < lb);
	if (la == lb || ra == 0 || rb == 0)
		return (int)rb - (int)ra;
	la += incoming;
	lb += incoming;
	if (__builtin_expect(la >= ST_SIZE_LIMIT || lb >= ST_SIZE_LIMIT, 0)) {
		la >>= ST_RT_SHIFT;
		lb >>= ST_RT_SHIFT;
	}
	ea = la * rb;
	eb = lb * ra;
	if (ea != eb)
		return (ea > eb) - (ea < eb);
	return (int)rb - (int)ra;
}

/* The best valid path under the lock; it moves to the list's tail so equal
 * paths take turns. */
static int32_t st_select_path(struct ref_st *s, size_t nr_bytes)
{
	struct ref_st_path *best = NULL;
	int32_t ret = -1;

	st_lock(&s->lock);
	for (struct ref_link *e = s->valid.next; e != &s->valid; e = e->next) {
		struct ref_st_path *p = container_of(e, struct ref_st_path, link);

		if (!best || st_compare(p, best, nr_bytes) < 0)
			best = p;
	}
	if (best) {
		link_del(&best->link);
		link_add_tail(&best->link, &s->valid);
		ret = best->path;
	}
	st_unlock(&s->lock);
	return ret;
}

static void st_start_io(struct ref_st *s, int32_t path, size_t nr_bytes)
{
	atomic_fetch_add_explicit(&s->paths[path].in_flight_size,
				  (int)nr_bytes, memory_order_relaxed);
}

static void st_end_io(struct ref_st *s, int32_t path, size_t nr_bytes)
{
	atomic_fetch_sub_explicit(&s->paths[path].in_flight_size,
				  (int)nr_bytes, memory_order_relaxed);
}

static const struct ref_st_ops st_ops = {
	.select_path = st_select_path,
	.start_io = st_start_io,
	.end_io = st_end_io,
};

struct ref_st *ref_st_new(uint32_t n)
{
	struct ref_st *s;

	if (n == 0 || n > REF_MAX_PATHS)
		return NULL;
	s = aligned_alloc(LINE, sizeof(*s));
	if (!s)
		return NULL;
	s->valid.next = s->valid.prev = &s->valid;
	s->failed.next = s->failed.prev = &s->failed;
	atomic_init(&s->lock, 0);
	s->ops = &st_ops;
	for (uint32_t i = 0; i < REF_MAX_PATHS; i++) {
		struct ref_st_path *p = &s->paths[i];

		p->path = (int32_t)i;
		p->repeat_count = 1;
		p->relative_throughput = 1 + i % 3;
		atomic_init(&p->in_flight_size, 0);
		if (i < n)
			link_add_tail(&p->link, &s->valid);
		else
			link_add_tail(&p->link, &s->failed);
	}
	return s;
}

void ref_st_free(struct ref_st *s)
{
	free(s);
}

int32_t ref_st_select(struct ref_st *s, size_t nr_bytes)
{
	return s->ops->select_path(s, nr_bytes);
}

void ref_st_start(struct ref_st *s, int32_t path, size_t nr_bytes)
{
	if (path >= 0 && path < REF_MAX_PATHS)
		s->ops->start_io(s, path, nr_bytes);
}

void ref_st_end(struct ref_st *s, int32_t path, size_t nr_bytes)
{
	if (path >= 0 && path < REF_MAX_PATHS)
		s->ops->end_io(s, path, nr_bytes);
}

/* dm-mpath reaches the selector through its ops table: three indirect
 * calls per I/O. */
int32_t ref_st_io(struct ref_st *s, size_t nr_bytes)
{
	const struct ref_st_ops *ops = s->ops;
	int32_t path = ops->select_path(s, nr_bytes);

	if (path < 0)
		return -1;
	ops->start_io(s, path, nr_bytes);
	ops->end_io(s, path, nr_bytes);
	return path;
}

void ref_st_set_throughput(struct ref_st *s, uint32_t path, uint32_t rt)
{
	if (path < REF_MAX_PATHS)
		s->paths[path].relative_throughput = rt > ST_MAX_RT ? ST_MAX_RT : rt;
}

int32_t ref_st_in_flight(const struct ref_st *s, uint32_t path)
{
	if (path >= REF_MAX_PATHS)
		return -1;
	return atomic_load_explicit(&s->paths[path].in_flight_size,
				    memory_order_relaxed);
}

uint32_t ref_st_order(const struct ref_st *s, int32_t *out, uint32_t cap)
{
	uint32_t k = 0;

	for (const struct ref_link *e = s->valid.next; e != &s->valid && k < cap;
	     e = e->next)
		out[k++] = container_of(e, const struct ref_st_path, link)->path;
	return k;
}

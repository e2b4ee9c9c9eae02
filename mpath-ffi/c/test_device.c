/*
 * test_device: drives one multipath device through mpath-ffi's C ABI the
 * way a C embedder would, and checks every result.
 *
 *   - selection: the data plane (mpath_dp_submit / mpath_dp_complete on a
 *     cursor, mpath_dp_select + mpath_dp_start) and the device
 *     (mpath_submit); round-robin spreads, queue-depth avoids a busy path;
 *   - failover: a read fails over at once; a failed write is held until
 *     the failed path's quiesce time, not a nanosecond earlier
 *     (mpath_poll_timeout / mpath_handle_timeout / mpath_poll_action);
 *   - a reservation move: register and reserve through the coordinator,
 *     each command answered by a small SPC-4 target model below; the
 *     holder's link dies, the coordinator preempts our own key from the
 *     other path and reports the move;
 *   - refusals: NULL (-EFAULT), another device's ticket (-EXDEV), a removed
 *     path (-ESTALE), an output that does not fit its buffer, codes outside
 *     their tables (-EINVAL), time going backwards (-ERANGE), each with a
 *     fingerprint of the device (snapshots and getters) compared before and
 *     after.
 *
 * One line per check ("ok N - ..." or "not ok N - ..."); exits 1 if any
 * check failed. Objects live in heap blocks of exactly the size the
 * library reports (mpath_object_layout), so valgrind's memcheck flags any
 * access past an object, not only past the reserved MPATH_*_SIZE.
 */
#define _POSIX_C_SOURCE 200809L

#include "mpath.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS UINT64_C(1000000)
/* Our reservation key, and another host's. */
#define OURS UINT64_C(0xa1)
#define THEIRS UINT64_C(0xb2)

/* ------------------------------------------------------------------ */
/* Checks                                                             */
/* ------------------------------------------------------------------ */

static unsigned checks, failures;

static void check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("%s %u - ", ok ? "ok" : "not ok", checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf("  <-- FAILED at %s:%d", file, line);
	putchar('\n');
}

#define CHECK(cond, ...) check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* A call and the int it must return; the line names the call. */
#define RC(call, want)                                                     \
	do {                                                               \
		int rc_ = (call);                                          \
		int want_ = (want);                                        \
		check(rc_ == want_, __FILE__, __LINE__, "%s == %s (got %d)", \
		      #call, #want, rc_);                                  \
	} while (0)

/*
 * Set-up every scenario relies on (an object made, a path added): checked
 * like the rest but not counted or printed unless it fails, which stops
 * the program (what follows would use a NULL object).
 */
static void must(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	printf("not ok - fatal: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("  <-- at %s:%d\n", file, line);
	exit(1);
}

#define MUST(cond, ...) must(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Objects in caller memory                                           */
/* ------------------------------------------------------------------ */

/* Every block handed out, freed at the end (valgrind checks for leaks). */
static void *blocks[1024];
static unsigned nblocks;

/*
 * A block of exactly the object's size at its alignment: the library
 * must stay inside `layout.size`, and memcheck sees it if not. Also
 * checks the size fits the bound the header tells C to reserve.
 */
static void *object_mem(uint32_t object, const char *name)
{
	MpathLayout l;
	void *p = NULL;
	size_t align;

	memset(&l, 0, sizeof l);
	if (mpath_object_layout(object, &l) != 0 || l.size == 0 ||
	    l.size > l.reserve || l.align > l.reserve_align) {
		printf("fatal: layout of %s\n", name);
		exit(1);
	}
	/* posix_memalign wants a multiple of sizeof(void *). */
	align = l.align < sizeof(void *) ? sizeof(void *) : (size_t)l.align;
	if (posix_memalign(&p, align, (size_t)l.size) != 0 ||
	    nblocks == sizeof blocks / sizeof blocks[0]) {
		printf("fatal: out of memory\n");
		exit(1);
	}
	blocks[nblocks++] = p;
	return p;
}

static void free_objects(void)
{
	/* Newest first: a device goes before the data plane it publishes to. */
	while (nblocks > 0)
		free(blocks[--nblocks]);
}

static MpathTicket *ticket(void)
{
	MpathTicket *t = mpath_ticket_init(object_mem(MPATH_OBJECT_TICKET, "ticket"));

	MUST(t != NULL, "mpath_ticket_init gives an empty slot");
	return t;
}

struct rig {
	MpathDataPlane *dp;
	MpathCursor *cursor;
	MpathDevice *dev;
	MpathConfig cfg;
};

static void rig_init(struct rig *r, const MpathConfig *cfg)
{
	int err = 0;

	r->cfg = *cfg;
	r->dp = mpath_dataplane_init(object_mem(MPATH_OBJECT_DATA_PLANE, "data plane"), 0);
	MUST(r->dp != NULL, "mpath_dataplane_init");
	r->dev = mpath_device_init(object_mem(MPATH_OBJECT_DEVICE, "device"), r->dp,
				   cfg, MPATH_REGISTRATION_SCOPE_NEXUS, &err);
	MUST(r->dev != NULL && err == 0, "mpath_device_init (err %d)", err);
	r->cursor = mpath_cursor_init(object_mem(MPATH_OBJECT_CURSOR, "cursor"), 0);
	MUST(r->cursor != NULL, "mpath_cursor_init");
}

static MpathConfig default_config(void)
{
	MpathConfig cfg;

	memset(&cfg, 0, sizeof cfg);
	if (mpath_config_default(&cfg) != 0) {
		printf("fatal: mpath_config_default\n");
		exit(1);
	}
	return cfg;
}

static MpathPathSpec spec(uint32_t group, uint32_t nexus)
{
	MpathPathSpec s;

	memset(&s, 0, sizeof s);
	s.group = group;
	s.nexus = nexus;
	s.relative_throughput = 1;
	return s;
}

/* A path over `nexus` whose registrations count for port `nexus`. */
static uint32_t add(struct rig *r, uint32_t group, uint32_t nexus, uint64_t now)
{
	MpathPathSpec s = spec(group, nexus);
	uint32_t id = UINT32_MAX;
	int rc = mpath_add_path(r->dev, &s, nexus, now, &id);

	MUST(rc == 0, "mpath_add_path(group %" PRIu32 ", nexus %" PRIu32
		") == 0 (got %d), id %#" PRIx32, group, nexus, rc, id);
	return id;
}

static MpathIo io(uint64_t tag, uint32_t kind)
{
	MpathIo i;

	memset(&i, 0, sizeof i);
	i.tag = tag;
	i.bytes = 4096;
	i.kind = kind;
	i.retries = 3;
	return i;
}

static MpathCompletion completion(uint32_t outcome, uint32_t detail)
{
	MpathCompletion c;

	memset(&c, 0, sizeof c);
	c.outcome = outcome;
	c.detail = detail;
	return c;
}

static int io_eq(const MpathIo *a, const MpathIo *b)
{
	return a->tag == b->tag && a->bytes == b->bytes && a->kind == b->kind &&
	       a->retries == b->retries;
}

/* The path a live ticket is for, or UINT32_MAX. */
static uint32_t ticket_path(const MpathTicket *t)
{
	MpathTicketInfo info;

	memset(&info, 0, sizeof info);
	return mpath_ticket_info(t, &info) == 0 ? info.path : UINT32_MAX;
}

static uint32_t tier_of(const struct rig *r, uint32_t path)
{
	uint32_t tier = UINT32_MAX;

	return mpath_path_tier(r->dev, path, &tier) == 0 ? tier : UINT32_MAX;
}

static uint64_t selectable(const struct rig *r)
{
	uint64_t mask = 0;

	return mpath_dp_selectable(r->dp, &mask) == 0 ? mask : UINT64_MAX;
}

static unsigned popcount64(uint64_t v)
{
	unsigned n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

/* ------------------------------------------------------------------ */
/* "Nothing changed": a fingerprint of everything C can read          */
/* ------------------------------------------------------------------ */

struct fingerprint {
	MpathDeviceSnapshot dev;
	MpathHead head;
	uint32_t ids[MPATH_MAX_PATHS];
	MpathPathSnapshot paths[MPATH_MAX_PATHS];
	uint32_t reg_state[MPATH_MAX_PATHS];
	int32_t admitted[MPATH_MAX_PATHS];
	int32_t npaths;
	int32_t has_timeout;
	uint64_t timeout;
	uint64_t now;
	uint64_t selectable;
	int32_t has_key;
	uint32_t holder_rc;
	uint64_t key;
	uint32_t holder;
	uint32_t queued;
	uint32_t active_tier;
	int32_t fenced;
	int32_t quiesced;
	/* What each getter returned: a getter that starts failing shows. */
	int32_t rc[8 + 3 * MPATH_MAX_PATHS];
};

static void fingerprint(const struct rig *r, struct fingerprint *f)
{
	int i, n = 0;

	/* Zeroed first so memcmp compares only what the getters wrote. */
	memset(f, 0, sizeof *f);
	f->rc[n++] = mpath_device_snapshot(r->dev, &f->dev);
	f->rc[n++] = mpath_head_state(r->dev, &f->head);
	f->npaths = mpath_path_ids(r->dev, &f->ids);
	for (i = 0; i < f->npaths && i < MPATH_MAX_PATHS; i++) {
		f->rc[n++] = mpath_path_snapshot(r->dev, f->ids[i], &f->paths[i]);
		f->rc[n++] = mpath_pr_state(r->dev, f->ids[i], &f->reg_state[i]);
		f->admitted[i] = mpath_pr_admitted(r->dev, f->ids[i]);
	}
	f->has_timeout = mpath_poll_timeout(r->dev, &f->timeout);
	f->rc[n++] = mpath_now(r->dev, &f->now);
	f->rc[n++] = mpath_dp_selectable(r->dp, &f->selectable);
	f->has_key = mpath_pr_key(r->dev, &f->key);
	f->holder_rc = (uint32_t)mpath_pr_holder(r->dev, &f->holder);
	f->rc[n++] = mpath_queued(r->dev, &f->queued);
	f->rc[n++] = mpath_active_tier(r->dev, &f->active_tier);
	f->fenced = mpath_pr_is_fenced(r->dev);
	f->quiesced = mpath_pr_is_quiesced(r->dev);
}

static void check_unchanged(const struct rig *r, const struct fingerprint *before,
			    const char *what)
{
	struct fingerprint now;

	fingerprint(r, &now);
	CHECK(memcmp(before, &now, sizeof now) == 0, "nothing changed: %s", what);
}

/* ------------------------------------------------------------------ */
/* A small SPC-4 device server (SPC-4 5.13), one I_T nexus per path    */
/* ------------------------------------------------------------------ */

/*
 * Keyed by the path id a command arrives on, as mpath-ffi's Rust tests
 * model it (src/tests/target.rs): enough to answer every command the
 * coordinator sends in a register, reserve and move.
 */
struct target {
	struct {
		uint32_t nexus;
		uint64_t key;
	} regs[MPATH_MAX_PATHS];
	unsigned nregs;
	int has_resv;
	uint32_t resv_holder;
	uint64_t resv_key;
	uint32_t resv_type;
	uint32_t down[MPATH_MAX_PATHS];
	unsigned ndown;
	struct {
		uint32_t nexus;
		uint32_t command;
	} log[256];
	unsigned nlog;
};

static int target_is_down(const struct target *t, uint32_t nexus)
{
	unsigned i;

	for (i = 0; i < t->ndown; i++)
		if (t->down[i] == nexus)
			return 1;
	return 0;
}

static int target_key_of(const struct target *t, uint32_t nexus, uint64_t *key)
{
	unsigned i;

	for (i = 0; i < t->nregs; i++)
		if (t->regs[i].nexus == nexus) {
			*key = t->regs[i].key;
			return 1;
		}
	return 0;
}

static void target_unregister(struct target *t, uint32_t nexus)
{
	unsigned i, j = 0;

	for (i = 0; i < t->nregs; i++)
		if (t->regs[i].nexus != nexus)
			t->regs[j++] = t->regs[i];
	t->nregs = j;
}

static unsigned target_count(const struct target *t, uint64_t key)
{
	unsigned i, n = 0;

	for (i = 0; i < t->nregs; i++)
		n += t->regs[i].key == key;
	return n;
}

static int target_logged(const struct target *t, unsigned from, uint32_t nexus,
			 uint32_t command)
{
	unsigned i;

	for (i = from; i < t->nlog; i++)
		if (t->log[i].nexus == nexus && t->log[i].command == command)
			return 1;
	return 0;
}

static MpathPrReply target_exec(struct target *t, const MpathPrAction *a)
{
	MpathPrReply r;
	uint64_t key = 0;
	int registered;
	unsigned i, j;

	memset(&r, 0, sizeof r);
	if (target_is_down(t, a->via)) {
		r.kind = MPATH_PR_REPLY_KIND_PATH_FAILED;
		return r;
	}
	if (t->nlog < sizeof t->log / sizeof t->log[0]) {
		t->log[t->nlog].nexus = a->via;
		t->log[t->nlog].command = a->command;
		t->nlog++;
	}
	registered = target_key_of(t, a->via, &key);
	r.kind = MPATH_PR_REPLY_KIND_DONE;
	switch (a->command) {
	case MPATH_PR_COMMAND_REGISTER:
		target_unregister(t, a->via);
		t->regs[t->nregs].nexus = a->via;
		t->regs[t->nregs].key = a->key;
		t->nregs++;
		break;
	case MPATH_PR_COMMAND_UNREGISTER:
		target_unregister(t, a->via);
		break;
	case MPATH_PR_COMMAND_READ_KEYS:
		r.kind = MPATH_PR_REPLY_KIND_KEYS;
		r.ours = target_count(t, OURS);
		r.total = t->nregs;
		break;
	case MPATH_PR_COMMAND_READ_RESERVATION:
		r.kind = MPATH_PR_REPLY_KIND_RESERVATION;
		r.has_reservation = (uint8_t)t->has_resv;
		r.holder_key = t->has_resv ? t->resv_key : 0;
		r.rtype = t->has_resv ? t->resv_type : 0;
		break;
	default:
		/* Everything else needs the sender registered with `key`. */
		if (!registered || key != a->key) {
			r.kind = MPATH_PR_REPLY_KIND_CONFLICT;
			break;
		}
		switch (a->command) {
		case MPATH_PR_COMMAND_RESERVE:
			if (!t->has_resv) {
				t->has_resv = 1;
				t->resv_holder = a->via;
				t->resv_key = a->key;
				t->resv_type = a->rtype;
			} else if (t->resv_holder != a->via || t->resv_type != a->rtype) {
				r.kind = MPATH_PR_REPLY_KIND_CONFLICT;
			}
			break;
		case MPATH_PR_COMMAND_RELEASE:
			if (t->has_resv && t->resv_holder == a->via)
				t->has_resv = 0;
			break;
		case MPATH_PR_COMMAND_PREEMPT:
			/*
			 * Removes the victim's registrations but the sender's and
			 * takes the victim's reservation: preempting our own key
			 * from a live nexus moves the reservation there (SPC-4
			 * 5.13.11.4.3).
			 */
			for (i = 0, j = 0; i < t->nregs; i++)
				if (t->regs[i].key != a->victim || t->regs[i].nexus == a->via)
					t->regs[j++] = t->regs[i];
			t->nregs = j;
			if (!t->has_resv || t->resv_key == a->victim) {
				t->has_resv = 1;
				t->resv_holder = a->via;
				t->resv_key = a->key;
				t->resv_type = a->rtype;
			}
			break;
		case MPATH_PR_COMMAND_CLEAR:
			t->nregs = 0;
			t->has_resv = 0;
			break;
		default:
			/* REGISTER AND MOVE is not part of these tests. */
			r.kind = MPATH_PR_REPLY_KIND_REFUSED;
			break;
		}
	}
	/* A single holder no longer registered holds nothing. */
	if (t->has_resv && !target_key_of(t, t->resv_holder, &key))
		t->has_resv = 0;
	return r;
}

/* ------------------------------------------------------------------ */
/* Draining the device's outputs                                      */
/* ------------------------------------------------------------------ */

struct drained {
	MpathAction actions[64];
	unsigned nactions;
	MpathEvent events[64];
	unsigned nevents;
	/* Every answer, probe result and completion was accepted. */
	int accepted;
};

/*
 * The call order: poll actions until 0, carrying each out as a transport
 * would (reservation commands on `t`, probes answered by whether `t`
 * reaches the path, dispatched I/O completed: a path error on a path `t`
 * cannot reach), then poll events until 0.
 */
static void drive(struct rig *r, struct target *t, uint64_t now, struct drained *d)
{
	MpathTicket *slot = ticket();
	MpathAction a;
	MpathEvent e;
	MpathDisposition disp;
	MpathCompletion c;
	MpathPrReply reply;
	int rc, guard;

	memset(d, 0, sizeof *d);
	d->accepted = 1;
	for (guard = 0; guard < 1000; guard++) {
		memset(&a, 0, sizeof a);
		rc = mpath_poll_action(r->dev, &a, slot);
		if (rc != 1) {
			d->accepted &= rc == 0;
			break;
		}
		if (d->nactions < sizeof d->actions / sizeof d->actions[0])
			d->actions[d->nactions++] = a;
		switch (a.kind) {
		case MPATH_ACTION_KIND_RESERVATION:
			d->accepted &= a.path == a.pr.via;
			reply = target_exec(t, &a.pr);
			d->accepted &= mpath_handle_reservation_reply(r->dev, a.pr.via,
								      &reply, now) == 0;
			break;
		case MPATH_ACTION_KIND_PROBE:
			d->accepted &= mpath_handle_probe(r->dev, a.path,
							  target_is_down(t, a.path)
								  ? MPATH_PROBE_RESULT_DOWN
								  : MPATH_PROBE_RESULT_UP,
							  now) == 0;
			break;
		case MPATH_ACTION_KIND_DISPATCH:
			c = target_is_down(t, a.path)
				    ? completion(MPATH_OUTCOME_PATH_ERROR,
						 MPATH_PATH_ERROR_TRANSPORT)
				    : completion(MPATH_OUTCOME_SUCCESS, 0);
			d->accepted &= mpath_handle_completion(r->dev, slot, &c, now,
							       &disp) == 0;
			/* Not sent again in these tests: the slot is free. */
			d->accepted &= mpath_ticket_is_live(slot) == 0;
			break;
		default:
			break;
		}
	}
	while ((rc = mpath_poll_event(r->dev, &e)) == 1)
		if (d->nevents < sizeof d->events / sizeof d->events[0])
			d->events[d->nevents++] = e;
	d->accepted &= rc == 0;
}

static int has_event(const struct drained *d, uint32_t kind, uint32_t path)
{
	unsigned i;

	for (i = 0; i < d->nevents; i++)
		if (d->events[i].kind == kind && d->events[i].path == path)
			return 1;
	return 0;
}

static const MpathPrEvent *pr_event(const struct drained *d, uint32_t pr_kind)
{
	unsigned i;

	for (i = 0; i < d->nevents; i++)
		if (d->events[i].kind == MPATH_EVENT_KIND_RESERVATION &&
		    d->events[i].pr.kind == pr_kind)
			return &d->events[i].pr;
	return NULL;
}

static unsigned count_actions(const struct drained *d, uint32_t kind)
{
	unsigned i, n = 0;

	for (i = 0; i < d->nactions; i++)
		n += d->actions[i].kind == kind;
	return n;
}

static MpathPrOp pr_op(uint32_t kind, uint64_t key, uint32_t rtype)
{
	MpathPrOp op;

	memset(&op, 0, sizeof op);
	op.kind = kind;
	op.key = key;
	op.rtype = rtype;
	return op;
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                          */
/* ------------------------------------------------------------------ */

static void test_layouts(void)
{
	static const struct {
		uint32_t object;
		uint64_t reserve, align;
		const char *name;
	} objects[] = {
		{ MPATH_OBJECT_DATA_PLANE, MPATH_DATAPLANE_SIZE, MPATH_DATAPLANE_ALIGN, "data plane" },
		{ MPATH_OBJECT_CURSOR, MPATH_CURSOR_SIZE, MPATH_CURSOR_ALIGN, "cursor" },
		{ MPATH_OBJECT_DEVICE, MPATH_DEVICE_SIZE, MPATH_DEVICE_ALIGN, "device" },
		{ MPATH_OBJECT_TICKET, MPATH_TICKET_SIZE, MPATH_TICKET_ALIGN, "ticket" },
	};
	MpathLayout l, untouched;
	unsigned i;

	printf("# layouts\n");
	for (i = 0; i < sizeof objects / sizeof objects[0]; i++) {
		memset(&l, 0, sizeof l);
		RC(mpath_object_layout(objects[i].object, &l), 0);
		CHECK(l.size > 0 && l.size <= l.reserve && l.align <= l.reserve_align &&
			      l.reserve == objects[i].reserve &&
			      l.reserve_align == objects[i].align,
		      "%s: %" PRIu64 " B at %" PRIu64 " fit the header's %" PRIu64
		      " B at %" PRIu64, objects[i].name, l.size, l.align,
		      objects[i].reserve, objects[i].align);
	}
	/* 3 was the retired coordinator object: refused, not reused. */
	memset(&l, 0x5a, sizeof l);
	untouched = l;
	RC(mpath_object_layout(3, &l), -EINVAL);
	CHECK(memcmp(&l, &untouched, sizeof l) == 0, "a refused layout leaves *out alone");
	RC(mpath_object_layout(MPATH_OBJECT_DEVICE, NULL), -EFAULT);
}

static void test_selection(void)
{
	struct rig r;
	MpathConfig cfg = default_config();
	MpathTicket *slots[8];
	MpathIo read = io(1, MPATH_IO_KIND_READ), done;
	MpathDisposition d;
	MpathCompletion ok = completion(MPATH_OUTCOME_SUCCESS, 0);
	MpathQueueStats st;
	MpathEvent e;
	MpathSelectorParams params;
	uint32_t a, b, p, policy = UINT32_MAX, tier = UINT32_MAX, ids[MPATH_MAX_PATHS];
	unsigned i, on_a = 0, on_b = 0, reinstated = 0, active = 0;
	uint64_t now = MS;

	printf("# selection\n");
	rig_init(&r, &cfg);
	RC(mpath_dp_policy(r.dp, &policy), 0);
	CHECK(policy == MPATH_POLICY_ROUND_ROBIN, "the default policy is round-robin");
	RC(mpath_dp_submit(r.dp, r.cursor, &read, now, slots[0] = ticket()), 0);
	CHECK(mpath_ticket_is_live(slots[0]) == 0, "no path yet: nothing started");
	a = add(&r, 1, 10, 0);
	b = add(&r, 1, 11, 0);
	CHECK(a != b, "two paths, two ids (%#" PRIx32 ", %#" PRIx32 ")", a, b);
	RC(mpath_path_ids(r.dev, &ids), 2);
	CHECK(ids[0] == a && ids[1] == b, "mpath_path_ids lists them in slot order");
	while (mpath_poll_event(r.dev, &e) == 1) {
		reinstated += e.kind == MPATH_EVENT_KIND_PATH_REINSTATED &&
			      e.tier == MPATH_TIER_OPTIMIZED;
		active += e.kind == MPATH_EVENT_KIND_ACTIVE_TIER &&
			  e.tier == MPATH_TIER_OPTIMIZED;
	}
	CHECK(reinstated == 2 && active == 1,
	      "events: both paths reinstated optimized, then the active tier");
	RC(mpath_active_tier(r.dev, &tier), 0);
	CHECK(tier == MPATH_TIER_OPTIMIZED, "active tier optimized");
	CHECK(popcount64(selectable(&r)) == 2, "both paths selectable on the data plane");

	/* Round-robin on the data plane spreads eight reads over both. */
	for (i = 0; i < 8; i++) {
		if (i > 0)
			slots[i] = ticket();
		read.tag = 100 + i;
		if (mpath_dp_submit(r.dp, r.cursor, &read, now, slots[i]) != 1)
			break;
		p = ticket_path(slots[i]);
		on_a += p == a;
		on_b += p == b;
	}
	CHECK(i == 8, "mpath_dp_submit started 8 reads");
	CHECK(on_a + on_b == 8 && on_a > 0 && on_b > 0,
	      "round-robin used both paths (%u on a, %u on b)", on_a, on_b);
	RC(mpath_dp_submit(r.dp, r.cursor, &read, now, slots[0]), -EEXIST);
	for (i = 0; i < 8; i++) {
		memset(&done, 0, sizeof done);
		if (mpath_dp_complete(r.dp, r.cursor, slots[i], now + MS, &done) != 0 ||
		    done.tag != 100 + i || mpath_ticket_is_live(slots[i]) != 0)
			break;
	}
	CHECK(i == 8, "mpath_dp_complete ended each with its own I/O and emptied the slot");
	RC(mpath_dp_complete(r.dp, r.cursor, slots[0], now + MS, &done), -ENOENT);
	memset(&st, 0, sizeof st);
	RC(mpath_cursor_stats(r.cursor, a, &st), 1);
	CHECK(st.started == on_a && st.completed == on_a && st.bytes == 4096u * on_a,
	      "the cursor counted a's I/Os (%" PRIu64 " started, %" PRIu64 " done)",
	      st.started, st.completed);

	/* The device's own submission: dispatched with its ticket. */
	now = 3 * MS;
	read.tag = 200;
	memset(&d, 0, sizeof d);
	RC(mpath_submit(r.dev, &read, now, &d, slots[0]), 0);
	CHECK(d.kind == MPATH_DISPOSITION_KIND_DISPATCH && (d.path == a || d.path == b) &&
		      io_eq(&d.io, &read),
	      "mpath_submit dispatches on a path");
	CHECK(ticket_path(slots[0]) == d.path, "the ticket in the slot is for that path");
	RC(mpath_handle_completion(r.dev, slots[0], &ok, now + MS, &d), 0);
	CHECK(d.kind == MPATH_DISPOSITION_KIND_DONE && d.io_error == MPATH_IO_ERROR_OK &&
		      d.errno_code == 0 && d.io.tag == 200,
	      "a success through mpath_handle_completion is done, errno 0");
	CHECK(mpath_ticket_is_live(slots[0]) == 0, "and the slot is empty");

	/* Queue-depth: select + start, one I/O held on a path; the next
	 * selection takes the idle one. */
	now = 5 * MS;
	memset(&params, 0, sizeof params);
	RC(mpath_set_policy(r.dev, MPATH_POLICY_QUEUE_DEPTH, &params, now), 0);
	RC(mpath_dp_policy(r.dp, &policy), 0);
	CHECK(policy == MPATH_POLICY_QUEUE_DEPTH, "the data plane took queue-depth");
	p = UINT32_MAX;
	RC(mpath_dp_select(r.dp, r.cursor, &read, now, &p), 1);
	RC(mpath_dp_start(r.dp, r.cursor, p, &read, now, slots[1]), 1);
	RC(mpath_dp_is_current(r.dp, p), 1);
	for (i = 0; i < 4; i++) {
		uint32_t q = UINT32_MAX;

		if (mpath_dp_select(r.dp, r.cursor, &read, now, &q) != 1 || q == p)
			break;
	}
	CHECK(i == 4, "queue-depth keeps choosing the path with nothing in flight");
	RC(mpath_dp_complete(r.dp, r.cursor, slots[1], now, &done), 0);

	/* The build-time queue-depth entry point, on a busy CPU (three
	 * submits at one instant): the first is published to other CPUs at
	 * once, the next two stay in this cursor's part of the load until it
	 * parks. */
	now = 7 * MS;
	for (i = 0; i < 3; i++) {
		read.tag = 300 + i;
		if (mpath_dp_submit_queue_depth(r.dp, r.cursor, &read, now, slots[2 + i]) != 1)
			break;
	}
	CHECK(i == 3, "mpath_dp_submit_queue_depth started 3 reads");
	CHECK(ticket_path(slots[2]) != ticket_path(slots[3]),
	      "queue-depth spread them (%#" PRIx32 ", %#" PRIx32 ")", ticket_path(slots[2]),
	      ticket_path(slots[3]));
	{
		int32_t held_ios = 0;
		int64_t held_bytes = -1;
		uint32_t published = 0, held = 0, s;

		for (s = 0; s < 2; s++) {
			uint32_t n = UINT32_MAX;

			RC(mpath_cursor_unpublished(r.cursor, s, &held_ios, &held_bytes), 0);
			held += (uint32_t)held_ios;
			RC(mpath_dp_inflight(r.dp, s, &n), 0);
			published += n;
		}
		CHECK(published == 1 && held == 2 && held_bytes == 0,
		      "1 published, 2 held back (%" PRIu32 ", %" PRIu32 ")", published, held);
		RC(mpath_dp_park(r.dp, r.cursor), 0);
		published = 0;
		for (s = 0; s < 2; s++) {
			uint32_t n = UINT32_MAX;

			RC(mpath_cursor_unpublished(r.cursor, s, &held_ios, &held_bytes), 0);
			CHECK(held_ios == 0, "parked: nothing held on slot %" PRIu32, s);
			RC(mpath_dp_inflight(r.dp, s, &n), 0);
			published += n;
		}
		CHECK(published == 3, "parked: all 3 published");
	}
	for (i = 0; i < 3; i++)
		RC(mpath_dp_complete(r.dp, r.cursor, slots[2 + i], now, &done), 0);
}

static void test_read_failover(void)
{
	struct rig r;
	MpathConfig cfg = default_config();
	MpathTicket *slot;
	MpathIo read = io(7, MPATH_IO_KIND_READ), done;
	MpathDisposition d;
	MpathCompletion failed = completion(MPATH_OUTCOME_PATH_ERROR, MPATH_PATH_ERROR_TRANSPORT);
	MpathEvent e;
	MpathDeviceSnapshot snap;
	uint32_t a, b, first, other;
	unsigned nevents = 0, path_failed = 0;

	printf("# a read fails over at once\n");
	rig_init(&r, &cfg);
	a = add(&r, 1, 10, 0);
	b = add(&r, 1, 11, 0);
	while (mpath_poll_event(r.dev, &e) == 1)
		;
	slot = ticket();
	RC(mpath_dp_submit(r.dp, r.cursor, &read, MS, slot), 1);
	first = ticket_path(slot);
	other = first == a ? b : a;
	CHECK(first == a || first == b, "started on one of the two paths");
	memset(&d, 0, sizeof d);
	RC(mpath_handle_completion(r.dev, slot, &failed, 2 * MS, &d), 0);
	CHECK(d.kind == MPATH_DISPOSITION_KIND_DISPATCH && d.path == other && d.io.tag == 7,
	      "the failed read is dispatched again at once, on the other path");
	CHECK(mpath_ticket_is_live(slot) == 1 && ticket_path(slot) == other,
	      "its new ticket is in the same slot, for the other path");
	CHECK(tier_of(&r, first) == MPATH_TIER_INELIGIBLE, "the failed path is ineligible");
	while (mpath_poll_event(r.dev, &e) == 1) {
		nevents++;
		path_failed += e.kind == MPATH_EVENT_KIND_PATH_FAILED && e.path == first;
	}
	CHECK(nevents == 1 && path_failed == 1,
	      "one event: PathFailed for the failed path (the tier in use stays)");
	memset(&done, 0, sizeof done);
	RC(mpath_dp_complete(r.dp, r.cursor, slot, 3 * MS, &done), 0);
	CHECK(io_eq(&done, &read), "the read completes on the data plane as submitted");
	memset(&snap, 0, sizeof snap);
	RC(mpath_device_snapshot(r.dev, &snap), 0);
	CHECK(snap.counters.failovers == 1 && snap.paths == 2 && snap.selectable == 1,
	      "snapshot: 1 failover, 2 paths, 1 selectable");
}

static void test_write_quiesce(void)
{
	struct rig r;
	MpathConfig cfg = default_config();
	MpathTicket *slot, *scratch;
	MpathIo write = io(9, MPATH_IO_KIND_WRITE), done;
	MpathDisposition d;
	MpathCompletion timeout = completion(MPATH_OUTCOME_PATH_ERROR, MPATH_PATH_ERROR_TIMEOUT);
	MpathAction action;
	MpathEvent e;
	uint32_t a, b, first, other, queued = UINT32_MAX;
	uint64_t failed_at = 2 * MS, release, wake = 0;
	unsigned dispatched = 0, probed = 0;
	int rc;

	printf("# a failed write waits for the quiesce time\n");
	CHECK(cfg.quiesce_time_ns == 100 * MS, "default quiesce time 100 ms");
	rig_init(&r, &cfg);
	a = add(&r, 1, 10, 0);
	b = add(&r, 1, 11, 0);
	while (mpath_poll_event(r.dev, &e) == 1)
		;
	slot = ticket();
	/* Adding paths made the head live: that action first. */
	RC(mpath_poll_action(r.dev, &action, slot), 1);
	CHECK(action.kind == MPATH_ACTION_KIND_HEAD_LIVE, "HeadLive after the first path");
	RC(mpath_poll_action(r.dev, &action, slot), 0);
	memset(&d, 0, sizeof d);
	RC(mpath_submit(r.dev, &write, MS, &d, slot), 0);
	CHECK(d.kind == MPATH_DISPOSITION_KIND_DISPATCH, "the write is dispatched");
	first = ticket_path(slot);
	other = first == a ? b : a;
	RC(mpath_handle_completion(r.dev, slot, &timeout, failed_at, &d), 0);
	CHECK(d.kind == MPATH_DISPOSITION_KIND_QUEUED,
	      "the failed write is held (Queued), not dispatched");
	CHECK(mpath_ticket_is_live(slot) == 0, "its slot is empty while held");
	RC(mpath_queued(r.dev, &queued), 0);
	CHECK(queued == 1, "the device holds 1 I/O");
	/* Before its time nothing goes out, even with the other path free;
	 * the failed path is probed at once (left unanswered here). */
	while ((rc = mpath_poll_action(r.dev, &action, slot)) == 1) {
		dispatched += action.kind == MPATH_ACTION_KIND_DISPATCH;
		probed += action.kind == MPATH_ACTION_KIND_PROBE && action.path == first;
	}
	CHECK(rc == 0 && dispatched == 0 && mpath_ticket_is_live(slot) == 0,
	      "right after the failure: no dispatch");
	CHECK(probed == 1, "the failed path is probed");
	while (mpath_poll_event(r.dev, &e) == 1)
		;

	release = failed_at + cfg.quiesce_time_ns;
	RC(mpath_poll_timeout(r.dev, &wake), 1);
	CHECK(wake == release, "mpath_poll_timeout says the failure + quiesce time "
	      "(%" PRIu64 " ns, want %" PRIu64 ")", wake, release);
	RC(mpath_handle_timeout(r.dev, release - 1), 0);
	dispatched = 0;
	scratch = ticket();
	while (mpath_poll_action(r.dev, &action, scratch) == 1)
		dispatched += action.kind == MPATH_ACTION_KIND_DISPATCH;
	CHECK(dispatched == 0 && mpath_ticket_is_live(scratch) == 0,
	      "1 ns before the quiesce time: not dispatched");
	RC(mpath_poll_timeout(r.dev, &wake), 1);
	CHECK(wake == release, "the deadline is still armed");

	RC(mpath_handle_timeout(r.dev, release), 0);
	while ((rc = mpath_poll_action(r.dev, &action, slot)) == 1) {
		if (action.kind == MPATH_ACTION_KIND_DISPATCH) {
			dispatched++;
			CHECK(io_eq(&action.io, &write) && action.path == other &&
				      ticket_path(slot) == other,
			      "at the quiesce time: the write is dispatched on the other path");
			memset(&done, 0, sizeof done);
			RC(mpath_dp_complete(r.dp, r.cursor, slot, release, &done), 0);
			CHECK(io_eq(&done, &write), "and completes");
		}
	}
	CHECK(rc == 0 && dispatched == 1, "exactly one dispatch");
	RC(mpath_queued(r.dev, &queued), 0);
	CHECK(queued == 0, "nothing held any more");
}

static void test_reservation_move(void)
{
	struct rig r;
	struct target t;
	struct drained dr;
	MpathConfig cfg = default_config();
	MpathPrOp op;
	const MpathPrEvent *ev;
	MpathTicket *slot;
	MpathIo write = io(21, MPATH_IO_KIND_WRITE), done;
	uint32_t a, b, old = UINT32_MAX, new_holder, st = UINT32_MAX, rtype = UINT32_MAX, h;
	uint64_t key = 0, now;
	unsigned sent_before, i, preempts = 0;

	printf("# a reservation moves when its holder's path dies\n");
	memset(&t, 0, sizeof t);
	rig_init(&r, &cfg);
	a = add(&r, 1, 10, 0);
	b = add(&r, 1, 11, 0);
	drive(&r, &t, 0, &dr);
	CHECK(dr.accepted, "paths added, outputs drained");
	RC(mpath_pr_key_active(r.dev), 0);
	RC(mpath_pr_admitted(r.dev, a), 1);
	RC(mpath_pr_key(r.dev, &key), 0);

	op = pr_op(MPATH_PR_OP_KIND_REGISTER, OURS, 0);
	RC(mpath_reservation(r.dev, &op, MS), 0);
	RC(mpath_reservation(r.dev, &op, MS), -EAGAIN);
	drive(&r, &t, MS, &dr);
	CHECK(dr.accepted, "register: every command answered and accepted");
	CHECK(count_actions(&dr, MPATH_ACTION_KIND_RESERVATION) >= 2,
	      "register sent commands (%u)", count_actions(&dr, MPATH_ACTION_KIND_RESERVATION));
	ev = pr_event(&dr, MPATH_PR_EVENT_KIND_FINISHED);
	CHECK(ev != NULL && ev->result == 0 && ev->op.kind == MPATH_PR_OP_KIND_REGISTER &&
		      ev->op.key == OURS,
	      "Finished event: register succeeded");
	CHECK(ev != NULL && popcount64(ev->report.registered) == 2 && ev->report.failed == 0,
	      "its report: 2 path slots registered, none failed");
	CHECK(target_count(&t, OURS) == 2, "the target holds our key on both nexuses");
	RC(mpath_pr_key(r.dev, &key), 1);
	CHECK(key == OURS, "mpath_pr_key is ours");
	RC(mpath_pr_key_active(r.dev), 1);
	RC(mpath_pr_state(r.dev, a, &st), 0);
	CHECK(st == MPATH_REG_STATE_REGISTERED, "path a registered");
	RC(mpath_pr_state(r.dev, b, &st), 0);
	CHECK(st == MPATH_REG_STATE_REGISTERED, "path b registered");

	op = pr_op(MPATH_PR_OP_KIND_RESERVE, 0, MPATH_PR_TYPE_WRITE_EXCLUSIVE);
	RC(mpath_reservation(r.dev, &op, 2 * MS), 0);
	drive(&r, &t, 2 * MS, &dr);
	CHECK(dr.accepted, "reserve: every command answered and accepted");
	ev = pr_event(&dr, MPATH_PR_EVENT_KIND_FINISHED);
	CHECK(ev != NULL && ev->result == 0 && ev->op.kind == MPATH_PR_OP_KIND_RESERVE,
	      "Finished event: reserve succeeded");
	RC(mpath_pr_holder(r.dev, &old), 1);
	CHECK(old == a || old == b, "a single holder path");
	CHECK(t.has_resv && t.resv_holder == old && t.resv_key == OURS &&
		      t.resv_type == MPATH_PR_TYPE_WRITE_EXCLUSIVE,
	      "the target agrees: held on that nexus, Write Exclusive, our key");
	RC(mpath_pr_reservation(r.dev, &rtype), 1);
	CHECK(rtype == MPATH_PR_TYPE_WRITE_EXCLUSIVE, "mpath_pr_reservation: Write Exclusive");
	new_holder = old == a ? b : a;

	/* The holder's link dies: the transport says so. */
	now = 10 * MS;
	t.down[t.ndown++] = old;
	sent_before = t.nlog;
	RC(mpath_handle_link(r.dev, old, MPATH_LINK_EVENT_DOWN, now), 0);
	drive(&r, &t, now, &dr);
	CHECK(dr.accepted, "the move: every command answered and accepted");
	CHECK(has_event(&dr, MPATH_EVENT_KIND_PATH_FAILED, old), "PathFailed for the old holder");
	ev = pr_event(&dr, MPATH_PR_EVENT_KIND_MOVED);
	CHECK(ev != NULL && ev->holder == new_holder,
	      "Moved event names the other path as holder");
	CHECK(target_logged(&t, sent_before, new_holder, MPATH_PR_COMMAND_READ_RESERVATION),
	      "the coordinator read the reservation through the live path");
	for (i = 0; i < dr.nactions; i++) {
		const MpathPrAction *p = &dr.actions[i].pr;

		preempts += dr.actions[i].kind == MPATH_ACTION_KIND_RESERVATION &&
			    p->command == MPATH_PR_COMMAND_PREEMPT && p->via == new_holder &&
			    p->key == OURS && p->victim == OURS &&
			    p->rtype == MPATH_PR_TYPE_WRITE_EXCLUSIVE && p->abort == 0;
	}
	CHECK(preempts == 1, "and preempted our own key from it (PREEMPT, not ABORT)");
	CHECK(t.has_resv && t.resv_holder == new_holder && t.resv_key == OURS,
	      "the target holds the reservation on the new nexus");
	h = UINT32_MAX;
	RC(mpath_pr_holder(r.dev, &h), 1);
	CHECK(h == new_holder, "mpath_pr_holder follows");
	RC(mpath_pr_reservation(r.dev, &rtype), 1);
	CHECK(rtype == MPATH_PR_TYPE_WRITE_EXCLUSIVE, "same type");
	RC(mpath_pr_admitted(r.dev, old), 0);
	RC(mpath_pr_is_up(r.dev, old), 0);
	RC(mpath_pr_state(r.dev, old, &st), 0);
	CHECK(st == MPATH_REG_STATE_STALE, "the dead nexus's registration is stale");
	RC(mpath_pr_admitted(r.dev, new_holder), 1);
	RC(mpath_pr_is_quiesced(r.dev), 0);
	RC(mpath_pr_is_fenced(r.dev), 0);
	CHECK(selectable(&r) != UINT64_MAX && popcount64(selectable(&r)) == 1,
	      "one path selectable");

	/* A write now goes to the new holder. */
	slot = ticket();
	RC(mpath_dp_submit(r.dp, r.cursor, &write, 11 * MS, slot), 1);
	CHECK(ticket_path(slot) == new_holder, "a new write goes out on the new holder");
	RC(mpath_dp_complete(r.dp, r.cursor, slot, 12 * MS, &done), 0);
}

/* ---- refusals ---- */

static void test_null_and_codes(void)
{
	struct rig r;
	struct fingerprint before;
	MpathConfig cfg = default_config(), bad_cfg;
	MpathTicket *slot = ticket();
	MpathIo read = io(1, MPATH_IO_KIND_READ), bad_io;
	MpathDisposition d;
	MpathCompletion bad_c[5];
	MpathPrOp bad_op;
	MpathPrReply bad_reply;
	MpathGroupAccess access;
	MpathSelectorParams params;
	MpathEvent e;
	MpathDeviceSnapshot snap;
	uint32_t a, u = 0;
	uint64_t u64 = 0;
	int err = 0;
	unsigned i;

	printf("# NULL pointers and codes outside their tables\n");
	rig_init(&r, &cfg);
	a = add(&r, 1, 10, 0);
	while (mpath_poll_event(r.dev, &e) == 1)
		;
	fingerprint(&r, &before);

	RC(mpath_fail_path(NULL, a, MS), -EFAULT);
	RC(mpath_handle_timeout(NULL, MS), -EFAULT);
	RC(mpath_poll_action(r.dev, NULL, slot), -EFAULT);
	RC(mpath_poll_event(r.dev, NULL), -EFAULT);
	RC(mpath_poll_event(NULL, &e), -EFAULT);
	RC(mpath_poll_timeout(NULL, &u64), -EFAULT);
	RC(mpath_submit(r.dev, NULL, MS, &d, slot), -EFAULT);
	RC(mpath_submit(r.dev, &read, MS, &d, NULL), -EFAULT);
	RC(mpath_dp_submit(NULL, r.cursor, &read, MS, slot), -EFAULT);
	RC(mpath_dp_select(r.dp, NULL, &read, MS, &u), -EFAULT);
	RC(mpath_add_path(r.dev, NULL, 11, MS, &u), -EFAULT);
	RC(mpath_device_snapshot(NULL, &snap), -EFAULT);
	RC(mpath_device_snapshot(r.dev, NULL), -EFAULT);
	RC(mpath_pr_holder(r.dev, NULL), -EFAULT);
	RC(mpath_pr_is_fenced(NULL), -EFAULT);
	RC(mpath_ticket_is_live(NULL), -EFAULT);
	RC(mpath_config_default(NULL), -EFAULT);
	CHECK(mpath_ticket_init(NULL) == NULL, "mpath_ticket_init(NULL) is NULL");
	CHECK(mpath_dataplane_init(NULL, 0) == NULL, "mpath_dataplane_init(NULL) is NULL");
	CHECK(mpath_device_init(object_mem(MPATH_OBJECT_DEVICE, "device"), NULL, &cfg,
				MPATH_REGISTRATION_SCOPE_NEXUS, &err) == NULL &&
		      err == -EFAULT,
	      "mpath_device_init with a NULL data plane: NULL, *err -EFAULT");
	CHECK(mpath_ticket_is_live(slot) == 0, "the slot is still empty");
	check_unchanged(&r, &before, "after the NULL refusals");

	/* Codes outside their tables. */
	RC(mpath_handle_probe(r.dev, a, 99, MS), -EINVAL);
	RC(mpath_handle_link(r.dev, a, UINT32_MAX, MS), -EINVAL);
	memset(&params, 0, sizeof params);
	RC(mpath_set_policy(r.dev, 6, &params, MS), -EINVAL);
	RC(mpath_set_no_path_policy(r.dev, 3, 0, MS), -EINVAL);
	RC(mpath_handle_notices(r.dev, a, 1u << 8, MS), -EINVAL);
	RC(mpath_handle_refresh_result(r.dev, a, 2, MS), -EINVAL);
	memset(&access, 0, sizeof access);
	access.state = 10;
	RC(mpath_handle_access_state(r.dev, 1, &access, MS), -EINVAL);
	access.state = MPATH_ACCESS_STATE_OPTIMIZED;
	access.preferred = 2;
	RC(mpath_handle_access_state(r.dev, 1, &access, MS), -EINVAL);
	RC(mpath_io_error_errno(8, 0), -EINVAL);
	RC(mpath_io_error_errno(MPATH_IO_ERROR_FENCED, 0), -EBADE);
	bad_cfg = cfg;
	bad_cfg.failback = 4;
	RC(mpath_config_validate(&bad_cfg), -EINVAL);
	err = 0;
	CHECK(mpath_device_init(object_mem(MPATH_OBJECT_DEVICE, "device"), r.dp, &bad_cfg,
				MPATH_REGISTRATION_SCOPE_NEXUS, &err) == NULL &&
		      err == -EINVAL,
	      "mpath_device_init with failback code 4: NULL, *err -EINVAL");
	err = 0;
	CHECK(mpath_device_init(object_mem(MPATH_OBJECT_DEVICE, "device"), r.dp, &cfg, 3,
				&err) == NULL &&
		      err == -EINVAL,
	      "mpath_device_init with registration scope 3: NULL, *err -EINVAL");
	bad_op = pr_op(9, 0, 0);
	RC(mpath_reservation(r.dev, &bad_op, MS), -EINVAL);
	bad_op = pr_op(MPATH_PR_OP_KIND_RESERVE, 0, 6);
	RC(mpath_reservation(r.dev, &bad_op, MS), -EINVAL);
	bad_op = pr_op(MPATH_PR_OP_KIND_PREEMPT, 0, 0);
	bad_op.abort = 2;
	RC(mpath_reservation(r.dev, &bad_op, MS), -EINVAL);
	memset(&bad_reply, 0, sizeof bad_reply);
	bad_reply.kind = 6;
	RC(mpath_handle_reservation_reply(r.dev, a, &bad_reply, MS), -EINVAL);
	check_unchanged(&r, &before, "after the codes outside their tables");

	/* A bad I/O kind starts nothing; a bad completion leaves the ticket. */
	bad_io = read;
	bad_io.kind = 2;
	RC(mpath_dp_submit(r.dp, r.cursor, &bad_io, MS, slot), -EINVAL);
	RC(mpath_submit(r.dev, &bad_io, MS, &d, slot), -EINVAL);
	CHECK(mpath_ticket_is_live(slot) == 0, "a bad I/O kind left the slot empty");
	RC(mpath_dp_submit(r.dp, r.cursor, &read, MS, slot), 1);
	fingerprint(&r, &before);
	bad_c[0] = completion(5, 0);
	bad_c[1] = completion(MPATH_OUTCOME_PATH_ERROR, 6);
	bad_c[2] = completion(MPATH_OUTCOME_TARGET_ERROR, 7);
	bad_c[3] = completion(MPATH_OUTCOME_RETRY, 4);
	bad_c[4] = completion(MPATH_OUTCOME_SUCCESS, 0);
	bad_c[4].notices = 1u << 16;
	for (i = 0; i < 5; i++) {
		RC(mpath_handle_completion(r.dev, slot, &bad_c[i], 2 * MS, &d), -EINVAL);
		CHECK(mpath_ticket_is_live(slot) == 1 && ticket_path(slot) == a,
		      "bad completion %u: the ticket stays in its slot", i);
	}
	check_unchanged(&r, &before, "after the bad completions");
	RC(mpath_dp_complete(r.dp, r.cursor, slot, 2 * MS, &read), 0);
}

static void test_foreign_stale_time(void)
{
	struct rig r, other;
	struct target t;
	struct drained dr;
	struct fingerprint before;
	MpathConfig cfg = default_config();
	MpathTicket *foreign, *slot, *spare;
	MpathIo read = io(1, MPATH_IO_KIND_READ), held = io(2, MPATH_IO_KIND_WRITE), done;
	MpathDisposition d;
	MpathCompletion failed = completion(MPATH_OUTCOME_PATH_ERROR, MPATH_PATH_ERROR_TRANSPORT);
	MpathCompletion ok = completion(MPATH_OUTCOME_SUCCESS, 0);
	MpathPrReply reply;
	MpathPrOp reg = pr_op(MPATH_PR_OP_KIND_REGISTER, OURS, 0);
	MpathAction pending;
	MpathGroupAccess access;
	MpathSelectorParams params;
	MpathPathSnapshot psnap;
	MpathPathSpec s = spec(1, 12);
	MpathPrDestination dest;
	uint32_t a, b, gone, never = 63, u = 0, one = 1;
	uint32_t dev_id = 0, other_id = 0;
	uint64_t past = 5 * MS;
	int rcs[24];
	unsigned i, n;

	printf("# a foreign ticket, a stale path id, time going backwards\n");
	memset(&t, 0, sizeof t);
	rig_init(&r, &cfg);
	a = add(&r, 1, 10, 0);
	b = add(&r, 2, 11, 0);
	gone = add(&r, 1, 12, 0);
	RC(mpath_remove_path(r.dev, gone, 0), 0);
	drive(&r, &t, 0, &dr);
	CHECK(dr.accepted, "three paths added, one removed");

	/* Another device, with an I/O started on its own first path. */
	rig_init(&other, &cfg);
	add(&other, 1, 10, 0);
	RC(mpath_dp_device_id(r.dp, &dev_id), 0);
	RC(mpath_dp_device_id(other.dp, &other_id), 0);
	CHECK(dev_id != other_id && dev_id != 0 && other_id != 0,
	      "two data planes, two device ids (%" PRIu32 ", %" PRIu32 ")", dev_id, other_id);
	foreign = ticket();
	RC(mpath_dp_submit(other.dp, other.cursor, &read, MS, foreign), 1);
	fingerprint(&r, &before);
	RC(mpath_handle_completion(r.dev, foreign, &failed, MS, &d), -EXDEV);
	RC(mpath_dp_complete(r.dp, r.cursor, foreign, MS, &done), -EXDEV);
	CHECK(mpath_ticket_is_live(foreign) == 1, "the foreign ticket is handed back, still live");
	/* The other device's cursor: bound to its data plane by the submit
	 * above, its credits are that pool's. */
	spare = ticket();
	RC(mpath_dp_submit(r.dp, other.cursor, &read, MS, spare), -EXDEV);
	RC(mpath_dp_select(r.dp, other.cursor, &read, MS, &u), -EXDEV);
	RC(mpath_dp_start(r.dp, other.cursor, a, &read, MS, spare), -EXDEV);
	RC(mpath_dp_release_credits(r.dp, other.cursor), -EXDEV);
	RC(mpath_dp_park(r.dp, other.cursor), -EXDEV);
	RC(mpath_dp_submit_service_time(r.dp, other.cursor, &read, MS, spare), -EXDEV);
	CHECK(mpath_ticket_is_live(spare) == 0, "nothing started with another device's cursor");
	check_unchanged(&r, &before, "after another device's ticket and cursor");
	RC(mpath_dp_complete(other.dp, other.cursor, foreign, MS, &done), 0);

	/* A removed path's id (-ESTALE), an id this device never had (-EINVAL). */
	memset(&reply, 0, sizeof reply);
	RC(mpath_fail_path(r.dev, gone, MS), -ESTALE);
	RC(mpath_handle_probe(r.dev, gone, MPATH_PROBE_RESULT_UP, MS), -ESTALE);
	RC(mpath_handle_link(r.dev, gone, MPATH_LINK_EVENT_UP, MS), -ESTALE);
	RC(mpath_handle_reservation_reply(r.dev, gone, &reply, MS), -ESTALE);
	RC(mpath_pr_admitted(r.dev, gone), -ESTALE);
	RC(mpath_pr_state(r.dev, gone, &u), -ESTALE);
	RC(mpath_path_tier(r.dev, gone, &u), -ESTALE);
	RC(mpath_path_snapshot(r.dev, gone, &psnap), -ESTALE);
	RC(mpath_set_relative_throughput(r.dev, gone, 2, MS), -ESTALE);
	RC(mpath_remove_path(r.dev, gone, MS), -ESTALE);
	RC(mpath_fail_path(r.dev, never, MS), -EINVAL);
	RC(mpath_path_tier(r.dev, never, &u), -EINVAL);
	RC(mpath_set_relative_throughput(r.dev, a, 101, MS), -EINVAL);
	/* Duplicates and answers never asked for. */
	s = spec(1, 10);
	RC(mpath_add_path(r.dev, &s, 10, MS, &u), -EEXIST);
	RC(mpath_handle_reservation_reply(r.dev, a, &reply, MS), -EPROTO);
	RC(mpath_handle_refresh_result(r.dev, b, 1, MS), -EPROTO);
	RC(mpath_handle_activation_result(r.dev, 1, MPATH_ACTIVATION_RESULT_DONE, MS), -EPROTO);
	RC(mpath_switch_group(r.dev, &(uint32_t){ 7 }, MS), -ENOENT);
	RC(mpath_cancel(r.dev, 42, MS, &done), -ENOENT);
	check_unchanged(&r, &before, "after the stale, unknown and unasked-for inputs");
	CHECK(t.nlog == 0, "no reservation command went out");

	/*
	 * Outputs with a bound. The ABI has no caller-sized buffers (a Rust
	 * slice from a C length would need unsafe code): the bounds are in
	 * the types, and what would not fit is refused or cut and flagged.
	 */
	memset(&dest, 0, sizeof dest);
	dest.relative_target_port = 1;
	dest.transport_id_len = MPATH_TRANSPORT_ID_MAX + 1;
	RC(mpath_reservation_move_to(r.dev, &dest, THEIRS, MS), -EINVAL);
	dest.transport_id_len = UINT32_MAX;
	RC(mpath_reservation_move_to(r.dev, &dest, THEIRS, MS), -EINVAL);
	dest.transport_id_len = 0;
	RC(mpath_reservation_move_to(r.dev, &dest, THEIRS, MS), -EINVAL);
	check_unchanged(&r, &before, "after TransportID lengths outside the buffer");

	/* Time going backwards: after `now` reached 10 ms, inputs at 5 ms. A
	 * live ticket, an unanswered reservation command and a held write
	 * are all in place first. */
	slot = ticket();
	RC(mpath_dp_submit(r.dp, r.cursor, &read, MS, slot), 1);
	RC(mpath_reservation(r.dev, &reg, MS), 0);
	spare = ticket();
	memset(&pending, 0, sizeof pending);
	RC(mpath_poll_action(r.dev, &pending, spare), 1);
	CHECK(pending.kind == MPATH_ACTION_KIND_RESERVATION, "a reservation command is out");
	RC(mpath_pr_awaiting_reply(r.dev, pending.path), 1);
	RC(mpath_submit(r.dev, &held, MS, &d, spare), 0);
	CHECK(d.kind == MPATH_DISPOSITION_KIND_QUEUED,
	      "a write is held (no path admitted until registered)");
	RC(mpath_handle_timeout(r.dev, 10 * MS), 0);
	fingerprint(&r, &before);
	memset(&access, 0, sizeof access);
	memset(&params, 0, sizeof params);
	n = 0;
	rcs[n++] = mpath_handle_timeout(r.dev, past);
	s = spec(1, 13);
	rcs[n++] = mpath_add_path(r.dev, &s, 13, past, &u);
	rcs[n++] = mpath_remove_path(r.dev, b, past);
	rcs[n++] = mpath_nexus_replaced(r.dev, a, 10, past);
	rcs[n++] = mpath_handle_link(r.dev, a, MPATH_LINK_EVENT_UP, past);
	rcs[n++] = mpath_handle_completion(r.dev, slot, &ok, past, &d);
	rcs[n++] = mpath_handle_probe(r.dev, a, MPATH_PROBE_RESULT_UP, past);
	rcs[n++] = mpath_handle_notices(r.dev, a, MPATH_NOTICE_RESET_OCCURRED, past);
	rcs[n++] = mpath_handle_access_state(r.dev, 1, &access, past);
	rcs[n++] = mpath_handle_reservation_reply(r.dev, pending.path, &reply, past);
	rcs[n++] = mpath_submit(r.dev, &read, past, &d, spare);
	rcs[n++] = mpath_cancel(r.dev, 2, past, &done);
	rcs[n++] = mpath_reservation(r.dev, &reg, past);
	rcs[n++] = mpath_fail_path(r.dev, a, past);
	rcs[n++] = mpath_reinstate_path(r.dev, a, past);
	rcs[n++] = mpath_set_marginal(r.dev, a, past);
	rcs[n++] = mpath_clear_marginal(r.dev, a, past);
	rcs[n++] = mpath_set_relative_throughput(r.dev, a, 2, past);
	rcs[n++] = mpath_switch_group(r.dev, &one, past);
	rcs[n++] = mpath_failback(r.dev, past);
	rcs[n++] = mpath_move_path_to_group(r.dev, a, 2, NULL, past);
	rcs[n++] = mpath_set_policy(r.dev, MPATH_POLICY_ROUND_ROBIN, &params, past);
	rcs[n++] = mpath_set_no_path_policy(r.dev, MPATH_NO_PATH_QUEUE, 0, past);
	for (i = 0; i < n; i++)
		CHECK(rcs[i] == -ERANGE, "time going backwards, input %u: -ERANGE (got %d)", i,
		      rcs[i]);
	CHECK(mpath_ticket_is_live(slot) == 1, "the live ticket stayed in its slot");
	CHECK(mpath_ticket_is_live(spare) == 0, "the spare slot stayed empty");
	check_unchanged(&r, &before, "after 23 inputs from the past");
	RC(mpath_handle_reservation_reply(r.dev, pending.path, &reply, 10 * MS), 0);
	RC(mpath_pr_awaiting_reply(r.dev, pending.path), 0);
	RC(mpath_dp_complete(r.dp, r.cursor, slot, 10 * MS, &done), 0);
}

static void test_topology_buffer(void)
{
	struct rig r;
	MpathConfig cfg = default_config();
	MpathName name;
	MpathText *text;
	MpathPathSpec s;
	uint32_t ids[MPATH_MAX_PATHS], id, n, nexus;
	unsigned i, lines = 0;
	const char *p, *end;
	int cut_ok;

	printf("# the topology in its fixed buffer\n");
	/* path ids: the array's type carries its bound. */
	_Static_assert(sizeof ids / sizeof ids[0] == MPATH_MAX_PATHS, "ids holds every path");
	text = malloc(sizeof *text);
	MUST(text != NULL, "a text buffer");
	rig_init(&r, &cfg);
	memset(&name, 0, sizeof name);
	memcpy(name.bytes, "mpatha", 6);
	for (nexus = 100; nexus < 108; nexus++)
		add(&r, nexus % 2, nexus, 0);
	memset(text, 0, sizeof *text);
	RC(mpath_topology(r.dev, &name, text), 0);
	CHECK(text->len > 0 && text->len <= MPATH_TEXT_CAPACITY && text->truncated == 0,
	      "8 paths fit (%" PRIu32 " bytes, not cut)", text->len);
	CHECK(text->len > 6 && memcmp(text->bytes, "mpatha", 6) == 0,
	      "it starts with the device's name");
	for (p = (const char *)text->bytes, end = p + text->len; p < end; p++)
		lines += *p == '\n';
	/* Not NUL-terminated: printed by length, each line as a comment. */
	for (p = (const char *)text->bytes; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;

		printf("# %.*s\n", (int)(stop - p), p);
		p = stop + 1;
	}
	CHECK(lines >= 8, "a line per path at least (%u lines)", lines);

	/* A name that is not UTF-8. */
	memset(name.bytes, 'x', sizeof name.bytes);
	name.bytes[0] = 0xff;
	RC(mpath_topology(r.dev, &name, text), -EINVAL);
	/* All 32 bytes, no NUL: the whole array is the name. */
	memset(name.bytes, 'x', sizeof name.bytes);
	RC(mpath_topology(r.dev, &name, text), 0);
	CHECK(text->len > MPATH_NAME_CAPACITY &&
		      memcmp(text->bytes, name.bytes, MPATH_NAME_CAPACITY) == 0 &&
		      text->bytes[MPATH_NAME_CAPACITY] == ' ',
	      "a name filling its array is read to the end of the array");

	/* 64 paths: more than the buffer holds. */
	for (nexus = 108; nexus < 100 + MPATH_MAX_PATHS; nexus++)
		add(&r, nexus % MPATH_MAX_GROUPS, nexus, 0);
	n = (uint32_t)mpath_path_ids(r.dev, &ids);
	CHECK(n == MPATH_MAX_PATHS, "64 paths present (%" PRIu32 ")", n);
	s = spec(1, 999);
	RC(mpath_add_path(r.dev, &s, 999, 0, &id), -ENOSPC);
	memset(name.bytes, 0, sizeof name.bytes);
	memcpy(name.bytes, "mpatha", 6);
	RC(mpath_topology(r.dev, &name, text), 0);
	/* Cut at a character boundary: the text is plain ASCII here, so
	 * every byte is printable or a newline. */
	cut_ok = text->len > 0 && text->len <= MPATH_TEXT_CAPACITY;
	for (i = 0; cut_ok && i < text->len; i++)
		cut_ok = text->bytes[i] == '\n' || (text->bytes[i] >= 0x20 && text->bytes[i] < 0x7f);
	CHECK(text->truncated == 1, "64 paths do not fit: truncated is set");
	CHECK(cut_ok, "the cut text is %" PRIu32 " bytes of whole characters", text->len);
	free(text);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_layouts();
	test_selection();
	test_read_failover();
	test_write_quiesce();
	test_reservation_move();
	test_null_and_codes();
	test_foreign_stale_time();
	test_topology_buffer();
	free_objects();
	printf("# %u checks, %u failed\n", checks, failures);
	return failures == 0 ? 0 : 1;
}

// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * The rig: caller-memory objects, a target model behind the paths, and the
 * drain every input is followed by (mpath_poll_action until 0, then
 * mpath_poll_event until 0), carried out as a transport would.
 */
#define pr_fmt(fmt) "mpath selftest: " fmt

#include <linux/align.h>
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "selftest.h"

/*
 * kzalloc'ed memory for one object. kmalloc aligns power-of-two sizes to
 * their size (and allocations past the largest slab to a page), which covers
 * every MPATH_*_ALIGN; checked rather than assumed, since a misaligned object
 * is undefined behaviour on the Rust side.
 */
static void *st_alloc(size_t size, size_t align, const char *what)
{
	void *p = kzalloc(size, GFP_KERNEL);

	if (p && !IS_ALIGNED((unsigned long)p, align)) {
		pr_err("%s: kzalloc(%zu) gave %px, not %zu-aligned\n", what,
		       size, p, align);
		kfree(p);
		return NULL;
	}
	return p;
}

int st_rig_alloc(struct st_rig *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->dp_mem = st_alloc(MPATH_DATAPLANE_SIZE, MPATH_DATAPLANE_ALIGN,
			     "data plane");
	r->dev_mem = st_alloc(MPATH_DEVICE_SIZE, MPATH_DEVICE_ALIGN, "device");
	for (i = 0; i < 2; i++)
		r->cursor_mem[i] = st_alloc(MPATH_CURSOR_SIZE,
					    MPATH_CURSOR_ALIGN, "cursor");
	r->slot_mem = st_alloc(MPATH_TICKET_SIZE, MPATH_TICKET_ALIGN, "ticket");
	r->dslot_mem = st_alloc(MPATH_TICKET_SIZE, MPATH_TICKET_ALIGN, "ticket");
	for (i = 0; i < ST_HELD; i++)
		r->held_mem[i] = st_alloc(MPATH_TICKET_SIZE,
					  MPATH_TICKET_ALIGN, "ticket");
	if (!r->dp_mem || !r->dev_mem || !r->cursor_mem[0] ||
	    !r->cursor_mem[1] || !r->slot_mem || !r->dslot_mem)
		return -ENOMEM;
	for (i = 0; i < ST_HELD; i++)
		if (!r->held_mem[i])
			return -ENOMEM;
	return 0;
}

/* Nothing to tear down on the Rust side: the memory is ours to reuse. */
void st_rig_free(struct st_rig *r)
{
	int i;

	kfree(r->dp_mem);
	kfree(r->dev_mem);
	for (i = 0; i < 2; i++)
		kfree(r->cursor_mem[i]);
	kfree(r->slot_mem);
	kfree(r->dslot_mem);
	for (i = 0; i < ST_HELD; i++)
		kfree(r->held_mem[i]);
}

/*
 * Four paths in two target port groups, one local to each of two NUMA nodes:
 * A (group 1, node 0), B (group 1, node 1), C (group 2, node 0),
 * D (group 2, node 1). Registrations are per I_T nexus; nexus ids are
 * 10, 11, 20, 21.
 */
static const struct { u32 group, nexus, locality; } st_paths[ST_PATHS] = {
	{ 1, 10, 0 }, { 1, 11, 1 }, { 2, 20, 0 }, { 2, 21, 1 },
};

/*
 * A fresh data plane and device under `policy`, every object initialised
 * again in the same memory (mpath_*_init overwrites), the four paths added
 * at time 0 and the device drained. Returns false (after a FAIL line) if
 * the rig could not be built.
 */
bool st_rig_reset(struct st_rig *r, u32 policy)
{
	struct MpathConfig cfg;
	int err = 0, rc, i;

	memset(&r->t, 0, sizeof(r->t));
	r->t.group_state[1] = MPATH_ACCESS_STATE_OPTIMIZED;
	r->t.group_state[2] = MPATH_ACCESS_STATE_OPTIMIZED;
	rc = mpath_config_default(&cfg);
	if (!REQUIRE(rc == 0, "rig: mpath_config_default (rc %d)", rc))
		return false;
	cfg.policy = policy;
	r->dp = mpath_dataplane_init(r->dp_mem, 0);
	r->dev = mpath_device_init(r->dev_mem, r->dp, &cfg,
				   MPATH_REGISTRATION_SCOPE_NEXUS, &err);
	r->cursor[0] = mpath_cursor_init(r->cursor_mem[0], 0);
	r->cursor[1] = mpath_cursor_init(r->cursor_mem[1], 1);
	r->slot = mpath_ticket_init(r->slot_mem);
	r->dslot = mpath_ticket_init(r->dslot_mem);
	for (i = 0; i < ST_HELD; i++)
		r->held[i] = mpath_ticket_init(r->held_mem[i]);
	if (!REQUIRE(r->dp && r->dev && err == 0 && r->cursor[0] &&
		   r->cursor[1] && r->slot && r->dslot,
		   "rig: objects built in caller memory (device err %d)", err))
		return false;
	for (i = 0; i < ST_PATHS; i++) {
		struct MpathPathSpec spec = {
			.group = st_paths[i].group,
			.nexus = st_paths[i].nexus,
			.locality = st_paths[i].locality,
			.relative_throughput = 1,
		};

		rc = mpath_add_path(r->dev, &spec, spec.nexus, 0, &r->path[i]);
		if (!REQUIRE(rc == 0, "rig: mpath_add_path %c (rc %d)", 'A' + i,
			   rc))
			return false;
	}
	st_drive(r, 0);
	return true;
}

int st_path_index(const struct st_rig *r, u32 path)
{
	int i;

	for (i = 0; i < ST_PATHS; i++)
		if (r->path[i] == path)
			return i;
	return -1;
}

struct MpathIo st_io(u64 tag, u32 kind, u32 bytes)
{
	struct MpathIo io = { .tag = tag, .bytes = bytes, .kind = kind,
			      .retries = 3 };
	return io;
}

u32 st_ticket_path(const struct MpathTicket *t)
{
	struct MpathTicketInfo info = { .path = U32_MAX };

	mpath_ticket_info(t, &info);
	return info.path;
}

u32 st_tier(const struct st_rig *r, u32 path)
{
	u32 tier = U32_MAX;

	mpath_path_tier(r->dev, path, &tier);
	return tier;
}

bool st_target_down(const struct st_target *t, u32 path)
{
	unsigned int i;

	for (i = 0; i < t->ndown; i++)
		if (t->down[i] == path)
			return true;
	return false;
}

static int st_reg_of(const struct st_target *t, u32 nexus)
{
	unsigned int i;

	for (i = 0; i < t->nregs; i++)
		if (t->regs[i].nexus == nexus)
			return i;
	return -1;
}

static void st_unregister(struct st_target *t, u32 nexus)
{
	int i = st_reg_of(t, nexus);

	if (i >= 0)
		t->regs[i] = t->regs[--t->nregs];
}

static struct MpathPrReply st_reply(u32 kind)
{
	struct MpathPrReply r = { .kind = kind };
	return r;
}

struct MpathPrReply st_target_exec(struct st_target *t,
				   const struct MpathPrAction *a)
{
	struct MpathPrReply rep = st_reply(MPATH_PR_REPLY_KIND_DONE);
	u32 nexus = a->via;
	unsigned int i;
	int reg;

	if (st_target_down(t, nexus))
		return st_reply(MPATH_PR_REPLY_KIND_PATH_FAILED);
	if (t->nlog < ST_LOG) {
		t->log[t->nlog].nexus = nexus;
		t->log[t->nlog].command = a->command;
		t->nlog++;
	}
	reg = st_reg_of(t, nexus);
	switch (a->command) {
	case MPATH_PR_COMMAND_REGISTER:
		st_unregister(t, nexus);
		if (t->nregs < ST_PATHS) {
			t->regs[t->nregs].nexus = nexus;
			t->regs[t->nregs].key = a->key;
			t->nregs++;
		}
		break;
	case MPATH_PR_COMMAND_UNREGISTER:
		st_unregister(t, nexus);
		break;
	case MPATH_PR_COMMAND_READ_KEYS:
		rep.kind = MPATH_PR_REPLY_KIND_KEYS;
		for (i = 0; i < t->nregs; i++)
			rep.ours += t->regs[i].key == ST_OURS;
		rep.total = t->nregs;
		break;
	case MPATH_PR_COMMAND_READ_RESERVATION:
		rep.kind = MPATH_PR_REPLY_KIND_RESERVATION;
		rep.has_reservation = t->has_resv;
		rep.holder_key = t->has_resv ? t->resv_key : 0;
		rep.rtype = t->has_resv ? t->resv_type : 0;
		break;
	default:
		/* Every other command needs the sender registered with its key. */
		if (reg < 0 || t->regs[reg].key != a->key)
			return st_reply(MPATH_PR_REPLY_KIND_CONFLICT);
		switch (a->command) {
		case MPATH_PR_COMMAND_RESERVE:
			if (!t->has_resv) {
				t->has_resv = true;
				t->resv_nexus = nexus;
				t->resv_key = a->key;
				t->resv_type = a->rtype;
			} else if (t->resv_nexus != nexus ||
				   t->resv_type != a->rtype) {
				rep.kind = MPATH_PR_REPLY_KIND_CONFLICT;
			}
			break;
		case MPATH_PR_COMMAND_RELEASE:
			if (t->has_resv && t->resv_nexus == nexus)
				t->has_resv = false;
			break;
		case MPATH_PR_COMMAND_PREEMPT:
			/*
			 * Removes the victim's registrations except the
			 * sender's and takes its reservation: preempting our
			 * own key from a live nexus moves the reservation there.
			 */
			for (i = 0; i < t->nregs;) {
				if (t->regs[i].key == a->victim &&
				    t->regs[i].nexus != nexus)
					t->regs[i] = t->regs[--t->nregs];
				else
					i++;
			}
			if (!t->has_resv || t->resv_key == a->victim) {
				t->has_resv = true;
				t->resv_nexus = nexus;
				t->resv_key = a->key;
				t->resv_type = a->rtype;
			}
			break;
		case MPATH_PR_COMMAND_CLEAR:
			t->nregs = 0;
			t->has_resv = false;
			break;
		default:
			/* REGISTER AND MOVE: no destination in this model. */
			rep.kind = MPATH_PR_REPLY_KIND_REFUSED;
			break;
		}
	}
	/* A single holder that is no longer registered holds nothing. */
	if (t->has_resv && st_reg_of(t, t->resv_nexus) < 0)
		t->has_resv = false;
	return rep;
}

bool st_logged(const struct st_target *t, unsigned int from, u32 nexus,
	       u32 command)
{
	unsigned int i;

	for (i = from; i < t->nlog; i++)
		if (t->log[i].nexus == nexus && t->log[i].command == command)
			return true;
	return false;
}

/* Report every group's state, as an RTPG through `via` would. */
static void st_refresh(struct st_rig *r, u32 via, u64 now)
{
	struct MpathGroupAccess access = { 0 };
	u32 g;

	for (g = 1; g <= 2; g++) {
		access.state = r->t.group_state[g];
		mpath_handle_access_state(r->dev, g, &access, now);
	}
	mpath_handle_refresh_result(r->dev, via, 1, now);
}

/*
 * Carry out every action at `now` as a transport would: reservation
 * commands on the target model, probes answered by whether the path's nexus
 * is up, dispatched I/O completed (a transport error on a cut nexus),
 * access states re-read from the model. Then drain the events. The result
 * is in r->d.
 */
void st_drive(struct st_rig *r, u64 now)
{
	struct st_drained *d = &r->d;
	struct MpathAction a;
	struct MpathEvent e;
	int n, rc;

	memset(d, 0, sizeof(*d));
	for (n = 0; n < 1000; n++) {
		/*
		 * Its own slot: the case's may hold a started I/O, and a
		 * poll into a full slot is refused (-EEXIST).
		 */
		rc = mpath_poll_action(r->dev, &a, r->dslot);
		if (rc != 1) {
			if (rc != 0)
				st_check(false, "drive: mpath_poll_action rc %d", rc);
			break;
		}
		if (a.kind < ARRAY_SIZE(d->actions))
			d->actions[a.kind]++;
		switch (a.kind) {
		case MPATH_ACTION_KIND_RESERVATION: {
			struct MpathPrReply reply = st_target_exec(&r->t, &a.pr);

			if (d->npr < ST_LOG)
				d->pr[d->npr++] = a.pr;
			rc = mpath_handle_reservation_reply(r->dev, a.pr.via,
							    &reply, now);
			if (rc)
				st_check(false, "drive: reservation reply rc %d", rc);
			break;
		}
		case MPATH_ACTION_KIND_PROBE:
			mpath_handle_probe(r->dev, a.path,
					   st_target_down(&r->t, a.path) ?
					   MPATH_PROBE_RESULT_DOWN :
					   MPATH_PROBE_RESULT_UP, now);
			break;
		case MPATH_ACTION_KIND_DISPATCH: {
			struct MpathDisposition disp = {
				.kind = MPATH_DISPOSITION_KIND_DISPATCH,
				.path = a.path,
			};
			int tries;

			d->dispatches++;
			d->dispatch_tag = a.io.tag;
			d->dispatch_path = a.path;
			/*
			 * A failed completion may dispatch the I/O again at
			 * once, into the same slot: complete that one too.
			 */
			for (tries = 0; tries < ST_PATHS &&
			     disp.kind == MPATH_DISPOSITION_KIND_DISPATCH; tries++) {
				struct MpathCompletion c = { 0 };

				if (st_target_down(&r->t, disp.path)) {
					c.outcome = MPATH_OUTCOME_PATH_ERROR;
					c.detail = MPATH_PATH_ERROR_TRANSPORT;
				}
				rc = mpath_handle_completion(r->dev, r->dslot, &c,
							     now, &disp);
				if (rc)
					st_check(false, "drive: completion rc %d", rc);
			}
			break;
		}
		case MPATH_ACTION_KIND_REFRESH_ACCESS_STATE:
			st_refresh(r, a.path, now);
			break;
		default:
			break;
		}
	}
	while (mpath_poll_event(r->dev, &e) == 1) {
		if (d->nev < ST_EVENTS)
			d->ev[d->nev++] = e;
		else
			d->overflow = true;
	}
}

/* The first event of `kind` about `path` (U32_MAX: any path), or NULL. */
const struct MpathEvent *st_find_event(const struct st_drained *d, u32 kind,
				       u32 path)
{
	unsigned int i;

	for (i = 0; i < d->nev; i++)
		if (d->ev[i].kind == kind &&
		    (path == U32_MAX || d->ev[i].path == path))
			return &d->ev[i];
	return NULL;
}

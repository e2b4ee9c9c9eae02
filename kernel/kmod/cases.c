// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * The self-test's cases. Every check is one line: "ok <id>: <what>" or
 * "FAIL <id>: <what>"; mpath-qemu/tests/kmod.rs expects each <id>. Time is
 * the device's virtual clock in nanoseconds, stepped by the cases: nothing
 * here waits.
 */
#define pr_fmt(fmt) "mpath selftest: " fmt

#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/string.h>

#include "selftest.h"

static const char *const st_policy_names[] = {
	[MPATH_POLICY_LOCALITY] = "locality",
	[MPATH_POLICY_ROUND_ROBIN] = "round-robin",
	[MPATH_POLICY_QUEUE_DEPTH] = "queue-depth",
	[MPATH_POLICY_QUEUE_BYTES] = "queue-bytes",
	[MPATH_POLICY_SERVICE_TIME] = "service-time",
	[MPATH_POLICY_ADAPTIVE] = "adaptive",
};

/* ----- layout ----- */

static void st_layout_one(u32 object, const char *name, u64 size, u64 align)
{
	struct MpathLayout l = { 0 };
	int rc = mpath_object_layout(object, &l);

	CHECK(rc == 0 && l.size <= l.reserve && l.align <= l.reserve_align &&
	      l.reserve == size && l.reserve_align == align,
	      "layout.%s: %llu bytes aligned to %llu fit the header's %llu/%llu (rc %d)",
	      name, l.size, l.align, size, align, rc);
}

void st_case_layout(struct st_rig *r)
{
	struct MpathLayout l = { 0 };

	st_layout_one(MPATH_OBJECT_DATA_PLANE, "dataplane",
		      MPATH_DATAPLANE_SIZE, MPATH_DATAPLANE_ALIGN);
	st_layout_one(MPATH_OBJECT_CURSOR, "cursor", MPATH_CURSOR_SIZE,
		      MPATH_CURSOR_ALIGN);
	st_layout_one(MPATH_OBJECT_DEVICE, "device", MPATH_DEVICE_SIZE,
		      MPATH_DEVICE_ALIGN);
	st_layout_one(MPATH_OBJECT_TICKET, "ticket", MPATH_TICKET_SIZE,
		      MPATH_TICKET_ALIGN);
	CHECK(mpath_object_layout(3, &l) == -EINVAL,
	      "layout.unknown: an object code outside the table is -EINVAL");
}

/* ----- the rig itself ----- */

void st_case_setup(struct st_rig *r)
{
	const struct st_drained *d = &r->d;
	const struct MpathEvent *active;
	unsigned int reinstated = 0, i;
	u64 mask = 0;
	u32 tier = U32_MAX;

	if (!st_rig_reset(r, MPATH_POLICY_ROUND_ROBIN))
		return;
	for (i = 0; i < ST_PATHS; i++)
		reinstated += !!st_find_event(d, MPATH_EVENT_KIND_PATH_REINSTATED,
					      r->path[i]);
	active = st_find_event(d, MPATH_EVENT_KIND_ACTIVE_TIER, U32_MAX);
	CHECK(reinstated == ST_PATHS && active &&
	      active->tier == MPATH_TIER_OPTIMIZED,
	      "setup.events: 4 paths reinstated, the optimized tier active (%u events)",
	      d->nev);
	mpath_dp_selectable(r->dp, &mask);
	mpath_active_tier(r->dev, &tier);
	CHECK(hweight64(mask) == ST_PATHS && tier == MPATH_TIER_OPTIMIZED,
	      "setup.selectable: 4 paths selectable (mask %#llx, tier %u)", mask,
	      tier);
}

/* ----- selection under every policy ----- */

/*
 * Submit `n` I/Os on cursor `cpu` at *now, each completed 1 ms later on the
 * fast path; count them per path in `per_path` and record the sequence.
 * False if one was not selected, not on a current optimized path of ours,
 * or not completed.
 */
static bool st_run(struct st_rig *r, int cpu, unsigned int n, u32 bytes,
		   u64 *now, unsigned int *per_path, int *seq)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		struct MpathIo io = st_io(1000 + k, MPATH_IO_KIND_READ, bytes);
		struct MpathIo done;
		u32 p;
		int idx;

		if (mpath_dp_submit(r->dp, r->cursor[cpu], &io, *now,
				    r->slot) != 1)
			return false;
		p = st_ticket_path(r->slot);
		idx = st_path_index(r, p);
		*now += MS;
		if (mpath_dp_complete(r->dp, r->cursor[cpu], r->slot, *now,
				      &done) != 0 || done.tag != io.tag)
			return false;
		if (idx < 0 || mpath_dp_is_current(r->dp, p) != 1 ||
		    st_tier(r, p) != MPATH_TIER_OPTIMIZED)
			return false;
		per_path[idx]++;
		if (seq)
			seq[k] = idx;
	}
	return true;
}

/* Start an I/O of `bytes` on path index `idx` and keep it outstanding. */
static bool st_hold(struct st_rig *r, int slot, int idx, u32 bytes, u64 now)
{
	struct MpathIo io = st_io(2000 + slot, MPATH_IO_KIND_READ, bytes);

	return mpath_dp_start(r->dp, r->cursor[0], r->path[idx], &io, now,
			      r->held[slot]) == 1;
}

static void st_release(struct st_rig *r, int held, u64 now)
{
	struct MpathIo done;
	int i;

	for (i = 0; i < held; i++)
		mpath_dp_complete(r->dp, r->cursor[0], r->held[i], now, &done);
}

static void st_policy(struct st_rig *r, u32 policy)
{
	const char *name = st_policy_names[policy];
	struct MpathSelectorParams params;
	struct MpathConfig cfg;
	unsigned int per[ST_PATHS] = { 0 }, k;
	int seq[8], held = 0, rc;
	u32 active = U32_MAX;
	u64 now = 10 * MS;
	bool ok;

	if (!st_rig_reset(r, MPATH_POLICY_ROUND_ROBIN))
		return;
	mpath_config(r->dev, &cfg);
	params = cfg.selector;
	/*
	 * The adaptive selector re-samples a path whose estimate is older than
	 * stale_after (100 ms by default); the case runs for less than that
	 * in virtual time, but say so rather than depend on it.
	 */
	params.stale_after_ns = 10000 * MS;
	rc = mpath_set_policy(r->dev, policy, &params, now);
	st_drive(r, now);
	mpath_dp_policy(r->dp, &active);
	CHECK(rc == 0 && active == policy,
	      "policy.%s.set: mpath_set_policy published it (rc %d, data plane %u)",
	      name, rc, active);

	ok = st_run(r, 0, 16, 4096, &now, per, NULL);
	CHECK(ok, "policy.%s.eligible: 16 I/Os each on a current optimized path (A %u B %u C %u D %u)",
	      name, per[0], per[1], per[2], per[3]);
	memset(per, 0, sizeof(per));

	switch (policy) {
	case MPATH_POLICY_LOCALITY: {
		unsigned int node0[ST_PATHS] = { 0 };

		/* B and D are node 1's paths; A and C node 0's. */
		ok = st_run(r, 1, 8, 4096, &now, per, NULL) &&
		     st_run(r, 0, 8, 4096, &now, node0, NULL);
		CHECK(ok && (per[1] == 8 || per[3] == 8) &&
		      (node0[0] == 8 || node0[2] == 8),
		      "policy.locality.local: each CPU sticks to one path of its node (node 1: B %u D %u; node 0: A %u C %u)",
		      per[1], per[3], node0[0], node0[2]);
		break;
	}
	case MPATH_POLICY_ROUND_ROBIN:
		ok = st_run(r, 0, 8, 4096, &now, per, seq);
		for (k = 1; ok && k < 8; k++)
			ok = seq[k] != seq[k - 1];
		CHECK(ok && per[0] == 2 && per[1] == 2 && per[2] == 2 &&
		      per[3] == 2,
		      "policy.round-robin.rotates: 8 I/Os, each path twice, never the same twice running (A %u B %u C %u D %u)",
		      per[0], per[1], per[2], per[3]);
		break;
	case MPATH_POLICY_QUEUE_DEPTH:
	case MPATH_POLICY_QUEUE_BYTES:
		/*
		 * A holds one 1 MiB I/O, B, C and D two 4 KiB ones each: A has
		 * the fewest I/Os outstanding and by far the most bytes.
		 */
		ok = st_hold(r, held++, 0, 1 << 20, now);
		for (k = 1; ok && k < ST_PATHS; k++)
			ok = st_hold(r, held++, k, 4096, now) &&
			     st_hold(r, held++, k, 4096, now);
		ok = ok && st_run(r, 0, 4, 4096, &now, per, NULL);
		if (policy == MPATH_POLICY_QUEUE_DEPTH)
			CHECK(ok && per[0] == 4,
			      "policy.queue-depth.fewest-ios: all 4 I/Os to A, 1 outstanding against 2 (A %u B %u C %u D %u)",
			      per[0], per[1], per[2], per[3]);
		else
			CHECK(ok && per[0] == 0,
			      "policy.queue-bytes.fewest-bytes: no I/O to A, 1 MiB outstanding against 8 KiB (A %u B %u C %u D %u)",
			      per[0], per[1], per[2], per[3]);
		st_release(r, held, now);
		break;
	case MPATH_POLICY_SERVICE_TIME:
		/* dm's relative_throughput: A is ten times faster than the rest. */
		rc = mpath_set_relative_throughput(r->dev, r->path[0], 100, now);
		for (k = 1; k < ST_PATHS; k++)
			rc |= mpath_set_relative_throughput(r->dev, r->path[k],
							    10, now);
		st_drive(r, now);
		ok = rc == 0 && st_run(r, 0, 4, 4096, &now, per, NULL);
		CHECK(ok && per[0] == 4,
		      "policy.service-time.throughput: idle paths, all 4 I/Os to A, ten times the throughput (A %u B %u C %u D %u)",
		      per[0], per[1], per[2], per[3]);
		break;
	case MPATH_POLICY_ADAPTIVE: {
		struct MpathIo done;

		/* One sample each: A takes 20 ms, the others 1 ms. */
		ok = true;
		for (k = 0; k < ST_PATHS; k++)
			ok = ok && st_hold(r, k, k, 4096, now);
		for (k = 0; ok && k < ST_PATHS; k++)
			ok = mpath_dp_complete(r->dp, r->cursor[0], r->held[k],
					       now + (k == 0 ? 20 : 1) * MS,
					       &done) == 0;
		now += 20 * MS;
		ok = ok && st_run(r, 0, 8, 4096, &now, per, NULL);
		CHECK(ok && per[0] == 0 && per[1] + per[2] + per[3] == 8,
		      "policy.adaptive.latency: after a 20 ms sample on A, 8 I/Os avoid it (A %u B %u C %u D %u)",
		      per[0], per[1], per[2], per[3]);
		break;
	}
	}
}

void st_case_policies(struct st_rig *r)
{
	u32 p;

	for (p = MPATH_POLICY_LOCALITY; p <= MPATH_POLICY_ADAPTIVE; p++)
		st_policy(r, p);
}

/* ----- failover and write quiesce ----- */

void st_case_failover(struct st_rig *r)
{
	struct MpathCompletion failed = { .outcome = MPATH_OUTCOME_PATH_ERROR };
	struct MpathIo read = st_io(7, MPATH_IO_KIND_READ, 4096);
	struct MpathIo write = st_io(9, MPATH_IO_KIND_WRITE, 4096);
	struct MpathDeviceSnapshot snap;
	struct MpathDisposition d;
	struct MpathConfig cfg;
	struct MpathIo done;
	u64 now = 10 * MS, quiesce, wake = 0;
	u32 p, w;
	int rc;

	if (!st_rig_reset(r, MPATH_POLICY_ROUND_ROBIN))
		return;
	mpath_config(r->dev, &cfg);
	quiesce = cfg.quiesce_time_ns;

	/* A read in flight on P when P's link dies. */
	if (!CHECK(mpath_dp_submit(r->dp, r->cursor[0], &read, now, r->slot) == 1,
		   "failover.submit: a read is selected on the fast path"))
		return;
	p = st_ticket_path(r->slot);
	r->t.down[r->t.ndown++] = p;
	failed.detail = MPATH_PATH_ERROR_TRANSPORT;
	now += MS;
	rc = mpath_handle_completion(r->dev, r->slot, &failed, now, &d);
	CHECK(rc == 0 && d.kind == MPATH_DISPOSITION_KIND_DISPATCH &&
	      d.path != p && st_path_index(r, d.path) >= 0 && d.io.tag == 7 &&
	      mpath_ticket_is_live(r->slot) == 1 &&
	      st_ticket_path(r->slot) == d.path,
	      "failover.read: the read that failed on %u went out again at once on %u (rc %d, disposition %u)",
	      p, d.path, rc, d.kind);
	CHECK(st_tier(r, p) == MPATH_TIER_INELIGIBLE,
	      "failover.ineligible: the failed path left selection (tier %u)",
	      st_tier(r, p));
	st_drive(r, now);
	CHECK(st_find_event(&r->d, MPATH_EVENT_KIND_PATH_FAILED, p),
	      "failover.event: a PathFailed event names path %u (%u events)", p,
	      r->d.nev);
	now += MS;
	rc = mpath_dp_complete(r->dp, r->cursor[0], r->slot, now, &done);
	CHECK(rc == 0 && done.tag == 7 && mpath_ticket_is_live(r->slot) == 0,
	      "failover.read-done: the re-issued read completes once (rc %d)",
	      rc);

	/* A write in flight on W when W's link dies too. */
	rc = mpath_submit(r->dev, &write, now, &d, r->slot);
	w = st_ticket_path(r->slot);
	if (!CHECK(rc == 0 && d.kind == MPATH_DISPOSITION_KIND_DISPATCH &&
		   w != p && st_path_index(r, w) >= 0,
		   "failover.write-submit: a write goes out on a live path (rc %d, path %u)",
		   rc, w))
		return;
	r->t.down[r->t.ndown++] = w;
	failed.detail = MPATH_PATH_ERROR_TIMEOUT;
	now += MS;
	rc = mpath_handle_completion(r->dev, r->slot, &failed, now, &d);
	CHECK(rc == 0 && d.kind == MPATH_DISPOSITION_KIND_QUEUED &&
	      mpath_ticket_is_live(r->slot) == 0,
	      "failover.write-held: the failed write is held, not re-dispatched (rc %d, disposition %u)",
	      rc, d.kind);
	st_drive(r, now);
	rc = mpath_poll_timeout(r->dev, &wake);
	CHECK(r->d.dispatches == 0 && rc == 1 && wake > now,
	      "failover.write-timer: nothing dispatched, a timer armed (%u dispatched, wake at %llu ms)",
	      r->d.dispatches, wake / MS);

	/*
	 * The write may not go out before the failed path's quiesce time:
	 * the attempt on W could still land after the retry.
	 */
	mpath_handle_timeout(r->dev, now + quiesce - MS);
	st_drive(r, now + quiesce - MS);
	CHECK(r->d.dispatches == 0,
	      "failover.quiesce-wait: 1 ms before the quiesce time (%llu ms), the write is still held (%u dispatched)",
	      quiesce / MS, r->d.dispatches);
	now += quiesce;
	mpath_handle_timeout(r->dev, now);
	st_drive(r, now);
	CHECK(r->d.dispatches == 1 && r->d.dispatch_tag == 9 &&
	      r->d.dispatch_path != p && r->d.dispatch_path != w &&
	      st_path_index(r, r->d.dispatch_path) >= 0,
	      "failover.quiesce-dispatch: at the quiesce time the write goes out on a third path (%u dispatched, path %u)",
	      r->d.dispatches, r->d.dispatch_path);
	memset(&snap, 0, sizeof(snap));
	mpath_device_snapshot(r->dev, &snap);
	CHECK(snap.counters.failovers == 2 && snap.selectable == 2 &&
	      snap.queued == 0,
	      "failover.counters: 2 failovers, 2 paths selectable, nothing held (%llu, %u, %u)",
	      snap.counters.failovers, snap.selectable, snap.queued);
}

/* ----- an ALUA transition ----- */

static void st_alua_state(struct st_rig *r, u32 state, u64 now)
{
	struct MpathGroupAccess access = { .state = state };

	r->t.group_state[2] = state;
	REQUIRE(mpath_handle_access_state(r->dev, 2, &access, now) == 0,
	      "alua.input: group 2 reported %s",
	      state == MPATH_ACCESS_STATE_STANDBY ? "standby" : "optimized");
	st_drive(r, now);
}

void st_case_alua(struct st_rig *r)
{
	unsigned int per[ST_PATHS] = { 0 };
	const struct MpathEvent *ec, *ed;
	u64 now = 10 * MS;
	u32 active = U32_MAX;
	bool ok;

	if (!st_rig_reset(r, MPATH_POLICY_ROUND_ROBIN))
		return;
	st_alua_state(r, MPATH_ACCESS_STATE_STANDBY, now);
	/*
	 * A standby port group takes no reads or writes (ALUA): its paths
	 * leave every tier selection uses, which the device reports as
	 * PathFailed.
	 */
	ec = st_find_event(&r->d, MPATH_EVENT_KIND_PATH_FAILED, r->path[2]);
	ed = st_find_event(&r->d, MPATH_EVENT_KIND_PATH_FAILED, r->path[3]);
	mpath_active_tier(r->dev, &active);
	CHECK(ec && ed && st_tier(r, r->path[2]) == MPATH_TIER_INELIGIBLE &&
	      st_tier(r, r->path[3]) == MPATH_TIER_INELIGIBLE &&
	      active == MPATH_TIER_OPTIMIZED,
	      "alua.standby-tier: C and D left the active tier (tiers %u %u, %u events), the optimized tier stays active",
	      st_tier(r, r->path[2]), st_tier(r, r->path[3]), r->d.nev);
	/* st_run only accepts optimized paths: C and D may not be chosen. */
	ok = st_run(r, 0, 8, 4096, &now, per, NULL);
	CHECK(ok && per[0] == 4 && per[1] == 4 && per[2] == 0 && per[3] == 0,
	      "alua.standby-io: 8 I/Os to group 1 only (A %u B %u C %u D %u)",
	      per[0], per[1], per[2], per[3]);

	memset(per, 0, sizeof(per));
	now += MS;
	st_alua_state(r, MPATH_ACCESS_STATE_OPTIMIZED, now);
	ec = st_find_event(&r->d, MPATH_EVENT_KIND_PATH_REINSTATED, r->path[2]);
	ed = st_find_event(&r->d, MPATH_EVENT_KIND_PATH_REINSTATED, r->path[3]);
	CHECK(ec && ed && ec->tier == MPATH_TIER_OPTIMIZED &&
	      ed->tier == MPATH_TIER_OPTIMIZED,
	      "alua.back-tier: C and D reinstated in the optimized tier (%u events)",
	      r->d.nev);
	ok = st_run(r, 0, 8, 4096, &now, per, NULL);
	CHECK(ok && per[0] == 2 && per[1] == 2 && per[2] == 2 && per[3] == 2,
	      "alua.back-io: 8 I/Os over all four paths again (A %u B %u C %u D %u)",
	      per[0], per[1], per[2], per[3]);
}

/* ----- a reservation move planned by the coordinator ----- */

/* Start `op`, drive the device, and return its Finished event (or NULL). */
static const struct MpathPrEvent *st_op(struct st_rig *r,
					const struct MpathPrOp *op, u64 now)
{
	unsigned int i;

	if (mpath_reservation(r->dev, op, now) != 0)
		return NULL;
	st_drive(r, now);
	for (i = 0; i < r->d.nev; i++)
		if (r->d.ev[i].kind == MPATH_EVENT_KIND_RESERVATION &&
		    r->d.ev[i].pr.kind == MPATH_PR_EVENT_KIND_FINISHED)
			return &r->d.ev[i].pr;
	return NULL;
}

void st_case_reservation(struct st_rig *r)
{
	struct MpathPrOp reg = { .kind = MPATH_PR_OP_KIND_REGISTER,
				 .key = ST_OURS };
	struct MpathPrOp rsv = { .kind = MPATH_PR_OP_KIND_RESERVE,
				 .rtype = MPATH_PR_TYPE_WRITE_EXCLUSIVE };
	struct MpathCompletion failed = {
		.outcome = MPATH_OUTCOME_PATH_ERROR,
		.detail = MPATH_PATH_ERROR_TRANSPORT,
	};
	struct MpathIo write = st_io(9, MPATH_IO_KIND_WRITE, 4096);
	const struct MpathPrEvent *fin;
	const struct MpathEvent *moved;
	struct MpathDisposition d;
	struct MpathIo done;
	unsigned int i, regs = 0, from;
	u32 h = U32_MAX, n = U32_MAX, st = U32_MAX, queued = U32_MAX;
	u64 key = 0, now = 10 * MS, wake = 0;
	bool preempted = false;
	int k, rc;

	if (!st_rig_reset(r, MPATH_POLICY_ROUND_ROBIN))
		return;
	fin = st_op(r, &reg, now);
	rc = mpath_pr_key(r->dev, &key);
	for (i = 0; i < ST_PATHS; i++)
		regs += mpath_pr_state(r->dev, r->path[i], &st) == 0 &&
			st == MPATH_REG_STATE_REGISTERED;
	CHECK(fin && fin->result == 0 && hweight64(fin->report.registered) == 4 &&
	      rc == 1 && key == ST_OURS &&
	      regs == ST_PATHS && r->t.nregs == ST_PATHS,
	      "reservation.register: key %#llx registered on all 4 nexuses (%u at the target)",
	      key, r->t.nregs);

	now += MS;
	fin = st_op(r, &rsv, now);
	rc = mpath_pr_holder(r->dev, &h);
	if (!CHECK(fin && fin->result == 0 && rc == 1 &&
		   r->t.has_resv && r->t.resv_nexus == h &&
		   r->t.resv_type == MPATH_PR_TYPE_WRITE_EXCLUSIVE,
		   "reservation.reserve: write exclusive held through path %u",
		   h))
		return;

	/* A write in flight on the holder's path when its link dies. */
	now += MS;
	for (k = 0; k < 8; k++) {
		if (mpath_dp_submit(r->dp, r->cursor[0], &write, now,
				    r->slot) != 1)
			break;
		if (st_ticket_path(r->slot) == h)
			break;
		mpath_dp_complete(r->dp, r->cursor[0], r->slot, now, &done);
	}
	if (!CHECK(mpath_ticket_is_live(r->slot) == 1 &&
		   st_ticket_path(r->slot) == h,
		   "reservation.write: a write in flight on the holder %u", h))
		return;
	r->t.down[r->t.ndown++] = h;
	from = r->t.nlog;
	now += MS;
	rc = mpath_handle_completion(r->dev, r->slot, &failed, now, &d);
	CHECK(rc == 0 && d.kind == MPATH_DISPOSITION_KIND_QUEUED,
	      "reservation.held: the failed write waits for its quiesce time (disposition %u)",
	      d.kind);
	st_drive(r, now);

	/* The coordinator moved it: read, then our own key preempted. */
	for (i = 0; i < r->d.npr; i++)
		preempted |= r->d.pr[i].command == MPATH_PR_COMMAND_PREEMPT &&
			     r->d.pr[i].key == ST_OURS &&
			     r->d.pr[i].victim == ST_OURS &&
			     r->d.pr[i].rtype == MPATH_PR_TYPE_WRITE_EXCLUSIVE;
	mpath_pr_holder(r->dev, &n);
	CHECK(n != h && st_path_index(r, n) >= 0 && r->t.has_resv &&
	      r->t.resv_nexus == n && r->t.resv_key == ST_OURS &&
	      st_logged(&r->t, from, n, MPATH_PR_COMMAND_READ_RESERVATION) &&
	      st_logged(&r->t, from, n, MPATH_PR_COMMAND_PREEMPT) && preempted,
	      "reservation.moved: READ RESERVATION and PREEMPT of our own key through %u, which holds it now",
	      n);
	moved = NULL;
	for (i = 0; i < r->d.nev; i++)
		if (r->d.ev[i].kind == MPATH_EVENT_KIND_RESERVATION &&
		    r->d.ev[i].pr.kind == MPATH_PR_EVENT_KIND_MOVED)
			moved = &r->d.ev[i];
	CHECK(st_find_event(&r->d, MPATH_EVENT_KIND_PATH_FAILED, h) && moved &&
	      moved->pr.holder == n,
	      "reservation.events: PathFailed for %u, then Moved to %u", h, n);
	CHECK(mpath_pr_admitted(r->dev, h) == 0 &&
	      mpath_pr_state(r->dev, h, &st) == 0 &&
	      st == MPATH_REG_STATE_STALE && mpath_pr_admitted(r->dev, n) == 1 &&
	      mpath_pr_is_fenced(r->dev) == 0,
	      "reservation.stale: the dead nexus is stale and not admitted, the new holder is, no fence");

	/* After the quiesce time the held write goes out on the new holder. */
	if (!CHECK(mpath_poll_timeout(r->dev, &wake) == 1 && wake > now,
		   "reservation.timer: a timer is armed for the held write"))
		return;
	mpath_handle_timeout(r->dev, wake);
	st_drive(r, wake);
	mpath_queued(r->dev, &queued);
	CHECK(r->d.dispatches == 1 && r->d.dispatch_tag == 9 &&
	      r->d.dispatch_path == n && queued == 0,
	      "reservation.write-out: the held write went out on the new holder %u (%u dispatched, %u held)",
	      r->d.dispatch_path, r->d.dispatches, queued);
}

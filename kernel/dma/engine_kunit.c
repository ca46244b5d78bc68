// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of engine.c's segment chaining, with a fake backend: each
 * segment's end is reported by calling dmakit_engine_seg_irq() (interrupts
 * off, as from the backend's handler), and the engine must start the next
 * segment right there, end the request after its last one, count an
 * interrupt that ends nothing as stale, and stop a cancelled request after
 * its segment in flight, or at once where the backend can abort it
 * (terminate, then synchronize before the memory is unmapped, as a
 * dmaengine channel would). engine.c includes this file at its end when the
 * kernel has KUnit (see edu_kunit.c).
 */
#include <kunit/test.h>

#include <uapi/dmakit.h>

#define KT_SEGS		3

struct kt_engine {
	struct device *dev;
	struct dmakit_engine eng;
	struct dmakit_seg started[KT_SEGS + 1];
	unsigned int nstarted;
	bool busy;
	struct completion first;	/* the first segment started */
	/* the request */
	struct dmakit_req req;
	struct dmakit_seg segs[KT_SEGS];
	unsigned int finished;
	struct completion released;
	/* a backend that can abort a segment */
	unsigned int terminated;
	unsigned int synced;
	unsigned int finished_at_sync;
	unsigned int aborted_at_sync;
	/* this start (1-based) fails; 0: none */
	unsigned int start_fails;
};

static int kt_start(struct dmakit_engine *eng, const struct dmakit_seg *seg,
		    bool irq)
{
	struct kt_engine *kt = container_of(eng, struct kt_engine, eng);

	if (kt->nstarted < ARRAY_SIZE(kt->started))
		kt->started[kt->nstarted] = *seg;
	if (!kt->nstarted++)
		complete(&kt->first);
	/* a backend that cannot start segment start_fails (1-based) */
	return kt->nstarted == kt->start_fails ? -EIO : 0;
}

static bool kt_busy(struct dmakit_engine *eng)
{
	return container_of(eng, struct kt_engine, eng)->busy;
}

static void kt_reset(struct dmakit_engine *eng)
{
}

static const struct dmakit_engine_ops kt_engine_ops = {
	.start = kt_start,
	.busy = kt_busy,
	.reset = kt_reset,
};

static void kt_terminate(struct dmakit_engine *eng)
{
	container_of(eng, struct kt_engine, eng)->terminated++;
}

static void kt_synchronize(struct dmakit_engine *eng)
{
	struct kt_engine *kt = container_of(eng, struct kt_engine, eng);

	struct dmakit_engine_stats st;

	kt->synced++;
	kt->finished_at_sync = kt->finished;
	dmakit_engine_get_stats(eng, &st);
	kt->aborted_at_sync = st.aborted;
}

/* as a dmaengine channel: it can abort a segment */
static const struct dmakit_engine_ops kt_abort_engine_ops = {
	.start = kt_start,
	.busy = kt_busy,
	.reset = kt_reset,
	.terminate = kt_terminate,
	.synchronize = kt_synchronize,
};

static int kt_prepare(struct dmakit_req *req)
{
	struct kt_engine *kt = container_of(req, struct kt_engine, req);
	unsigned int i;

	for (i = 0; i < KT_SEGS; i++)
		kt->segs[i] = (struct dmakit_seg){ .bus = 0x10000 * (i + 1),
			.dev_off = 100 * i, .len = 100, .to_device = i & 1 };
	req->segs = kt->segs;
	req->nsegs = KT_SEGS;
	return 0;
}

static void kt_finish(struct dmakit_req *req)
{
	container_of(req, struct kt_engine, req)->finished++;
}

static void kt_release(struct dmakit_req *req)
{
	complete(&container_of(req, struct kt_engine, req)->released);
}

static const struct dmakit_req_ops kt_req_ops = {
	.prepare = kt_prepare,
	.finish = kt_finish,
	.release = kt_release,
};

/* the backend's interrupt handler saw a DMA end */
static void kt_irq(struct kt_engine *kt)
{
	local_irq_disable();
	dmakit_engine_seg_irq(&kt->eng);
	local_irq_enable();
}

static void kt_engine_stop(struct kt_engine *kt)
{
	dmakit_engine_stop(&kt->eng);
	root_device_unregister(kt->dev);
}

/*
 * An engine with one request submitted and its first segment started. The
 * suites run before the module's init: the engine gets a device of its own.
 */
static struct kt_engine *kt_engine_run(struct kunit *test,
				       const struct dmakit_engine_ops *ops)
{
	struct kt_engine *kt = kunit_kzalloc(test, sizeof(*kt), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, kt);
	/* no owner: the module's sysfs directory is not there yet */
	kt->dev = __root_device_register("dmakit-kunit", NULL);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(kt->dev), "root device: %ld",
			       PTR_ERR(kt->dev));
	init_completion(&kt->first);
	init_completion(&kt->released);
	dmakit_engine_init(&kt->eng, ops, kt->dev, "kunit",
			   DMAKIT_EDU_WINDOW_MAX);
	dmakit_req_init(&kt->req, &kt_req_ops);
	if (dmakit_engine_submit(&kt->eng, &kt->req)) {
		root_device_unregister(kt->dev);
		KUNIT_FAIL(test, "submit failed");
		return NULL;
	}
	if (!wait_for_completion_timeout(&kt->first, 5 * HZ)) {
		kt_engine_stop(kt);	/* ends the request */
		KUNIT_FAIL(test, "the first segment never started");
		return NULL;
	}
	return kt;
}

static struct kt_engine *kt_engine_running(struct kunit *test)
{
	return kt_engine_run(test, &kt_engine_ops);
}

/* the request ended: wait for its release, then stop the engine */
static void kt_engine_end(struct kunit *test, struct kt_engine *kt)
{
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&kt->released, 5 * HZ),
			0UL);
}

static void engine_chains_segments_from_the_interrupt(struct kunit *test)
{
	struct kt_engine *kt = kt_engine_running(test);
	struct dmakit_engine_stats st;
	unsigned int i;

	if (!kt)
		return;
	for (i = 1; i <= KT_SEGS; i++) {
		KUNIT_EXPECT_EQ(test, kt->nstarted, i);
		/* the next one starts in the handler, not later in a worker */
		kt_irq(kt);
		KUNIT_EXPECT_EQ(test, kt->nstarted, min(i + 1, (unsigned int)KT_SEGS));
	}
	kt_engine_end(test, kt);
	KUNIT_EXPECT_EQ(test, kt->req.status, 0);
	KUNIT_EXPECT_EQ(test, kt->nstarted, (unsigned int)KT_SEGS);
	for (i = 0; i < KT_SEGS; i++) {
		KUNIT_EXPECT_EQ_MSG(test, kt->started[i].bus, kt->segs[i].bus,
				    "segment %u", i);
		KUNIT_EXPECT_EQ_MSG(test, kt->started[i].dev_off,
				    kt->segs[i].dev_off, "segment %u", i);
		KUNIT_EXPECT_EQ_MSG(test, kt->started[i].to_device,
				    kt->segs[i].to_device, "segment %u", i);
	}
	KUNIT_EXPECT_EQ(test, kt->finished, 1U);
	dmakit_engine_get_stats(&kt->eng, &st);
	KUNIT_EXPECT_EQ(test, st.requests, 1ULL);
	KUNIT_EXPECT_EQ(test, st.completed, 1ULL);
	KUNIT_EXPECT_EQ(test, st.segments, (u64)KT_SEGS);
	KUNIT_EXPECT_EQ(test, st.errors, 0ULL);
	KUNIT_EXPECT_EQ(test, st.stale_irqs, 0ULL);
	kt_engine_stop(kt);
}

static void engine_counts_interrupts_that_end_nothing(struct kunit *test)
{
	struct kt_engine *kt = kt_engine_running(test);
	struct dmakit_engine_stats st;

	if (!kt)
		return;
	/* the device is still moving the segment's data: not its end */
	kt->busy = true;
	kt_irq(kt);
	KUNIT_EXPECT_EQ(test, kt->nstarted, 1U);
	kt->busy = false;
	kt_irq(kt);
	kt_irq(kt);
	kt_irq(kt);
	kt_engine_end(test, kt);
	KUNIT_EXPECT_EQ(test, kt->req.status, 0);
	/* no request at all */
	kt_irq(kt);
	dmakit_engine_get_stats(&kt->eng, &st);
	KUNIT_EXPECT_EQ(test, st.stale_irqs, 2ULL);
	KUNIT_EXPECT_EQ(test, st.segments, (u64)KT_SEGS);
	kt_engine_stop(kt);
}

static void engine_cancel_stops_after_the_segment_in_flight(struct kunit *test)
{
	struct kt_engine *kt = kt_engine_running(test);
	struct dmakit_engine_stats st;

	if (!kt)
		return;
	dmakit_engine_cancel(&kt->eng, &kt->req);
	/* the device still owns the memory: nothing ends before its interrupt */
	KUNIT_EXPECT_EQ(test, completion_done(&kt->released), false);
	kt_irq(kt);
	kt_engine_end(test, kt);
	KUNIT_EXPECT_EQ(test, kt->req.status, -EINTR);
	KUNIT_EXPECT_EQ(test, kt->nstarted, 1U);
	KUNIT_EXPECT_EQ(test, kt->finished, 1U);
	dmakit_engine_get_stats(&kt->eng, &st);
	KUNIT_EXPECT_EQ(test, st.cancelled, 1ULL);
	KUNIT_EXPECT_EQ(test, st.segments, 1ULL);
	kt_engine_stop(kt);
}

static void engine_cancel_aborts_where_the_backend_can(struct kunit *test)
{
	struct kt_engine *kt = kt_engine_run(test, &kt_abort_engine_ops);
	struct dmakit_engine_stats st;

	if (!kt)
		return;
	kt->busy = true;	/* left alone, the segment would go on */
	dmakit_engine_cancel(&kt->eng, &kt->req);
	KUNIT_EXPECT_EQ(test, kt->terminated, 1U);
	/* ended without its interrupt; unmapped only after synchronize */
	kt_engine_end(test, kt);
	KUNIT_EXPECT_EQ(test, kt->req.status, -EINTR);
	KUNIT_EXPECT_EQ(test, kt->nstarted, 1U);
	KUNIT_EXPECT_EQ(test, kt->synced, 1U);
	KUNIT_EXPECT_EQ(test, kt->finished_at_sync, 0U);
	KUNIT_EXPECT_EQ(test, kt->finished, 1U);
	/* a late completion of the aborted segment ends nothing */
	kt->busy = false;
	kt_irq(kt);
	dmakit_engine_get_stats(&kt->eng, &st);
	KUNIT_EXPECT_EQ(test, st.cancelled, 1ULL);
	KUNIT_EXPECT_EQ(test, st.stale_irqs, 1ULL);
	KUNIT_EXPECT_EQ(test, st.aborted, 1ULL);
	KUNIT_EXPECT_EQ(test, kt->aborted_at_sync, 1U);
	kt_engine_stop(kt);
}

/* a completion callback with an error result: the request fails with it */
static void engine_segment_error_fails_the_request(struct kunit *test)
{
	struct kt_engine *kt = kt_engine_running(test);
	struct dmakit_engine_stats st;

	if (!kt)
		return;
	/* still busy: an error report is stale, as an interrupt would be */
	kt->busy = true;
	local_irq_disable();
	dmakit_engine_seg_error(&kt->eng, -EIO);
	local_irq_enable();
	KUNIT_EXPECT_EQ(test, completion_done(&kt->released), false);
	kt->busy = false;
	local_irq_disable();
	dmakit_engine_seg_error(&kt->eng, -EIO);
	local_irq_enable();
	kt_engine_end(test, kt);
	KUNIT_EXPECT_EQ(test, kt->req.status, -EIO);
	/* the later segments never started */
	KUNIT_EXPECT_EQ(test, kt->nstarted, 1U);
	KUNIT_EXPECT_EQ(test, kt->finished, 1U);
	dmakit_engine_get_stats(&kt->eng, &st);
	KUNIT_EXPECT_EQ(test, st.errors, 1ULL);
	KUNIT_EXPECT_EQ(test, st.completed, 0ULL);
	KUNIT_EXPECT_EQ(test, st.stale_irqs, 1ULL);
	KUNIT_EXPECT_EQ(test, st.segments, 1ULL);
	kt_engine_stop(kt);
}

/* a backend that cannot start a segment: the request ends with its error */
static void engine_start_failure_ends_the_request(struct kunit *test)
{
	struct kt_engine *kt;
	struct dmakit_engine_stats st;

	kt = kt_engine_running(test);
	if (!kt)
		return;
	kt->start_fails = 2;
	kt_irq(kt);		/* the second start fails */
	kt_engine_end(test, kt);
	KUNIT_EXPECT_EQ(test, kt->req.status, -EIO);
	KUNIT_EXPECT_EQ(test, kt->nstarted, 2U);
	KUNIT_EXPECT_EQ(test, kt->finished, 1U);
	/* nothing in flight: a late interrupt ends nothing */
	kt_irq(kt);
	dmakit_engine_get_stats(&kt->eng, &st);
	KUNIT_EXPECT_EQ(test, st.errors, 1ULL);
	KUNIT_EXPECT_EQ(test, st.segments, 1ULL);
	KUNIT_EXPECT_EQ(test, st.stale_irqs, 1ULL);
	kt_engine_stop(kt);
}

static struct kunit_case engine_kunit_cases[] = {
	KUNIT_CASE(engine_chains_segments_from_the_interrupt),
	KUNIT_CASE(engine_counts_interrupts_that_end_nothing),
	KUNIT_CASE(engine_cancel_stops_after_the_segment_in_flight),
	KUNIT_CASE(engine_cancel_aborts_where_the_backend_can),
	KUNIT_CASE(engine_segment_error_fails_the_request),
	KUNIT_CASE(engine_start_failure_ends_the_request),
	{}
};

static struct kunit_suite engine_kunit_suite = {
	.name = "dmakit_engine",
	.test_cases = engine_kunit_cases,
};

kunit_test_suite(engine_kunit_suite);

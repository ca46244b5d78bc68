// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit CLI: liveness, factorial, irq, loopback: edu's own registers,
 * its interrupt and a round trip through its window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_liveness(int argc, char **argv, struct opts *o)
{
	uint32_t value = parse_u32(argv[argc - 1], "VALUE"), result;
	int fd = open_dev(argv[argc - 2]), ret;

	(void)o;
	ret = dmakit_edu_liveness(fd, value, &result);
	if (ret)
		die("DMAKIT_IOC_EDU_LIVENESS", ret);
	printf("wrote %#010x, read back %#010x (%s)\n", value, result,
	       result == ~value ? "its complement: alive" : "WRONG");
	return result == ~value ? 0 : 1;
}

int cmd_factorial(int argc, char **argv, struct opts *o)
{
	uint32_t n = parse_u32(argv[argc - 1], "N"), result;
	int fd = open_dev(argv[argc - 2]), ret;

	(void)o;
	ret = dmakit_edu_factorial(fd, n, &result);
	if (ret)
		die("DMAKIT_IOC_EDU_FACTORIAL", ret);
	printf("%u! = %u (mod 2^32, computed by the device)\n", n, result);
	return 0;
}

int cmd_irq(int argc, char **argv, struct opts *o)
{
	struct dmakit_edu_raise_irq r = { .causes = parse_u32(argv[argc - 1], "CAUSES") };
	int fd = open_dev(argv[argc - 2]), ret;

	(void)o;
	ret = dmakit_edu_raise_irq(fd, &r);
	if (ret)
		die("DMAKIT_IOC_EDU_RAISE_IRQ", ret);
	printf("raised %#x; the handler saw and acked %#x; %llu interrupts so far\n",
	       r.causes, r.seen, (unsigned long long)r.irq_count);
	return 0;
}

int cmd_loopback(int argc, char **argv, struct opts *o)
{
	uint32_t len = parse_u32(argv[argc - 1], "LEN");
	int fd = open_dev(argv[argc - 2]), ret;
	unsigned char *src = xmalloc(len), *dst = xmalloc(len);
	struct dmakit_edu_loopback lb = {
		.len = len, .src = (uintptr_t)src, .dst = (uintptr_t)dst,
	};
	size_t bad = 0;
	double t;

	(void)o;
	fill_pattern(src, len, 0);
	memset(dst, 0, len ? len : 1);
	t = now();
	ret = dmakit_edu_loopback(fd, &lb);
	if (ret)
		die("DMAKIT_IOC_EDU_LOOPBACK", ret);
	t = now() - t;
	for (size_t i = 0; i < len; i++)
		bad += src[i] != dst[i];
	for (int i = 0; i < 2; i++)
		printf("%-4s page: phys %#014llx  bus %#014llx%s\n",
		       i ? "from" : "to", (unsigned long long)lb.phys[i],
		       (unsigned long long)lb.dma[i],
		       lb.bounced & (1 << i) ? "  (bounced through swiotlb)" : "");
	printf("%u bytes to the device and back in %.0f ms: %s\n", len,
	       t * 1e3, bad ? "MISMATCH" : "identical");
	if (!lb.phys[0])
		printf("(addresses are shown to CAP_SYS_ADMIN only)\n");
	free(src);
	free(dst);
	return bad ? 1 : 0;
}

// libnl-3 pieces the CNI plugin's workload setup needs (veth pairs, addresses, routes,
// neighbours) and the netns switch, wrapped where Swift cannot import the macro or inline.
#ifndef TWILL_CNETLINK_WORKLOAD_H
#define TWILL_CNETLINK_WORKLOAD_H

#include <unistd.h>
#include <sys/syscall.h>
#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>

/// IFF_UP without the <net/if.h> / <linux/if.h> conflict.
static inline unsigned int twill_wl_iff_up(void) { return 0x1; }

/// setns(fd, CLONE_NEWNET) for the calling thread; returns 0 or -errno.
static inline int twill_wl_setns_net(int fd) {
    long rc = syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */);
    return rc == 0 ? 0 : -1;
}

#endif

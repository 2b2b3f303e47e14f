// libnl-3 / libnl-route-3 for Swift. Macros and inline-only helpers Swift cannot import are
// wrapped here as `twill_nl_*` static inline functions (STYLE.md (d) 15).
#ifndef TWILL_CNETLINK_SHIM_H
#define TWILL_CNETLINK_SHIM_H

#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/rtnl.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/link/ipip.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/addr.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>

/// IFF_UP without pulling <net/if.h> vs <linux/if.h> conflicts into Swift.
static inline unsigned int twill_nl_iff_up(void) { return 0x1; }

/// Facts about one RTM_NEWROUTE / RTM_DELROUTE message, for the monitor. Returns 0 on success.
static inline int twill_nl_route_msg_info(struct nl_msg *msg, int *type, unsigned char *family,
                                          unsigned char *protocol, unsigned int *table,
                                          unsigned char *dst_len, unsigned char dst[16]) {
    struct nlmsghdr *h = nlmsg_hdr(msg);
    *type = h->nlmsg_type;
    if (h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE) return -1;
    if (!nlmsg_valid_hdr(h, sizeof(struct rtmsg))) return -1;
    struct rtmsg *rtm = nlmsg_data(h);
    *family = rtm->rtm_family;
    *protocol = rtm->rtm_protocol;
    *table = rtm->rtm_table;
    *dst_len = rtm->rtm_dst_len;
    memset(dst, 0, 16);
    struct nlattr *tb[RTA_MAX + 1];
    if (nlmsg_parse(h, sizeof(struct rtmsg), tb, RTA_MAX, NULL) < 0) return -1;
    if (tb[RTA_TABLE]) *table = nla_get_u32(tb[RTA_TABLE]);
    if (tb[RTA_DST]) {
        int len = nla_len(tb[RTA_DST]);
        memcpy(dst, nla_data(tb[RTA_DST]), len > 16 ? 16 : len);
    }
    return 0;
}

/// Facts about one RTM_NEWLINK / RTM_DELLINK message. Returns 0 on success.
static inline int twill_nl_link_msg_info(struct nl_msg *msg, int *type, int *ifindex,
                                         unsigned int *flags, unsigned int *change, char name[32]) {
    struct nlmsghdr *h = nlmsg_hdr(msg);
    *type = h->nlmsg_type;
    name[0] = 0;
    if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) return -1;
    if (!nlmsg_valid_hdr(h, sizeof(struct ifinfomsg))) return -1;
    struct ifinfomsg *ifi = nlmsg_data(h);
    *ifindex = ifi->ifi_index;
    *flags = ifi->ifi_flags;
    *change = ifi->ifi_change;
    struct nlattr *tb[IFLA_MAX + 1];
    if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) == 0 && tb[IFLA_IFNAME])
        nla_strlcpy(name, tb[IFLA_IFNAME], 32);
    return 0;
}

/// Facts about one RTM_NEWNEIGH / RTM_DELNEIGH message (ARP/ND or bridge FDB). Returns 0 on success.
static inline int twill_nl_neigh_msg_info(struct nl_msg *msg, int *type, int *family, int *ifindex,
                                          unsigned int *state) {
    struct nlmsghdr *h = nlmsg_hdr(msg);
    *type = h->nlmsg_type;
    if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH) return -1;
    if (!nlmsg_valid_hdr(h, sizeof(struct ndmsg))) return -1;
    struct ndmsg *nd = nlmsg_data(h);
    *family = nd->ndm_family;
    *ifindex = nd->ndm_ifindex;
    *state = nd->ndm_state;
    return 0;
}

/// Reads a built RTM_NEWLINK request back (for unit tests of message building): interface
/// name, IFLA_INFO_KIND, MTU (0 if absent), whether IFLA_INFO_DATA is present, and the
/// nlmsg flags. Returns 0 on success.
static inline int twill_nl_link_request_info(struct nl_msg *msg, char name[32], char kind[32],
                                             unsigned int *mtu, int *has_info_data,
                                             unsigned short *nlmsg_flags, int *nlmsg_type) {
    struct nlmsghdr *h = nlmsg_hdr(msg);
    *nlmsg_flags = h->nlmsg_flags;
    *nlmsg_type = h->nlmsg_type;
    name[0] = 0; kind[0] = 0; *mtu = 0; *has_info_data = 0;
    struct nlattr *tb[IFLA_MAX + 1];
    if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0) return -1;
    if (tb[IFLA_IFNAME]) nla_strlcpy(name, tb[IFLA_IFNAME], 32);
    if (tb[IFLA_MTU]) *mtu = nla_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_LINKINFO]) {
        struct nlattr *li[IFLA_INFO_MAX + 1];
        if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0) return -1;
        if (li[IFLA_INFO_KIND]) nla_strlcpy(kind, li[IFLA_INFO_KIND], 32);
        *has_info_data = li[IFLA_INFO_DATA] != NULL;
    }
    return 0;
}

/// Reads IFLA_VXLAN_* back from a built vxlan RTM_NEWLINK request. Returns 0 on success.
static inline int twill_nl_vxlan_request_info(struct nl_msg *msg, unsigned int *vni, unsigned short *port_host,
                                              int *learning, unsigned int *parent) {
    struct nlmsghdr *h = nlmsg_hdr(msg);
    struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *vx[IFLA_VXLAN_MAX + 1];
    *vni = 0; *port_host = 0; *learning = -1; *parent = 0;
    if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0 || !tb[IFLA_LINKINFO]) return -1;
    if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0 || !li[IFLA_INFO_DATA]) return -1;
    if (nla_parse_nested(vx, IFLA_VXLAN_MAX, li[IFLA_INFO_DATA], NULL) < 0) return -1;
    if (vx[IFLA_VXLAN_ID]) *vni = nla_get_u32(vx[IFLA_VXLAN_ID]);
    if (vx[IFLA_VXLAN_PORT]) *port_host = ntohs(nla_get_u16(vx[IFLA_VXLAN_PORT]));
    if (vx[IFLA_VXLAN_LEARNING]) *learning = nla_get_u8(vx[IFLA_VXLAN_LEARNING]);
    if (vx[IFLA_VXLAN_LINK]) *parent = nla_get_u32(vx[IFLA_VXLAN_LINK]);
    return 0;
}

/// Moves the calling thread into the network namespace `fd` refers to (setns(2) with
/// CLONE_NEWNET; glibc declares setns only under _GNU_SOURCE). Returns 0 or -1 with errno.
static inline int twill_setns_net(int fd) { return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */); }

#endif

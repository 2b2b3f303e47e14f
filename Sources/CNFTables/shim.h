#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdint.h>
#include <stddef.h>

// Helpers for macros and netlink header walking Swift cannot import (STYLE.md (d) 15).
// Every name is prefixed twill_nft_ so it never collides with libc or libnftnl.

static inline size_t twill_nft_socket_buffer_size(void) { return MNL_SOCKET_BUFFER_SIZE; }

/// setns(fd, CLONE_NEWNET) through syscall(2): glibc's setns needs _GNU_SOURCE.
static inline int twill_nft_setns_net(int fd) { return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */); }

/// The nfnetlink message type of an nf_tables message (NFNL_SUBSYS_NFTABLES << 8 | msg).
static inline uint16_t twill_nft_msg_type(uint16_t msg) { return (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | msg); }

/// Steps through a receive buffer. Returns the current message (or NULL at the end) and moves
/// the cursor past it.
static inline const struct nlmsghdr *twill_nft_next(const void **cursor, size_t *remaining) {
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)*cursor;
    if (*remaining < sizeof(struct nlmsghdr) || nlh->nlmsg_len < sizeof(struct nlmsghdr) ||
        nlh->nlmsg_len > *remaining)
        return NULL;
    size_t step = NLMSG_ALIGN(nlh->nlmsg_len);
    if (step > *remaining) step = *remaining;
    *cursor = (const char *)*cursor + step;
    *remaining -= step;
    return nlh;
}

/// For an NLMSG_ERROR message: the error (0 = ACK, else -errno) and the sequence number of the
/// request it answers. Returns 0 when the message is not a well-formed NLMSG_ERROR.
static inline int twill_nft_error_of(const struct nlmsghdr *nlh, int32_t *error, uint32_t *seq) {
    if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return 0;
    const struct nlmsgerr *e = (const struct nlmsgerr *)NLMSG_DATA(nlh);
    *error = e->error;
    *seq = e->msg.nlmsg_seq;
    return 1;
}

/// Length of a message as built (nlmsg_len), aligned.
static inline uint32_t twill_nft_aligned_len(const struct nlmsghdr *nlh) { return NLMSG_ALIGN(nlh->nlmsg_len); }

#ifndef TWILL_CSYSTEMSHIMS_H
#define TWILL_CSYSTEMSHIMS_H
// C helpers for socket options whose structs or macros Swift cannot import cleanly
// (STYLE.md (d) 15: function-like macros and some glibc enums do not import).
// Every function is prefixed twill_ so names never collide with libc. Each returns what the
// underlying call returns (-1 with errno set on failure) so the Swift funnel reads errno.
#include <stdint.h>
#include <sys/socket.h>

int twill_shims_version(void);

/// socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP).
int twill_tcp_socket(int family);
/// socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0).
int twill_unix_socket(void);
/// accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC).
int twill_accept(int fd, struct sockaddr *addr, socklen_t *len);
/// RFC 2385: setsockopt(TCP_MD5SIG) with a filled struct tcp_md5sig for one peer address.
/// keylen 0 removes the key for that address. addr is a sockaddr_in or sockaddr_in6.
int twill_set_tcp_md5(int fd, const struct sockaddr *addr, socklen_t addrlen, const uint8_t *key, int keylen);
/// RFC 5082 GTSM: IP_MINTTL (v4) or IPV6_MINHOPCOUNT (v6).
int twill_set_min_ttl(int fd, int family, int ttl);
/// Outgoing TTL: IP_TTL (v4) or IPV6_UNICAST_HOPS (v6).
int twill_set_ttl(int fd, int family, int ttl);
/// IPV6_V6ONLY on/off.
int twill_set_v6only(int fd, int on);
/// SO_REUSEADDR on.
int twill_set_reuseaddr(int fd);
/// TCP_NODELAY on.
int twill_set_nodelay(int fd);
/// getsockopt(SO_ERROR); returns -1 if getsockopt itself fails, else the pending error (0 = none).
int twill_so_error(int fd);
/// send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT).
long twill_send(int fd, const void *buf, unsigned long len);
/// Ignores SIGPIPE process-wide (Linux has no SO_NOSIGPIPE).
void twill_ignore_sigpipe(void);
/// mallopt(M_ARENA_MAX, n): caps glibc malloc arenas. Returns mallopt's result (1 = done).
int twill_set_malloc_arena_max(int n);
/// fill a sockaddr_un; returns -1 (ENAMETOOLONG) when the path does not fit.
int twill_unix_bind(int fd, const char *path);
int twill_unix_connect(int fd, const char *path);
/// posix_spawnp(argv[0]) with stdin/stdout/stderr set to in_fd/out_fd/err_fd (-1 keeps ours;
/// -2 means /dev/null) and EVERY other descriptor closed in the child (closefrom), so a child
/// never inherits another child's pipes or sockets (Foundation.Process detects exit through an
/// inherited socket, which breaks when a concurrently spawned child holds it). A non-empty
/// `setpgid_self` puts the child in its own process group. envp NULL keeps our environment.
/// Returns 0 and sets *pid, or an errno value.
int twill_spawn(int *pid, const char *const argv[], const char *const envp[], int in_fd, int out_fd, int err_fd,
                int own_group);
/// pipe2(fds, O_CLOEXEC).
int twill_pipe_cloexec(int fds[2]);
#endif

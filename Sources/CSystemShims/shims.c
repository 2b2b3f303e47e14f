#define _GNU_SOURCE
#include <malloc.h>
#include "CSystemShims.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73 /* linux/in6.h */
#endif

int twill_shims_version(void) { return 2; }

int twill_tcp_socket(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

int twill_unix_socket(void) { return socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

int twill_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int twill_set_tcp_md5(int fd, const struct sockaddr *addr, socklen_t addrlen, const uint8_t *key, int keylen) {
    struct tcp_md5sig sig;
    memset(&sig, 0, sizeof(sig));
    if (addrlen > sizeof(sig.tcpm_addr) || keylen < 0 || keylen > TCP_MD5SIG_MAXKEYLEN) {
        errno = EINVAL;
        return -1;
    }
    memcpy(&sig.tcpm_addr, addr, addrlen);
    sig.tcpm_keylen = (uint16_t)keylen;
    if (keylen > 0) memcpy(sig.tcpm_key, key, (size_t)keylen);
    return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig));
}

int twill_set_min_ttl(int fd, int family, int ttl) {
    if (family == AF_INET6) return setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &ttl, sizeof(ttl));
    return setsockopt(fd, IPPROTO_IP, IP_MINTTL, &ttl, sizeof(ttl));
}

int twill_set_ttl(int fd, int family, int ttl) {
    if (family == AF_INET6) return setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
    return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
}

int twill_set_v6only(int fd, int on) { return setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)); }

int twill_set_reuseaddr(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
}

int twill_set_nodelay(int fd) {
    int on = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int twill_so_error(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -1;
    return err;
}

long twill_send(int fd, const void *buf, unsigned long len) {
    return (long)send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void twill_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int twill_set_malloc_arena_max(int n) { return mallopt(M_ARENA_MAX, n); }

static int fill_sun(struct sockaddr_un *sun, const char *path) {
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) { errno = ENAMETOOLONG; return -1; }
    strcpy(sun->sun_path, path);
    return 0;
}

int twill_unix_bind(int fd, const char *path) {
    struct sockaddr_un sun;
    if (fill_sun(&sun, path) < 0) return -1;
    return bind(fd, (struct sockaddr *)&sun, sizeof(sun));
}

int twill_unix_connect(int fd, const char *path) {
    struct sockaddr_un sun;
    if (fill_sun(&sun, path) < 0) return -1;
    return connect(fd, (struct sockaddr *)&sun, sizeof(sun));
}

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>
extern char **environ;

int twill_spawn(int *pid, const char *const argv[], const char *const envp[], int in_fd, int out_fd, int err_fd,
                int own_group) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int r = posix_spawn_file_actions_init(&fa);
    if (r != 0) return r;
    r = posix_spawnattr_init(&attr);
    if (r != 0) { posix_spawn_file_actions_destroy(&fa); return r; }
    int fds[3] = {in_fd, out_fd, err_fd};
    for (int i = 0; i < 3 && r == 0; i++) {
        if (fds[i] == -2) r = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
        else if (fds[i] >= 0) r = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    }
    if (r == 0) r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (r == 0) r = posix_spawnattr_setsigmask(&attr, &none);
    if (r == 0) r = posix_spawnattr_setsigdefault(&attr, &all);
    if (r == 0 && own_group) { flags |= POSIX_SPAWN_SETPGROUP; r = posix_spawnattr_setpgroup(&attr, 0); }
    if (r == 0) r = posix_spawnattr_setflags(&attr, flags);
    if (r == 0) {
        pid_t p = 0;
        r = posix_spawnp(&p, argv[0], &fa, &attr, (char *const *)argv, envp ? (char *const *)envp : environ);
        if (r == 0) *pid = p;
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return r;
}

int twill_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

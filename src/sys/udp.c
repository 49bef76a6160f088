#include "sys/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void sockaddr6(struct sockaddr_in6 *sa, uint32_t ifindex, const struct wl_addr *a,
		      uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	sa->sin6_scope_id = ifindex;
	memcpy(&sa->sin6_addr, a->bytes, 16);
}

int udp_open(uint32_t ifindex, const struct wl_addr *addr, uint16_t port, int *fd_out)
{
	int one = 1, err;
	*fd_out = -1;
	if (addr->family != AF_INET6)
		return -EAFNOSUPPORT;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in6 sa;
	sockaddr6(&sa, ifindex, addr, port);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int udp_send(int fd, uint32_t ifindex, const struct wl_addr *dst, uint16_t port,
	     const uint8_t *buf, size_t len)
{
	struct sockaddr_in6 sa;
	sockaddr6(&sa, ifindex, dst, port);
	ssize_t n = sendto(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

bool udp_error_is_unreachable(int err)
{
	switch (-err) {
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EDESTADDRREQ:
	case ENOKEY: /* the kernel has no WireGuard session for the peer */
	case EAGAIN:
	case ECONNREFUSED:
	case ENOTCONN: /* no socket yet: the daemon is still binding */
		return true;
	}
	return false;
}

ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, struct wl_addr *src, bool *truncated)
{
	struct sockaddr_in6 sa;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_name = &sa,
		.msg_namelen = sizeof(sa),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	*truncated = (msg.msg_flags & MSG_TRUNC) != 0;
	if (msg.msg_namelen >= sizeof(sa) && sa.sin6_family == AF_INET6)
		wl_addr_from_v6(src, sa.sin6_addr.s6_addr);
	else
		memset(src, 0, sizeof(*src));
	return n;
}

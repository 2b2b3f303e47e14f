#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/addr.h>

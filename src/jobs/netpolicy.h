/*
 * netpolicy.h
 *	  Kernel: the network policy of jobs' transfers, built from the settings
 *	  mlops.allowed_hosts and mlops.denied_networks.  No PostgreSQL headers:
 *	  the glue parses the settings with it (and refuses a bad one), the
 *	  transfer kernel checks every URL, redirect hop and connection with it.
 *
 *	  Allowed hosts: a comma-separated list of entries, white space around
 *	  an entry ignored.  An empty list (or only white space) allows every
 *	  host.  Each entry is one of
 *
 *		host			ports 80 and 443 only (the ports of http:// and
 *						https:// URLs that name none)
 *		host:port		exactly that port (1 to 65535)
 *		host:*			any port
 *
 *	  where host is a name (letters, digits, '-', '.', '_') or an IPv4
 *	  address, or an IPv6 address in brackets: "[::1]", "[::1]:8080",
 *	  "[::1]:*".  A URL's host is matched against the entries as libcurl
 *	  parses the URL (so "http://0x7f.1/" is host 127.0.0.1), textually and
 *	  case-insensitively, with IPv6 addresses compared in their canonical
 *	  form ("[0:0::1]" is "[::1]").  No name is resolved: 0.0.0.0 and
 *	  [::ffff:127.0.0.1] do not match an entry 127.0.0.1, and a name does not
 *	  match the address it resolves to.  That a bare host allows ports 80 and
 *	  443 whatever the scheme (http://host:443/ too) is deliberate: the rule
 *	  is about which services of the host are reached, and the scheme is
 *	  refused separately (http and https only).
 *
 *	  Denied networks: a comma-separated list of CIDRs, IPv4 ("169.254.0.0/16")
 *	  or IPv6 ("fe80::/10"); a bare address is a /32 or /128.  An empty list
 *	  denies nothing.  Bits set beyond the prefix are ignored ("10.1.2.3/8" is
 *	  10.0.0.0/8).  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as
 *	  the IPv4 address a.b.c.d against the IPv4 networks, and as itself
 *	  against the IPv6 ones; an IPv6 network inside ::ffff:0:0/96 with a
 *	  prefix of 96 or more is the IPv4 network it maps, so
 *	  "::ffff:10.0.0.0/104" denies 10.0.0.0/8 for IPv4 and IPv6 sockets both.
 *	  A plain IPv4 address is checked against the IPv4 networks only ("::/0"
 *	  denies every IPv6 address, mapped ones included, and no IPv4 one).
 *
 *	  A policy is one allocation (malloc), owned by whoever made it; it holds
 *	  no pointer to the strings it was made from and no global state.
 */
#ifndef MLOPS_NETPOLICY_H
#define MLOPS_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct netpolicy netpolicy;

/*
 * netpolicy_parse_hosts and netpolicy_parse_networks check a setting's
 * text without keeping anything: true when it is well formed, else false
 * with a lower-case reason naming the bad entry in err (an empty entry, a
 * bad host or port, a bad address, a prefix too long).  NULL is the empty
 * list.  For the settings' check hooks.
 */
extern bool netpolicy_parse_hosts(const char *list, char *err, size_t errlen);
extern bool netpolicy_parse_networks(const char *list, char *err, size_t errlen);

/*
 * netpolicy_create builds a policy from the two settings (NULL is the empty
 * list).  NULL with a reason in err when either is malformed, or "out of
 * memory".  Free it with netpolicy_free.
 */
extern netpolicy *netpolicy_create(const char *allowed_hosts, const char *denied_networks,
								   char *err, size_t errlen);

/* netpolicy_copy returns a copy of policy (NULL when out of memory, or when policy is NULL). */
extern netpolicy *netpolicy_copy(const netpolicy *policy);

/* netpolicy_free frees a policy; NULL is fine. */
extern void netpolicy_free(netpolicy *policy);

/*
 * netpolicy_host_allowed: host (as libcurl's URL parser gives it: an IPv6
 * address in brackets) on port is allowed by the list.  True when policy is
 * NULL or its list is empty.
 */
extern bool netpolicy_host_allowed(const netpolicy *policy, const char *host, int port);

/*
 * netpolicy_addr_denied: the address sa (AF_INET or AF_INET6; the port is
 * not looked at) is in a denied network.  When it is, why (if given) says
 * "connection to <address> refused: it is in mlops.denied_networks
 * (<network as written>)".  False when policy is NULL, for other families,
 * and when no network matches (why is then "").
 */
extern bool netpolicy_addr_denied(const netpolicy *policy, const struct sockaddr *sa,
								  char *why, size_t whylen);

/*
 * netpolicy_check_url parses an absolute URL with libcurl's URL API and
 * refuses, with a lower-case reason in err: a URL libcurl cannot parse or
 * that is not absolute, a scheme other than http and https, a user name or
 * password in it (the reason never repeats them), a URL without a host, and
 * a host and port the allowed hosts do not allow ("host \"h:p\" is not in
 * mlops.allowed_hosts", with the effective port).  With a NULL policy every
 * host is allowed, the other checks remain.
 */
extern bool netpolicy_check_url(const netpolicy *policy, const char *url, char *err, size_t errlen);

#endif							/* MLOPS_NETPOLICY_H */

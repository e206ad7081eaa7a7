/*
 * fuzz_netpolicy.c — libFuzzer target for the network policy kernel
 * (src/jobs/netpolicy.c).
 *
 * The input is split at its first two newlines into an allowed-hosts list,
 * a denied-networks list and a URL (missing parts are empty).  Besides the
 * sanitizers, it checks that the parse functions and netpolicy_create agree
 * on what is well formed, that every refusal carries a reason, that a copy
 * of a policy judges as the original does, that a policy only ever narrows
 * what a NULL policy accepts, and that netpolicy_addr_denied names the
 * address exactly when it denies it (the first 16 bytes of the input are
 * tried as an IPv4, an IPv6 and an IPv4-mapped IPv6 address).
 */
#include "jobs/netpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_addr: denied with a reason, or not denied with none; a copy agrees.  Returns whether denied. */
static bool
check_addr(const netpolicy *p, const netpolicy *copy, const struct sockaddr *sa)
{
	char		why[256];
	char		why2[256];
	bool		d = netpolicy_addr_denied(p, sa, why, sizeof(why));

	REQUIRE(d == (why[0] != '\0'));
	REQUIRE(!d || strncmp(why, "connection to ", 14) == 0);
	REQUIRE(netpolicy_addr_denied(copy, sa, why2, sizeof(why2)) == d);
	REQUIRE(strcmp(why, why2) == 0);
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	char	   *hosts;
	char	   *nets = NULL;
	char	   *url = NULL;
	char		err[256];
	char		err2[256];
	bool		hosts_ok;
	bool		nets_ok;
	netpolicy  *p;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	hosts = text;
	if ((nets = strchr(hosts, '\n')) != NULL)
	{
		*nets++ = '\0';
		if ((url = strchr(nets, '\n')) != NULL)
			*url++ = '\0';
	}

	hosts_ok = netpolicy_parse_hosts(hosts, err, sizeof(err));
	REQUIRE(hosts_ok == (err[0] == '\0'));
	nets_ok = netpolicy_parse_networks(nets, err, sizeof(err));
	REQUIRE(nets_ok == (err[0] == '\0'));
	p = netpolicy_create(hosts, nets, err, sizeof(err));
	REQUIRE((p != NULL) == (hosts_ok && nets_ok));
	REQUIRE((p != NULL) == (err[0] == '\0'));

	if (p != NULL)
	{
		netpolicy  *copy = netpolicy_copy(p);
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
		uint8_t		addr[16] = {0};
		bool		denied4;

		REQUIRE(copy != NULL);
		if (url != NULL)
		{
			bool		ok = netpolicy_check_url(p, url, err, sizeof(err));

			REQUIRE(ok == (err[0] == '\0'));
			REQUIRE(netpolicy_check_url(copy, url, err2, sizeof(err2)) == ok);
			REQUIRE(strcmp(err, err2) == 0);
			/* a policy narrows: what it accepts, no policy accepts */
			if (ok)
				REQUIRE(netpolicy_check_url(NULL, url, err2, sizeof(err2)));
			/* the host line as a host, on a few ports */
			for (int port = 0; port <= 65536; port += 4369)
				REQUIRE(netpolicy_host_allowed(p, url, port) == netpolicy_host_allowed(copy, url, port));
		}

		memcpy(addr, data, size < sizeof(addr) ? size : sizeof(addr));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, addr, 4);
		denied4 = check_addr(p, copy, (const struct sockaddr *) &sin);
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, addr, 16);
		check_addr(p, copy, (const struct sockaddr *) &sin6);
		/* the same IPv4 address, mapped: denied at least when the IPv4 one is */
		memset(&sin6.sin6_addr, 0, 10);
		memset((uint8_t *) &sin6.sin6_addr + 10, 0xff, 2);
		memcpy((uint8_t *) &sin6.sin6_addr + 12, addr, 4);
		REQUIRE(check_addr(p, copy, (const struct sockaddr *) &sin6) || !denied4);
		netpolicy_free(copy);
		netpolicy_free(p);
	}
	free(text);
	return 0;
}

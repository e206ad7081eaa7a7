/*
 * test_netpolicy.c — unit tests of the network policy kernel
 * (src/jobs/netpolicy.c): parsing mlops.allowed_hosts and
 * mlops.denied_networks, host and port rules, address ranges (IPv4, IPv6,
 * IPv4-mapped IPv6) and URL checks.  No network is used.
 */
#include "jobs/netpolicy.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>

/* expect_hosts: netpolicy_parse_hosts accepts list, or refuses it with a reason holding want_in. */
static void
expect_hosts(const char *list, bool ok, const char *want_in)
{
	char		err[256];
	char		what[300];
	bool		got = netpolicy_parse_hosts(list, err, sizeof(err));

	snprintf(what, sizeof(what), "hosts \"%s\" %s", list ? list : "(null)", ok ? "accepted" : "refused");
	CHECK_INT(got, ok, what);
	if (ok)
	{
		if (!CHECK(err[0] == '\0', "no reason when accepted"))
			printf("#   got \"%s\"\n", err);
		return;
	}
	snprintf(what, sizeof(what), "hosts \"%s\": reason holds \"%s\"", list, want_in);
	if (!CHECK(strstr(err, want_in) != NULL, what))
		printf("#   got \"%s\"\n", err);
}

/* expect_nets: the same for netpolicy_parse_networks. */
static void
expect_nets(const char *list, bool ok, const char *want_in)
{
	char		err[256];
	char		what[300];
	bool		got = netpolicy_parse_networks(list, err, sizeof(err));

	snprintf(what, sizeof(what), "networks \"%s\" %s", list ? list : "(null)", ok ? "accepted" : "refused");
	CHECK_INT(got, ok, what);
	if (ok)
	{
		if (!CHECK(err[0] == '\0', "no reason when accepted"))
			printf("#   got \"%s\"\n", err);
		return;
	}
	snprintf(what, sizeof(what), "networks \"%s\": reason holds \"%s\"", list, want_in);
	if (!CHECK(strstr(err, want_in) != NULL, what))
		printf("#   got \"%s\"\n", err);
}

/* test_parse: good and bad lists of both settings. */
static void
test_parse(void)
{
	char		err[256];
	char		longname[300];

	expect_hosts(NULL, true, "");
	expect_hosts("", true, "");
	expect_hosts("   ", true, "");
	expect_hosts("example.com", true, "");
	expect_hosts("example.com, files.example.org:8443 ,127.0.0.1:*", true, "");
	expect_hosts("[::1]", true, "");
	expect_hosts("[::1]:8080,[FE80::1]:*", true, "");
	expect_hosts("under_score.internal:1", true, "");
	expect_hosts("h:65535", true, "");
	expect_hosts("a,,b", false, "entry 2 of the list is empty");
	expect_hosts("a,", false, "entry 2 of the list is empty");
	expect_hosts(",a", false, "entry 1 of the list is empty");
	expect_hosts(" , ", false, "entry 1 of the list is empty");
	expect_hosts("h:0", false, "the port must be a number from 1 to 65535");
	expect_hosts("h:65536", false, "the port must be a number");
	expect_hosts("h:99999", false, "\"h:99999\"");
	expect_hosts("h:", false, "the port must be");
	expect_hosts("h:8x", false, "the port must be");
	expect_hosts("h:+80", false, "the port must be");
	expect_hosts("h:123456", false, "the port must be");
	expect_hosts(":80", false, "no host");
	expect_hosts("::1", false, "in brackets");
	expect_hosts("fe80::1:80", false, "in brackets");
	expect_hosts("[::1", false, "no \"]\"");
	expect_hosts("[::g]:80", false, "\"::g\" is not an ipv6 address");
	expect_hosts("[127.0.0.1]", false, "is not an ipv6 address");
	expect_hosts("[::1]x", false, "only \":port\" may follow");
	expect_hosts("[::1]:0", false, "the port must be");
	expect_hosts("exa mple.com", false, "a host is a name");
	expect_hosts("user@example.com", false, "a host is a name");
	expect_hosts("*", false, "a host is a name");
	memset(longname, 'a', 254);
	longname[254] = '\0';
	expect_hosts(longname, false, "at most 253 characters");
	longname[253] = '\0';
	expect_hosts(longname, true, "");

	expect_nets(NULL, true, "");
	expect_nets("", true, "");
	expect_nets("169.254.0.0/16,fe80::/10,fd00:ec2::254", true, "");
	expect_nets(" 10.0.0.0/8 , ::1 ", true, "");
	expect_nets("0.0.0.0/0,::/0", true, "");
	expect_nets("10.1.2.3/8", true, "");
	expect_nets("1.2.3.4/32,::1/128", true, "");
	expect_nets("::ffff:10.0.0.0/104", true, "");
	expect_nets("10.0.0.0/33", false, "the prefix of an ipv4 network is at most 32");
	expect_nets("fe80::/129", false, "the prefix of an ipv6 network is at most 128");
	expect_nets("10.0.0.0/1000", false, "the prefix length must be a number");
	expect_nets("10.0.0.0/", false, "the prefix length must be a number");
	expect_nets("10.0.0.0/-1", false, "the prefix length must be a number");
	expect_nets("10.0.0.0/ 8", false, "the prefix length must be a number");
	expect_nets("10.0.0/8", false, "\"10.0.0\" is not an ipv4 or ipv6 address");
	expect_nets("10.0.0.256", false, "is not an ipv4 or ipv6 address");
	expect_nets("localhost", false, "is not an ipv4 or ipv6 address");
	expect_nets("/8", false, "is not an ipv4 or ipv6 address");
	expect_nets("[::1]/128", false, "is not an ipv4 or ipv6 address");
	expect_nets("fe80::1%eth0", false, "is not an ipv4 or ipv6 address");
	expect_nets("10.0.0.0/8,,::1", false, "entry 2 of the list is empty");
	expect_nets("10.0.0.0/8,", false, "entry 2 of the list is empty");
	expect_nets("1111:2222:3333:4444:5555:6666:7777:8888/128-and-then-some-more-text-to-be-too-long", false, "too long");

	CHECK(netpolicy_create("a,,b", "", err, sizeof(err)) == NULL, "create refuses bad hosts");
	CHECK(strstr(err, "empty") != NULL, "create says why (hosts)");
	CHECK(netpolicy_create("", "10.0.0.0/40", err, sizeof(err)) == NULL, "create refuses bad networks");
	CHECK(strstr(err, "at most 32") != NULL, "create says why (networks)");
	CHECK(netpolicy_parse_hosts("h:0", NULL, 0) == false, "refused without a buffer");
}

/* allowed: netpolicy_host_allowed through a fresh policy of hosts. */
static bool
allowed(const char *hosts, const char *host, int port)
{
	char		err[256];
	netpolicy  *p = netpolicy_create(hosts, NULL, err, sizeof(err));
	bool		r;

	if (p == NULL)
	{
		printf("# netpolicy_create(\"%s\"): %s\n", hosts, err);
		return false;
	}
	r = netpolicy_host_allowed(p, host, port);
	netpolicy_free(p);
	return r;
}

/* test_hosts: port rules, case, IPv6 literals, the empty list. */
static void
test_hosts(void)
{
	netpolicy  *p;
	netpolicy  *copy;
	char		err[256];

	CHECK(netpolicy_host_allowed(NULL, "anything", 1), "NULL policy allows every host");
	CHECK(allowed("", "anything", 5432), "empty list allows every host and port");

	/* host alone: the web ports */
	CHECK(allowed("example.com", "example.com", 80), "bare host: port 80");
	CHECK(allowed("example.com", "example.com", 443), "bare host: port 443");
	CHECK(!allowed("example.com", "example.com", 8080), "bare host: not 8080");
	CHECK(!allowed("127.0.0.1", "127.0.0.1", 5432), "bare 127.0.0.1: not 5432");
	/* host:port exactly */
	CHECK(allowed("127.0.0.1:5000", "127.0.0.1", 5000), "host:port: that port");
	CHECK(!allowed("127.0.0.1:5000", "127.0.0.1", 5001), "host:port: not the next one");
	CHECK(!allowed("127.0.0.1:5000", "127.0.0.1", 80), "host:port: not 80");
	CHECK(allowed("127.0.0.1:5000,127.0.0.1:5001", "127.0.0.1", 5001), "two entries of one host");
	/* host:* */
	CHECK(allowed("h:*", "h", 1) && allowed("h:*", "h", 65535) && allowed("h:*", "h", 80), "host:* any port");
	/* case */
	CHECK(allowed("Example.COM", "example.com", 443), "entry case ignored");
	CHECK(allowed("example.com", "EXAMPLE.Com", 443), "url host case ignored");
	/* names are not suffixes or prefixes of one another */
	CHECK(!allowed("example.com", "evil-example.com", 443), "no suffix match");
	CHECK(!allowed("example.com", "example.com.evil.org", 443), "no prefix match");
	CHECK(!allowed("example.com", "example.com.", 443), "a trailing dot is another name");
	CHECK(!allowed("example.com", "", 443), "empty host refused");
	CHECK(!allowed("example.com", NULL, 443), "NULL host refused");
	/* addresses are textual */
	CHECK(!allowed("127.0.0.1:*", "0.0.0.0", 80), "0.0.0.0 is not 127.0.0.1");
	CHECK(!allowed("127.0.0.1:*", "[::ffff:127.0.0.1]", 80), "[::ffff:127.0.0.1] is not 127.0.0.1");
	CHECK(!allowed("127.0.0.1:*", "localhost", 80), "localhost is not 127.0.0.1");
	CHECK(!allowed("localhost:*", "127.0.0.1", 80), "127.0.0.1 is not localhost");
	/* IPv6 literals, canonical */
	CHECK(allowed("[::1]", "[::1]", 443), "[::1]");
	CHECK(allowed("[::1]:8080", "[0:0:0:0:0:0:0:1]", 8080), "[::1] long form");
	CHECK(!allowed("[::1]:8080", "[::1]", 8081), "[::1]:8080 not 8081");
	CHECK(allowed("[FE80::A]:*", "[fe80::a]", 9), "IPv6 hex case");
	CHECK(allowed("[::ffff:127.0.0.1]:*", "[::ffff:7f00:1]", 9), "mapped IPv6 in either form");
	CHECK(!allowed("[::1]:*", "::1", 9), "an IPv6 host without brackets does not match");
	CHECK(!allowed("[::ffff:127.0.0.1]:*", "127.0.0.1", 9), "127.0.0.1 is not [::ffff:127.0.0.1]");

	/* a copy is independent of the original */
	p = netpolicy_create("a.example:81", "10.0.0.0/8", err, sizeof(err));
	copy = netpolicy_copy(p);
	netpolicy_free(p);
	CHECK(copy != NULL && netpolicy_host_allowed(copy, "a.example", 81), "the copy allows what the original did");
	CHECK(!netpolicy_host_allowed(copy, "a.example", 80), "the copy refuses what the original did");
	netpolicy_free(copy);
	CHECK(netpolicy_copy(NULL) == NULL, "copy of NULL is NULL");
	netpolicy_free(NULL);
}

/* sa4 fills a sockaddr_in for text. */
static const struct sockaddr *
sa4(struct sockaddr_in *sin, const char *text)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(80);
	if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
		printf("# bad test address %s\n", text);
	return (const struct sockaddr *) sin;
}

/* sa6 fills a sockaddr_in6 for text. */
static const struct sockaddr *
sa6(struct sockaddr_in6 *sin6, const char *text)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(80);
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
		printf("# bad test address %s\n", text);
	return (const struct sockaddr *) sin6;
}

/* denied: the address (IPv4 or IPv6 text) is in one of nets. */
static bool
denied(const char *nets, const char *addr)
{
	char		err[256];
	netpolicy  *p = netpolicy_create(NULL, nets, err, sizeof(err));
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	bool		r;

	if (p == NULL)
	{
		printf("# netpolicy_create(networks \"%s\"): %s\n", nets, err);
		return false;
	}
	r = netpolicy_addr_denied(p, strchr(addr, ':') ? sa6(&sin6, addr) : sa4(&sin, addr), NULL, 0);
	netpolicy_free(p);
	return r;
}

/* test_networks: ranges and their boundaries, /0, /32, /128, mapped addresses, the message. */
static void
test_networks(void)
{
	netpolicy  *p;
	char		err[256];
	char		why[256];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr other;

	/* boundaries of an IPv4 range */
	CHECK(denied("169.254.0.0/16", "169.254.0.0"), "169.254.0.0/16: first address");
	CHECK(denied("169.254.0.0/16", "169.254.169.254"), "169.254.0.0/16: the metadata address");
	CHECK(denied("169.254.0.0/16", "169.254.255.255"), "169.254.0.0/16: last address");
	CHECK(!denied("169.254.0.0/16", "169.253.255.255"), "169.254.0.0/16: one below");
	CHECK(!denied("169.254.0.0/16", "169.255.0.0"), "169.254.0.0/16: one above");
	/* a prefix not on a byte boundary */
	CHECK(denied("172.16.0.0/12", "172.31.255.255"), "172.16.0.0/12: last address");
	CHECK(!denied("172.16.0.0/12", "172.32.0.0"), "172.16.0.0/12: one above");
	CHECK(!denied("172.16.0.0/12", "172.15.255.255"), "172.16.0.0/12: one below");
	CHECK(denied("10.1.2.3/8", "10.200.0.1"), "bits past the prefix are ignored");
	/* /0, /32, bare */
	CHECK(denied("0.0.0.0/0", "255.255.255.255") && denied("0.0.0.0/0", "0.0.0.0"), "0.0.0.0/0: every IPv4 address");
	CHECK(!denied("0.0.0.0/0", "::1"), "0.0.0.0/0: no IPv6 address");
	CHECK(denied("1.2.3.4/32", "1.2.3.4") && !denied("1.2.3.4/32", "1.2.3.5"), "/32: one address");
	CHECK(denied("1.2.3.4", "1.2.3.4") && !denied("1.2.3.4", "1.2.3.3"), "bare IPv4: /32");
	CHECK(denied("0.0.0.0/8", "0.0.0.0"), "0.0.0.0/8 holds 0.0.0.0");
	/* IPv6 */
	CHECK(denied("fe80::/10", "fe80::1") && denied("fe80::/10", "febf:ffff::1"), "fe80::/10: inside");
	CHECK(!denied("fe80::/10", "fec0::1") && !denied("fe80::/10", "fe7f:ffff::1"), "fe80::/10: just outside");
	CHECK(denied("fd00:ec2::254", "fd00:ec2::254") && !denied("fd00:ec2::254", "fd00:ec2::255"), "bare IPv6: /128");
	CHECK(denied("::1/128", "::1") && !denied("::1/128", "::2"), "/128: one address");
	CHECK(denied("::/0", "2001:db8::1") && denied("::/0", "::"), "::/0: every IPv6 address");
	CHECK(!denied("::/0", "127.0.0.1"), "::/0: no IPv4 address");
	CHECK(!denied("fe80::/10", "169.254.1.1"), "an IPv6 network does not hold IPv4 addresses");
	/* IPv4-mapped IPv6 addresses are checked as IPv4 */
	CHECK(denied("127.0.0.0/8", "::ffff:127.0.0.1"), "::ffff:127.0.0.1 is in 127.0.0.0/8");
	CHECK(denied("169.254.0.0/16", "::ffff:169.254.169.254"), "::ffff:169.254.169.254 is in 169.254.0.0/16");
	CHECK(!denied("127.0.0.0/8", "::ffff:128.0.0.1"), "::ffff:128.0.0.1 is not in 127.0.0.0/8");
	CHECK(denied("0.0.0.0/0", "::ffff:8.8.8.8"), "0.0.0.0/0 holds every mapped address");
	CHECK(!denied("127.0.0.0/8", "::127.0.0.1"), "an IPv4-compatible address is not mapped");
	CHECK(!denied("127.0.0.0/8", "64:ff9b::7f00:1"), "a NAT64 address is not mapped");
	CHECK(denied("::/0", "::ffff:8.8.8.8"), "::/0 holds mapped addresses too (as IPv6)");
	/* an IPv6 network of mapped addresses is the IPv4 network */
	CHECK(denied("::ffff:10.0.0.0/104", "10.1.2.3"), "::ffff:10.0.0.0/104 holds 10.1.2.3");
	CHECK(denied("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"), "::ffff:10.0.0.0/104 holds ::ffff:10.1.2.3");
	CHECK(!denied("::ffff:10.0.0.0/104", "11.0.0.0"), "::ffff:10.0.0.0/104 does not hold 11.0.0.0");
	CHECK(denied("::ffff:0:0/96", "1.2.3.4"), "::ffff:0:0/96 holds every IPv4 address");
	CHECK(!denied("::ffff:0:0/95", "1.2.3.4"), "::ffff:0:0/95 is an IPv6 network");

	/* the message names the address and the network as written */
	p = netpolicy_create("", "10.0.0.0/8, 169.254.0.0/16 ,fe80::/10", err, sizeof(err));
	CHECK(p != NULL, "policy with three networks");
	CHECK(netpolicy_addr_denied(p, sa4(&sin, "169.254.169.254"), why, sizeof(why)), "169.254.169.254 denied");
	CHECK_STR(why, "connection to 169.254.169.254 refused: it is in mlops.denied_networks (169.254.0.0/16)",
			  "message names the address and the network");
	CHECK(netpolicy_addr_denied(p, sa6(&sin6, "::ffff:10.9.8.7"), why, sizeof(why)), "::ffff:10.9.8.7 denied");
	CHECK_STR(why, "connection to ::ffff:10.9.8.7 refused: it is in mlops.denied_networks (10.0.0.0/8)",
			  "mapped: message names the IPv6 address and the IPv4 network");
	CHECK(netpolicy_addr_denied(p, sa6(&sin6, "FE80::1"), why, sizeof(why)), "fe80::1 denied");
	CHECK_STR(why, "connection to fe80::1 refused: it is in mlops.denied_networks (fe80::/10)", "IPv6 message");
	CHECK(!netpolicy_addr_denied(p, sa4(&sin, "8.8.8.8"), why, sizeof(why)), "8.8.8.8 not denied");
	CHECK_STR(why, "", "no message when not denied");
	memset(&other, 0, sizeof(other));
	other.sa_family = AF_UNIX;
	CHECK(!netpolicy_addr_denied(p, &other, why, sizeof(why)), "another family is not looked at");
	CHECK(!netpolicy_addr_denied(p, NULL, why, sizeof(why)), "NULL address not denied");
	CHECK(!netpolicy_addr_denied(NULL, sa4(&sin, "10.0.0.1"), why, sizeof(why)), "NULL policy denies nothing");
	netpolicy_free(p);
	CHECK(!denied("", "10.0.0.1"), "empty list denies nothing");
}

/* expect_url: netpolicy_check_url with a policy of hosts accepts url, or refuses it saying want_in. */
static void
expect_url(const char *hosts, const char *url, bool ok, const char *want_in)
{
	char		err[256];
	char		what[400];
	netpolicy  *p = hosts ? netpolicy_create(hosts, NULL, err, sizeof(err)) : NULL;
	bool		got = netpolicy_check_url(p, url, err, sizeof(err));

	snprintf(what, sizeof(what), "[%s] \"%s\" %s", hosts ? hosts : "no policy", url ? url : "(null)",
			 ok ? "accepted" : "refused");
	CHECK_INT(got, ok, what);
	if (!ok)
	{
		snprintf(what, sizeof(what), "[%s] \"%s\": reason holds \"%s\"", hosts ? hosts : "no policy",
				 url ? url : "(null)", want_in);
		if (!CHECK(strstr(err, want_in) != NULL, what))
			printf("#   got \"%s\"\n", err);
	}
	else if (!CHECK(err[0] == '\0', "no reason when accepted"))
		printf("#   got \"%s\"\n", err);
	netpolicy_free(p);
}

/* test_urls: schemes, relative URLs, userinfo, hosts and ports as libcurl parses them. */
static void
test_urls(void)
{
	char		err[256];

	/* without a policy: scheme, form and userinfo only */
	expect_url(NULL, "http://anything:5432/x", true, "");
	expect_url(NULL, "HTTPS://Example.com/a?b#c", true, "");
	expect_url(NULL, "ftp://example.com/", false, "url scheme \"ftp\" is not allowed");
	expect_url(NULL, "FILE:///etc/passwd", false, "url scheme \"file\" is not allowed");
	expect_url(NULL, "gopher://example.com/", false, "\"gopher\"");
	expect_url(NULL, "mailto:a@example.com", false, "\"mailto\"");
	expect_url(NULL, "", false, "empty url");
	expect_url(NULL, NULL, false, "empty url");
	expect_url(NULL, "/relative/path", false, "url is not absolute");
	expect_url(NULL, "../up", false, "url is not absolute");
	expect_url(NULL, "//example.com/x", false, "url is not absolute");
	expect_url(NULL, "example.com/x", false, "url is not absolute");
	expect_url(NULL, "?q=1", false, "url is not absolute");
	expect_url(NULL, "http://", false, "no host");
	expect_url(NULL, "http://exa mple.com/", false, "invalid url");
	expect_url(NULL, "http://user:pw-SECRET@example.com/", false, "url must not hold a user name or password");
	expect_url(NULL, "http://user@example.com/", false, "url must not hold a user name or password");
	expect_url(NULL, "http://:pw-SECRET@example.com/", false, "url must not hold a user name or password");
	expect_url(NULL, "http://@example.com/", false, "url must not hold a user name or password");
	CHECK(!netpolicy_check_url(NULL, "http://u:pw-SECRET@h/", err, sizeof(err)) &&
		  strstr(err, "pw-SECRET") == NULL && strstr(err, "u:") == NULL, "userinfo is never repeated");

	/* hosts and ports */
	expect_url("example.com", "http://example.com/x", true, "");
	expect_url("example.com", "https://example.com/x", true, "");
	expect_url("example.com", "https://EXAMPLE.COM:443/x", true, "");
	expect_url("example.com", "http://example.com:8080/x", false, "host \"example.com:8080\" is not in mlops.allowed_hosts");
	expect_url("example.com", "https://other.com/x", false, "host \"other.com:443\" is not in mlops.allowed_hosts");
	expect_url("127.0.0.1", "http://127.0.0.1:5432/", false, "host \"127.0.0.1:5432\" is not in mlops.allowed_hosts");
	expect_url("127.0.0.1:8080", "http://127.0.0.1:8080/", true, "");
	expect_url("127.0.0.1:8080", "http://127.0.0.1:8081/", false, "\"127.0.0.1:8081\"");
	expect_url("127.0.0.1:8080", "http://0.0.0.0:8080/", false, "host \"0.0.0.0:8080\" is not in mlops.allowed_hosts");
	expect_url("127.0.0.1:8080", "http://[::ffff:127.0.0.1]:8080/", false,
			   "host \"[::ffff:127.0.0.1]:8080\" is not in mlops.allowed_hosts");
	expect_url("127.0.0.1:8080", "http://0x7f.1:8080/", true, "");	/* libcurl reads it as 127.0.0.1 */
	expect_url("127.0.0.1:8080", "http://2130706433:8080/", true, "");
	expect_url("[::1]:8080", "http://[::1]:8080/", true, "");
	expect_url("[::1]:8080", "http://[0::1]:8080/", true, "");
	expect_url("[::1]", "http://[::1]/", true, "");
	expect_url("[::1]", "http://[::1]:81/", false, "host \"[::1]:81\"");
	expect_url("a.example:*", "http://a.example:1/", true, "");
	expect_url("a.example:*", "http://a.example.evil/", false, "not in mlops.allowed_hosts");
	expect_url("a.example:*", "http://u:p@a.example/", false, "user name or password");
	expect_url("a.example:*", "file:///etc/passwd", false, "\"file\"");
}

int
main(void)
{
	test_parse();
	test_hosts();
	test_networks();
	test_urls();
	return unit_done();
}

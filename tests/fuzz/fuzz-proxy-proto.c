/* fuzz-proxy-proto.c: libFuzzer target for src/net/proxy-proto.c.
 *
 * The input is what a balancer (or anyone on a `proxy` listener) sends
 * first.  Besides not crashing, the parser must keep its contract, on
 * which the socket reader relies to take only header bytes: a complete
 * header's length lies within the input and every shorter prefix of it is
 * "need more" (0); "need more" for the whole input means "need more" for
 * every prefix too; a refusal has a reason; the results are well-formed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "base/base.h"
#include "net/proxy-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const uint8_t *data, size_t size, struct net_proxy_header *hdr,
		 size_t *header_len)
{
	const char *error = NULL;
	int ret = net_proxy_parse(data, size, hdr, header_len, &error);
	if (ret < -1 || ret > 1 || (ret == -1 && error == NULL))
		abort();
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_proxy_header hdr, sub;
	size_t header_len, sub_len;
	int ret = parse(data, size, &hdr, &header_len);
	size_t upto = size;
	if (ret == 1) {
		if (header_len < 15 || header_len > size || header_len > NET_PROXY_HEADER_MAX)
			abort();
		if (hdr.version == 1 && header_len > NET_PROXY_V1_MAX)
			abort();
		if (memchr(hdr.authority, '\0', sizeof(hdr.authority)) == NULL)
			abort();
		if (hdr.has_addresses &&
		    (hdr.src.ss_family != hdr.dst.ss_family ||
		     (hdr.src.ss_family != AF_INET && hdr.src.ss_family != AF_INET6)))
			abort();
		if (hdr.is_local_command && (hdr.has_addresses || hdr.client_ssl))
			abort();
		/* the same header with anything after it parses the same */
		upto = header_len;
	} else if (ret == -1) {
		return 0;
	}
	/* every shorter prefix is "need more": a step of the prefixes for
	 * long inputs, all of them for short ones */
	size_t step = upto > 512 ? upto / 256 : 1;
	for (size_t k = 0; k < upto; k += step) {
		if (parse(data, k, &sub, &sub_len) != 0)
			abort();
	}
	return 0;
}

/* fuzz-jwt.c: libFuzzer target for src/auth/jwt.c.
 *
 * The input is a token.  It is parsed, its signature checked against a
 * fixed key set (one key of each type), and its claims checked whether or
 * not the signature verified, so that the claim code sees hostile JSON
 * too.  A token that verifies would be a forgery (the seeds are signed
 * with other keys): abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwks.h"
#include "auth/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the HMAC key "0123456789abcdef0123456789abcdef" and the P-256 public
 * key of RFC 7515 appendix A.3 */
static const char fuzz_jwks[] =
	"{\"keys\":[{\"kty\":\"oct\",\"kid\":\"hmac\","
	"\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"},"
	"{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwks *jwks;
	const struct jwt_rules rules = {
		.issuer = "https://issuer.example", .audience = "roost",
		.username_claim = "email", .scope = "mail", .leeway = 30, .now = 1800000000,
	};
	struct jwt *jwt;
	const char *error, *user;

	if (jwks == NULL && jwks_parse(fuzz_jwks, sizeof(fuzz_jwks) - 1, &jwks, &error) < 0)
		abort();
	if (jwt_parse((const char *)data, size, &jwt, &error) < 0) {
		if (jwt != NULL)
			abort();
		return 0;
	}
	if (jwt_verify_signature(jwt, jwks, &error) == 0)
		abort();
	if (jwt_check_claims(jwt, &rules, &user, &error) == 0 && user[0] == '\0')
		abort();
	jwt_free(&jwt);
	return 0;
}

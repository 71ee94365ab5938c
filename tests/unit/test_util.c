/*
 * test_util.c - the helpers of sonde/util.h: the UTF-8 prefix (every kind of
 * malformed sequence, cuts inside a character), base64 against RFC 4648's
 * test vectors, and the secret comparison (equal, different, prefixes,
 * empty).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"

static size_t prefix(const char *s)
{
    return sonde_utf8_valid_prefix(s, strlen(s));
}

TEST(utf8_prefix)
{
    CHECK_EQ_INT(sonde_utf8_valid_prefix("", 0), 0);
    CHECK_EQ_INT(prefix("plain ascii"), 11);
    CHECK_EQ_INT(prefix("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 14);
    CHECK_EQ_INT(prefix("ab\xc3"), 2);                 /* cut after the lead byte */
    CHECK_EQ_INT(prefix("ab\xe2\x82"), 2);             /* cut inside a 3-byte one */
    CHECK_EQ_INT(prefix("ab\xc0\xaf"), 2);             /* overlong '/' */
    CHECK_EQ_INT(prefix("ab\xe0\x80\xaf"), 2);         /* overlong, 3 bytes */
    CHECK_EQ_INT(prefix("ab\xed\xa0\x80"), 2);         /* surrogate U+D800 */
    CHECK_EQ_INT(prefix("ab\xf4\x90\x80\x80"), 2);     /* past U+10FFFF */
    CHECK_EQ_INT(prefix("ab\xff"), 2);
    CHECK_EQ_INT(prefix("ab\x80"), 2);                 /* stray continuation byte */
    CHECK_EQ_INT(prefix("ab\xc3(x"), 2);               /* lead byte then ASCII */
    /* cutting valid text at max bytes ends on a character boundary */
    const char *euro = "a\xe2\x82\xac";
    CHECK_EQ_INT(sonde_utf8_valid_prefix(euro, 3), 1);
    CHECK_EQ_INT(sonde_utf8_valid_prefix(euro, 4), 4);
    /* embedded NUL is a valid character (length-based) */
    CHECK_EQ_INT(sonde_utf8_valid_prefix("a\0b", 3), 3);
}

TEST(base64_rfc4648)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        char *b = sonde_base64(in[i], strlen(in[i]));
        CHECK_EQ_STR(b, out[i]);
        free(b);
    }
    unsigned char bin[] = {0xff, 0xfe, 0x00, 0x3e, 0x3f};
    char *b = sonde_base64(bin, sizeof bin);
    CHECK_EQ_STR(b, "//4APj8=");
    free(b);
}

TEST(secret_equal)
{
    CHECK_EQ_INT(sonde_secret_equal("sk-abc", 6, "sk-abc", 6), 1);
    CHECK_EQ_INT(sonde_secret_equal("sk-abd", 6, "sk-abc", 6), 0);
    CHECK_EQ_INT(sonde_secret_equal("sk-ab", 5, "sk-abc", 6), 0);
    CHECK_EQ_INT(sonde_secret_equal("sk-abcd", 7, "sk-abc", 6), 0);
    CHECK_EQ_INT(sonde_secret_equal("", 0, "sk-abc", 6), 0);
    CHECK_EQ_INT(sonde_secret_equal("", 0, "", 0), 1);
    CHECK_EQ_INT(sonde_secret_equal("x", 1, "", 0), 0);
    /* the length given counts, not a NUL */
    CHECK_EQ_INT(sonde_secret_equal("sk-abcXYZ", 6, "sk-abc", 6), 1);
}

int main(void)
{
    RUN(utf8_prefix);
    RUN(base64_rfc4648);
    RUN(secret_equal);
    return check_report();
}

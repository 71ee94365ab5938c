#!/bin/sh
# locale_setup.sh - the ctest fixture "locale_de": makes sure the locale
# de_DE.UTF-8 (decimal comma) exists for test_locale, generating it with
# localedef when missing (Debian package `locales`, see scripts/deps.sh).
# Fails when it cannot: test_locale must not pass without the locale it needs.
set -e
have() { locale -a 2>/dev/null | grep -qix 'de_DE\.utf-\?8'; }
have && exit 0
command -v localedef >/dev/null || { echo "localedef missing: install the locales package" >&2; exit 1; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
$SUDO localedef -i de_DE -f UTF-8 de_DE.UTF-8
have || { echo "de_DE.UTF-8 still missing after localedef" >&2; exit 1; }

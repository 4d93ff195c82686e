#!/usr/bin/env bash
# Jasmin SMS gateway (the real SMPP server the SMPP adapter's integration tests bind to) in its own
# virtualenv: jasmin 0.11.1 pins an old Twisted/cryptography that must not meet the project's venv.
# Idempotent and cache-friendly: does nothing when the venv already imports jasmin at the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${JASMIN_VENV:-.venv-jasmin}"
VERSION="${JASMIN_VERSION:-0.11.1}"
PYTHON="${PYTHON:-python3}"

stamp="$VENV/.jasmin-$VERSION-p1"
if [ -f "$stamp" ] && "$VENV/bin/python" -c "import jasmin" 2>/dev/null; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "jasmin==$VERSION"
"$VENV/bin/python" -c "import jasmin, txamqp" >/dev/null
# jasmin 0.11.1 bug (jookies/jasmin#1236): after an accepted submit_sm over an smppc connector it reads
# `_pdu.response` of the *request* and dies with AttributeError, so no DLR mapping is written and no receipt
# ever reaches an SMPP user. The fix named in that issue: read the response `r.response`.
listeners="$("$VENV/bin/python" -c 'import jasmin.managers.listeners as m; print(m.__file__)')"
sed -i 's/_pdu\.response\./r.response./g' "$listeners"
rm -f "$VENV"/.jasmin-*
touch "$stamp"
echo "jasmin $VERSION installed in $VENV"
